import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { AgentConfig } from '../config/schema';
import { describeKubeError, statusOf } from '../kubernetes/errors';
import { resolveAgentNamespace } from '../state/namespace';
import { generateAgentId } from '../state/identity-store';
import {
  checkConnection,
  checkLease,
  checkRbac,
  checkRegistrations,
  detectTier,
  readStateConfigMap,
  validateState,
  type DoctorTarget,
} from './checks';
import { checkControlPlane } from './control-plane';
import { line, type CheckLine } from './report';

export interface DoctorOptions {
  config: AgentConfig;
  /** Create a missing state ConfigMap (never overwrites one). */
  fix: boolean;
  /** The agent_id --fix writes; default: a new agent-<uuid>. */
  agentId?: string;
  /** POST the idempotent register to compare cluster_id (counts as a registration). */
  controlPlane: boolean;
  now?: number;
}

export function doctorTarget(config: AgentConfig): DoctorTarget {
  const state = config.kubernetes.state;
  return {
    namespace: resolveAgentNamespace(state.namespace, config.agent.pod_namespace),
    configMapName: state.configmap_name,
    secretName: state.secret_name,
    leaseName: config.kubernetes.leader_election.lease_name,
    leaderElection: config.kubernetes.leader_election.enabled,
    stateEnabled: state.enabled,
  };
}

const stateLabels = {
  'app.kubernetes.io/name': 'pipeops-agent',
  'app.kubernetes.io/component': 'state',
  'app.kubernetes.io/managed-by': 'pipeops-agent',
};

/** --fix: create the state ConfigMap with a stable id. `create` fails on an existing one: never overwrite. */
export async function createStateConfigMap(kc: KubeConfig, t: DoctorTarget, agentId?: string): Promise<CheckLine> {
  const id = agentId ?? generateAgentId();
  const where = `${t.namespace}/${t.configMapName}`;
  try {
    await kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({
      namespace: t.namespace,
      body: { metadata: { name: t.configMapName, labels: stateLabels }, data: { agent_id: id } },
    });
    return line(
      'FIXED',
      'fix',
      `created ConfigMap ${where} with agent_id ${id}${agentId ? ' (from --agent-id)' : ' (generated)'}`,
      'restart the agent: it loads this id and registers (with the control plane it is a new cluster unless the id was known)',
    );
  } catch (error) {
    if (statusOf(error) === 409) return line('INFO', 'fix', `ConfigMap ${where} appeared meanwhile; left unchanged`);
    return line('FAIL', 'fix', `could not create ConfigMap ${where}: ${describeKubeError(error)}`);
  }
}

async function stateLines(kc: KubeConfig, t: DoctorTarget, options: DoctorOptions): Promise<CheckLine[]> {
  let configMap;
  try {
    configMap = await readStateConfigMap(kc, t);
  } catch (error) {
    return [
      line('FAIL', 'state', `cannot read ConfigMap ${t.namespace}/${t.configMapName}: ${describeKubeError(error)}`),
    ];
  }
  const lines = validateState(configMap, t);
  if (configMap || !t.stateEnabled) {
    if (options.fix)
      lines.push(line('INFO', 'fix', 'nothing to fix: the state ConfigMap exists (doctor never overwrites it)'));
    return lines;
  }
  if (options.fix) lines.push(await createStateConfigMap(kc, t, options.agentId));
  return lines;
}

async function controlPlaneLine(kc: KubeConfig, options: DoctorOptions, t: DoctorTarget): Promise<CheckLine> {
  if (!options.controlPlane) {
    return line(
      'SKIP',
      'control-plane',
      'identity vs control plane not checked (add --control-plane; it counts as one registration)',
    );
  }
  const configMap = await readStateConfigMap(kc, t).catch(() => undefined);
  return checkControlPlane(options.config, kc, configMap?.data ?? {});
}

/** Every check in order; the caller prints the lines and exits 1 if any is FAIL. */
export async function runDoctor(kc: KubeConfig, options: DoctorOptions): Promise<CheckLine[]> {
  const t = doctorTarget(options.config);
  const lines: CheckLine[] = [
    line('INFO', 'target', `namespace ${t.namespace}, state ConfigMap ${t.configMapName}, Lease ${t.leaseName}`),
  ];
  const connection = await checkConnection(kc);
  lines.push(connection);
  if (connection.status === 'FAIL') return lines;
  lines.push(...(await checkRbac(kc, t)), await detectTier(kc));
  lines.push(...(await stateLines(kc, t, options)));
  lines.push(await checkLease(kc, t, options.now));
  lines.push(await checkRegistrations(kc, t, options.now));
  lines.push(await controlPlaneLine(kc, options, t));
  return lines;
}
