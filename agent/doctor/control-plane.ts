import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { VersionApi, type KubeConfig } from '@kubernetes/client-node';
import { ConfigError, requireRuntimeConfig, type RuntimeConfig } from '../config/load';
import type { AgentConfig } from '../config/schema';
import { registerCluster } from '../controlplane/registration';
import { ControlPlaneTransport } from '../controlplane/transport';
import { resolveForwards, tunnelPortConfig } from '../tunnel/forwards';
import { agentVersion } from '../version';
import { line, type CheckLine } from './report';

// Same file the runtime reads: a registration replaces what the control plane stored, so the doctor sends
// the same service token and Kubernetes version instead of blanks.
const serviceAccountTokenFile = '/var/run/secrets/kubernetes.io/serviceaccount/token';

async function kubernetesVersion(kc: KubeConfig): Promise<string> {
  try {
    return (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
  } catch {
    return '';
  }
}

function serviceAccountToken(): string {
  return existsSync(serviceAccountTokenFile) ? readFileSync(serviceAccountTokenFile, 'utf8').trim() : '';
}

async function requestBody(
  config: RuntimeConfig,
  kc: KubeConfig,
  state: Record<string, string>,
): Promise<Parameters<typeof registerCluster>[1]> {
  // The same tunnel_port_config the agent sends: a registration replaces the cluster's forwards, so an
  // empty one would drop them until the agent's next registration.
  const forwards = resolveForwards(config.tunnel, {
    env: process.env,
    kc,
    nodeIp: config.agent.node_ip,
    agentPort: config.agent.port,
  });
  return {
    agent_id: state.agent_id ?? '',
    name: config.agent.cluster_name,
    k8s_version: await kubernetesVersion(kc),
    hostname: config.agent.pod_name ?? hostname(),
    agent_version: agentVersion,
    k8s_service_token: serviceAccountToken(),
    tunnel_port_config: tunnelPortConfig(forwards.forwards),
    labels: { ...config.agent.labels, 'agent.pipeops.io/version': agentVersion },
    ...(state.cluster_id ? { cluster_id: state.cluster_id } : {}),
    metadata: {
      registration_mode: 'resume',
      registration_source: 'doctor',
      registration_timestamp: new Date().toISOString(),
    },
  };
}

/**
 * Identity vs control plane: POSTs the idempotent register with the stored agent_id/cluster_id and
 * compares the cluster_id it returns. This IS a registration (the control plane counts it).
 */
export async function checkControlPlane(
  config: AgentConfig,
  kc: KubeConfig,
  state: Record<string, string>,
): Promise<CheckLine> {
  let runtime: RuntimeConfig;
  try {
    runtime = requireRuntimeConfig(config);
  } catch (error) {
    if (error instanceof ConfigError) return line('SKIP', 'control-plane', error.message);
    throw error;
  }
  if (!state.agent_id || !state.cluster_id) {
    return line(
      'SKIP',
      'control-plane',
      'no stored agent_id and cluster_id to compare (a registration now would create a cluster)',
    );
  }
  const outcome = await registerCluster(new ControlPlaneTransport(runtime), await requestBody(runtime, kc, state));
  if (outcome.kind !== 'registered') {
    const status = outcome.kind === 'rejected' ? 'FAIL' : 'WARN';
    return line(status, 'control-plane', `registration check failed: ${outcome.reason}`);
  }
  if (outcome.response.cluster_id !== state.cluster_id) {
    return line(
      'FAIL',
      'control-plane',
      `control plane returned cluster_id ${outcome.response.cluster_id}, the state ConfigMap has ${state.cluster_id}`,
      'the control plane does not know this identity; do not delete the state ConfigMap — ask the control plane owner',
    );
  }
  return line(
    'OK',
    'control-plane',
    `control plane confirms cluster_id ${state.cluster_id} for ${state.agent_id} (this check counted as one registration)`,
  );
}
