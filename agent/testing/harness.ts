import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { vi } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneHandle,
  type ControlPlaneOptions,
} from '../../sandbox/control-plane/server';
import { loadConfig, requireRuntimeConfig } from '../config/load';
import { kubeConfigFromFile } from '../kubernetes/kubeconfig';
import { createLogger, type LogContext } from '../logging/logger';
import { AgentMetrics } from '../metrics/agent-metrics';
import { AgentRuntime } from '../runtime';

export const agentToken = 'agent-token-for-tests';
export const adminToken = 'admin-token-for-tests';

export interface TestControlPlane extends ControlPlaneHandle {
  stateFile: string;
  admin: <T = unknown>(path: string, body?: unknown) => Promise<T>;
}

export async function startTestControlPlane(
  options: {
    port?: number;
    stateFile?: string;
    pingIntervalMs?: number;
    tls?: { certFile: string; keyFile: string };
    tunnel?: Pick<
      ControlPlaneOptions,
      | 'tunnelServerAddr'
      | 'tunnelServerFingerprint'
      | 'tunnelAuthFile'
      | 'tunnelDefaultStatus'
      | 'tunnelPortRange'
      | 'tunnelPollFrequencySeconds'
    >;
    tunnelServer?: ControlPlaneOptions['tunnelServer'];
  } = {},
): Promise<TestControlPlane> {
  const stateFile = options.stateFile ?? path.join(await mkdtemp(path.join(tmpdir(), 'cp-')), 'state.json');
  const handle = await startControlPlane({
    port: options.port ?? 0,
    tokens: [agentToken],
    adminToken,
    stateFile,
    enableTestFaults: true,
    pingIntervalMs: options.pingIntervalMs ?? 60_000,
    tls: options.tls,
    ...options.tunnel,
    tunnelServer: options.tunnelServer,
  });
  const admin = async <T>(route: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${handle.url}${route}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`admin ${route}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return { ...handle, stateFile, admin };
}

export interface AdminCluster {
  cluster_id: string;
  agent_id: string;
  registrations: number;
  heartbeats: number;
  last_heartbeat_via: 'websocket' | 'http' | null;
  ws_connected: boolean;
  last_heartbeat?: { metadata: { k8s_nodes: number; k8s_pods: number } };
}

export interface RequestCounts {
  counts: Record<string, number>;
}

export interface TestRuntime {
  runtime: AgentRuntime;
  metrics: AgentMetrics;
  logs: Record<string, unknown>[];
  messages: () => string[];
}

/** A unique ConfigMap and Lease name per test, so tests share the sandbox without sharing state. */
export function uniqueNames(): { configMap: string; lease: string } {
  const suffix = randomUUID().slice(0, 8);
  return { configMap: `state-${suffix}`, lease: `leader-${suffix}` };
}

export { kubeConfigFromFile as agentKubeConfig } from '../kubernetes/kubeconfig';

/** An in-process agent runtime with fast timings and its log lines captured. */
export function createTestRuntime(options: {
  apiUrl: string;
  kubeconfig: string;
  names: { configMap: string; lease: string };
  env?: Record<string, string>;
}): TestRuntime {
  const config = requireRuntimeConfig(
    loadConfig({
      cwd: '/nonexistent',
      env: {
        PIPEOPS_API_URL: options.apiUrl,
        PIPEOPS_TOKEN: agentToken,
        PIPEOPS_CLUSTER_NAME: 'sandbox',
        PIPEOPS_STATE_NAMESPACE: 'pipeops-system',
        PIPEOPS_STATE_CONFIGMAP_NAME: options.names.configMap,
        PIPEOPS_LEASE_NAME: options.names.lease,
        PIPEOPS_HEARTBEAT_INTERVAL: '500ms',
        PIPEOPS_LEASE_DURATION: '4s',
        PIPEOPS_RECONNECT_MAX: '2s',
        PIPEOPS_LOG_LEVEL: 'debug',
        ...options.env,
      },
    }),
  );
  config.kubernetes.leader_election.retry_period = 500;
  config.kubernetes.leader_election.renew_deadline = 3000;
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const logContext: LogContext = {};
  const metrics = new AgentMetrics();
  const runtime = new AgentRuntime({
    config,
    kc: kubeConfigFromFile(options.kubeconfig),
    logger: createLogger(config.logging.level, logContext, stream),
    logContext,
    metrics,
  });
  return { runtime, metrics, logs, messages: () => logs.map((line) => String(line.msg)) };
}

export async function waitForReady(runtime: AgentRuntime, timeout = 30_000): Promise<void> {
  await vi.waitFor(
    () => {
      const readiness = runtime.readiness();
      if (readiness.status !== 'ready') throw new Error(`not ready: ${readiness.reason}`);
    },
    { timeout, interval: 50 },
  );
}
