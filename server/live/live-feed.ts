import 'server-only';
import { kubeConfig } from '@/server/kubernetes/client';
import { agentHost } from '@/server/runtime/agent-runtime';
import { LiveHub } from './live-hub';
import { clusterSource, runtimeSource } from './sources';

const hubKey = Symbol.for('pipeops.liveHub');
type GlobalWithHub = typeof globalThis & { [hubKey]?: LiveHub };

/** The process-wide SSE hub (route handlers and instrumentation live in separate module graphs). */
export function liveHub(): LiveHub {
  const store = globalThis as GlobalWithHub;
  store[hubKey] ??= new LiveHub([runtimeSource(agentHost().runtime), clusterSource(kubeConfig())]);
  return store[hubKey];
}

/** For shutdown: closes the hub only if one was ever created. */
export async function closeLiveHub(): Promise<void> {
  await (globalThis as GlobalWithHub)[hubKey]?.close();
}
