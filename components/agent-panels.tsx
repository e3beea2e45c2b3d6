import type { RuntimeSnapshot } from '@/agent/runtime';
import { Field, Panel, StatusBadge } from './panel';

function when(iso: string | undefined): string {
  return iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '—';
}

function registrationText(s: RuntimeSnapshot): string {
  const r = s.registration;
  if (r.state === 'registered') return `registered at ${when(r.registeredAt)}`;
  if (r.state === 'rejected') return `rejected — invalid token (${r.reason})`;
  return `registration pending${r.lastError ? ` (${r.lastError})` : ''}`;
}

export function AgentIdentityPanel({ snapshot }: { snapshot: RuntimeSnapshot }) {
  const leader = snapshot.leader;
  return (
    <Panel title="Agent identity" testId="identity-panel">
      <dl>
        <Field label="Readiness">
          <StatusBadge ok={snapshot.readiness.ready}>{snapshot.readiness.status}</StatusBadge>
        </Field>
        <Field label="Agent ID">{snapshot.identity?.agentId ?? 'loading…'}</Field>
        <Field label="Cluster ID">{snapshot.identity?.clusterId ?? '—'}</Field>
        <Field label="Cluster name">{snapshot.clusterName}</Field>
        <Field label="Registration">{registrationText(snapshot)}</Field>
        <Field label="State ConfigMap">
          {snapshot.stateConfigMap}
          {snapshot.identity && !snapshot.identity.persisted ? ' (NOT persisted)' : ''}
        </Field>
        <Field label="Role">{leader.leader ? 'leader' : `standby (leader: ${leader.holder ?? 'none'})`}</Field>
        <Field label="Version">{snapshot.agentVersion}</Field>
      </dl>
      {!snapshot.readiness.ready && (
        <p className="mt-2 text-sm text-red-700 dark:text-red-300">{snapshot.readiness.reason}</p>
      )}
      {snapshot.missingPermissions.length > 0 && (
        <ul className="mt-2 list-disc pl-5 text-sm text-red-700 dark:text-red-300" aria-label="Missing permissions">
          {snapshot.missingPermissions.map((m) => (
            <li key={m.description}>
              missing RBAC: {m.description} — needed for {m.neededFor}
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

export function ControlLinkPanel({ snapshot }: { snapshot: RuntimeSnapshot }) {
  const link = snapshot.link;
  return (
    <Panel title="Control plane link" testId="link-panel">
      {link ? (
        <dl>
          <Field label="State">
            <StatusBadge ok={link.state === 'connected' || link.state === 'http-fallback'}>{link.state}</StatusBadge>
          </Field>
          <Field label="Transport">{link.transport}</Field>
          <Field label="Last heartbeat">{when(link.lastHeartbeatAt)}</Field>
          <Field label="Last ack">{when(link.lastAckAt)}</Field>
          <Field label="RTT">{link.lastRttMs === undefined ? '—' : `${link.lastRttMs} ms`}</Field>
          <Field label="Reconnects">{link.reconnects.length}</Field>
          {link.reconnects.slice(-3).map((event) => (
            <Field key={event.at} label={when(event.at)}>
              {event.reason}
            </Field>
          ))}
        </dl>
      ) : (
        <p className="text-sm text-zinc-500">Not connected: {snapshot.readiness.reason}</p>
      )}
    </Panel>
  );
}
