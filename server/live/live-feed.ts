import 'server-only';
import { kubeConfig } from '@/server/kubernetes/client';
import { agentHost } from '@/server/runtime/agent-runtime';
import { agentParts } from '@/server/dashboard/view';
import type { LiveUpdate } from '@/server/dashboard/view-model';
import { LiveHub } from './live-hub';
import { clusterSource, runtimeSource } from './sources';

const hubKey = Symbol.for('pipeops.liveHub');
type GlobalWithHub = typeof globalThis & { [hubKey]?: LiveHub };

/** The process-wide SSE hub (route handlers and instrumentation live in separate module graphs). */
export function liveHub(): LiveHub {
  const store = globalThis as GlobalWithHub;
  if (!store[hubKey]) {
    const host = agentHost();
    const hub = new LiveHub([runtimeSource(host.runtime), clusterSource(kubeConfig())]);
    host.shutdownHooks.push(() => hub.close());
    store[hubKey] = hub;
  }
  return store[hubKey];
}

/**
 * An SSE response for one dashboard; it starts with the current agent state so a reconnecting client is
 * up to date at once. `X-Accel-Buffering: no` keeps nginx-style ingresses from holding events back.
 */
export function openLiveStream(signal: AbortSignal): Response {
  const first: LiveUpdate[] = [{ topic: 'agent', sentAt: Date.now(), data: agentParts() }];
  return new Response(liveHub().subscribe(signal, first), {
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    },
  });
}
