import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load';
import { kubernetesApiTarget, resolveForwards, tunnelPortConfig } from './forwards';

function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: false }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

function tunnelConfig(env: Record<string, string> = {}): ReturnType<typeof loadConfig>['tunnel'] {
  return loadConfig({ cwd: '/nonexistent', env }).tunnel;
}

describe('kubernetesApiTarget', () => {
  it('uses the in-cluster kubernetes Service inside a pod, never localhost:6443', () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(kubernetesApiTarget(env, kubeConfig('https://127.0.0.1:6443'))).toEqual({ host: '10.96.0.1', port: 443 });
  });

  it('falls back to the kubeconfig server outside a pod, IPv6 included', () => {
    expect(kubernetesApiTarget({}, kubeConfig('https://127.0.0.1:37531'))).toEqual({ host: '127.0.0.1', port: 37531 });
    expect(kubernetesApiTarget({}, kubeConfig('https://[::1]:6443'))).toEqual({ host: '::1', port: 6443 });
    expect(kubernetesApiTarget({}, kubeConfig('https://api.example.com'))).toEqual({
      host: 'api.example.com',
      port: 443,
    });
  });
});

describe('resolveForwards', () => {
  const kc = kubeConfig('https://127.0.0.1:6443');

  it('adds the Kubernetes API, the kubelet on the node address and the agent port by default', () => {
    const resolved = resolveForwards(tunnelConfig(), { env: {}, kc, nodeIp: '10.0.0.7', agentPort: 8080 });
    expect(resolved.forwards.map((f) => [f.name, f.target])).toEqual([
      ['kubernetes-api', { host: '127.0.0.1', port: 6443 }],
      ['kubelet', { host: '10.0.0.7', port: 10250 }],
      ['agent-http', { host: '127.0.0.1', port: 8080 }],
    ]);
    expect(resolved.skipped).toEqual([]);
    expect(tunnelPortConfig(resolved.forwards)).toEqual({ 'kubernetes-api': 6443, kubelet: 10250, 'agent-http': 8080 });
  });

  it('skips the kubelet with the reason when the node address is unknown', () => {
    const resolved = resolveForwards(tunnelConfig(), { env: {}, kc, agentPort: 8080 });
    expect(resolved.forwards.map((f) => f.name)).toEqual(['kubernetes-api', 'agent-http']);
    expect(resolved.skipped).toEqual([
      { name: 'kubelet', reason: 'node IP unknown: set PIPEOPS_NODE_IP from the downward API (status.hostIP)' },
    ]);
  });

  it('lets a configured forward replace a default of the same name and keeps fixed remote ports', () => {
    const config = {
      ...tunnelConfig(),
      forwards: [{ name: 'kubelet', local_addr: '[fd00::1]:10255', remote_port: 9000 }],
    };
    const resolved = resolveForwards(config, { env: {}, kc, agentPort: 8080 });
    expect(resolved.forwards.find((f) => f.name === 'kubelet')).toEqual({
      name: 'kubelet',
      target: { host: 'fd00::1', port: 10255 },
      fixedRemotePort: 9000,
      source: 'config',
    });
    expect(resolved.skipped).toEqual([]);
  });

  it('has no defaults when they are turned off', () => {
    const resolved = resolveForwards(tunnelConfig({ PIPEOPS_TUNNEL_DEFAULT_FORWARDS: 'false' }), {
      env: {},
      kc,
      agentPort: 8080,
    });
    expect(resolved).toEqual({ forwards: [], skipped: [] });
  });
});
