import type { KubeConfig } from '@kubernetes/client-node';
import type { AgentConfig } from '../config/schema';
import { parseTarget, targetKey, type TunnelTarget } from './chisel-wire';

/** One local target the tunnel can expose, before the control plane has given it a remote port. */
export interface TunnelForward {
  name: string;
  target: TunnelTarget;
  /** A port fixed in config; 0 means the control plane allocates one. */
  fixedRemotePort: number;
  source: 'default' | 'config';
  /** The TTL workload behind this forward (config `workload: ns/name`), for wake on connect. */
  workload?: { namespace: string; name: string };
}

export interface SkippedForward {
  name: string;
  reason: string;
}

export interface ResolvedForwards {
  forwards: TunnelForward[];
  skipped: SkippedForward[];
}

export interface ForwardEnvironment {
  /** `process.env` in production; the in-cluster service variables decide the API target in a pod. */
  env: Record<string, string | undefined>;
  kc: KubeConfig;
  nodeIp?: string;
  agentPort: number;
}

const kubeletPort = 10250;

/**
 * Where the Kubernetes API really is from this process. In a pod that is the `kubernetes` Service
 * (KUBERNETES_SERVICE_HOST/PORT, which the kubelet injects), never `localhost:6443`, which the upstream
 * agent forwarded and which does not exist inside a pod. Outside a pod it is the kubeconfig's server.
 */
export function kubernetesApiTarget(env: Record<string, string | undefined>, kc: KubeConfig): TunnelTarget | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = Number(env.KUBERNETES_SERVICE_PORT ?? '443');
  if (host && Number.isInteger(port) && port > 0 && port < 65536) return { host, port };
  const server = kc.getCurrentCluster()?.server;
  if (!server) return undefined;
  try {
    const url = new URL(server);
    const fallback = url.protocol === 'http:' ? 80 : 443;
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || fallback) };
  } catch {
    return undefined;
  }
}

function defaultForwards(environment: ForwardEnvironment): ResolvedForwards {
  const forwards: TunnelForward[] = [];
  const skipped: SkippedForward[] = [];
  const api = kubernetesApiTarget(environment.env, environment.kc);
  if (api) forwards.push({ name: 'kubernetes-api', target: api, fixedRemotePort: 0, source: 'default' });
  else skipped.push({ name: 'kubernetes-api', reason: 'no in-cluster service variables and no kubeconfig server' });
  if (environment.nodeIp) {
    const target = { host: environment.nodeIp, port: kubeletPort };
    forwards.push({ name: 'kubelet', target, fixedRemotePort: 0, source: 'default' });
  } else {
    skipped.push({
      name: 'kubelet',
      reason: 'node IP unknown: set PIPEOPS_NODE_IP from the downward API (status.hostIP)',
    });
  }
  const agent = { host: '127.0.0.1', port: environment.agentPort };
  forwards.push({ name: 'agent-http', target: agent, fixedRemotePort: 0, source: 'default' });
  return { forwards, skipped };
}

/** The defaults (unless turned off) plus the configured forwards; a configured name replaces a default. */
export function resolveForwards(config: AgentConfig['tunnel'], environment: ForwardEnvironment): ResolvedForwards {
  const configured: TunnelForward[] = config.forwards.flatMap((forward) => {
    const target = parseTarget(forward.local_addr);
    if (!target) return [];
    const [namespace = '', name = ''] = forward.workload?.split('/') ?? [];
    const workload = forward.workload ? { workload: { namespace, name } } : {};
    return [{ name: forward.name, target, fixedRemotePort: forward.remote_port, source: 'config', ...workload }];
  });
  const names = new Set(configured.map((forward) => forward.name));
  const defaults = config.default_forwards ? defaultForwards(environment) : { forwards: [], skipped: [] };
  return {
    forwards: [...defaults.forwards.filter((forward) => !names.has(forward.name)), ...configured],
    skipped: defaults.skipped.filter((skip) => !names.has(skip.name)),
  };
}

/** What registration reports as `tunnel_port_config`: each forward's name and local port. */
export function tunnelPortConfig(forwards: readonly TunnelForward[]): Record<string, number> {
  return Object.fromEntries(forwards.map((forward) => [forward.name, forward.target.port]));
}

export function describeForward(forward: TunnelForward): string {
  return `${forward.name} → ${targetKey(forward.target)}`;
}
