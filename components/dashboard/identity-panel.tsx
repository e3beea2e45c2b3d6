import type { AgentView } from '@/server/dashboard/view-model';
import { Field, Panel } from '@/components/panel';
import { Badge, Notice, Time } from './ui';

function Registration({ registration }: { registration: AgentView['registration'] }) {
  if (registration.state === 'registered') {
    return (
      <>
        <Badge tone="ok">registered</Badge> <Time iso={registration.registeredAt} />
      </>
    );
  }
  const tone = registration.state === 'rejected' ? 'bad' : 'warn';
  return (
    <>
      <Badge tone={tone}>{registration.state}</Badge>
      {registration.reason ? <span className="block text-xs whitespace-normal">{registration.reason}</span> : null}
    </>
  );
}

function LeaderRole({ agent }: { agent: AgentView }) {
  if (agent.role === 'leader') return <Badge tone="ok">leader</Badge>;
  if (agent.role === 'standby') {
    return <Badge tone="neutral">standby (leader: {agent.leaderHolder ?? 'none'})</Badge>;
  }
  return <Badge tone="neutral">unknown</Badge>;
}

function StateConfigMap({ agent }: { agent: AgentView }) {
  return (
    <>
      {agent.stateConfigMap ?? '—'}{' '}
      {agent.persisted === undefined ? null : (
        <Badge tone={agent.persisted ? 'ok' : 'bad'}>{agent.persisted ? 'persisted' : 'NOT persisted'}</Badge>
      )}
      {agent.persistError ? <span className="block text-xs whitespace-normal">{agent.persistError}</span> : null}
    </>
  );
}

export function IdentityPanel({ agent }: { agent: AgentView }) {
  return (
    <Panel title="Agent identity" testId="identity-panel">
      {!agent.configured ? (
        <div className="mb-2">
          <Notice tone="warn">Agent runtime not running here: {agent.reason ?? 'not configured'}</Notice>
        </div>
      ) : null}
      <dl>
        <Field label="Readiness">
          <Badge tone={agent.readiness.ready ? 'ok' : 'bad'}>{agent.readiness.status}</Badge>
        </Field>
        <Field label="Agent ID">
          <span data-testid="agent-id">{agent.agentId ?? '—'}</span>
        </Field>
        <Field label="Cluster ID">
          <span data-testid="cluster-id">{agent.clusterId ?? '—'}</span>
        </Field>
        <Field label="Cluster name">{agent.clusterName ?? '—'}</Field>
        <Field label="Registration">
          <Registration registration={agent.registration} />
        </Field>
        <Field label="State ConfigMap">
          <StateConfigMap agent={agent} />
        </Field>
        <Field label="Role">
          <LeaderRole agent={agent} />
        </Field>
        <Field label="Version">{agent.version}</Field>
        <Field label="Kubernetes">
          {agent.kubernetes.version ?? '—'}
          {agent.kubernetes.nodes === undefined ? '' : ` · ${agent.kubernetes.nodes} nodes`}
          {agent.kubernetes.pods === undefined ? '' : ` · ${agent.kubernetes.pods} pods`}
        </Field>
      </dl>
      {!agent.readiness.ready && agent.readiness.reason ? (
        <p className="mt-2 text-sm text-red-700 dark:text-red-300">Not ready: {agent.readiness.reason}</p>
      ) : null}
      {agent.kubernetes.lastError ? (
        <p className="mt-2 text-sm text-red-700 dark:text-red-300">Kubernetes API: {agent.kubernetes.lastError}</p>
      ) : null}
      {agent.missingPermissions.length > 0 ? (
        <div className="mt-3">
          <h3 className="text-sm font-medium text-red-700 dark:text-red-300">Missing RBAC</h3>
          <ul className="list-disc pl-5 text-sm text-red-700 dark:text-red-300">
            {agent.missingPermissions.map((m) => (
              <li key={m.description}>
                <span className="font-mono">{m.description}</span> — needed for {m.neededFor}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </Panel>
  );
}
