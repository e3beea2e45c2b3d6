import type { TunnelForwardView, TunnelView } from '@/server/dashboard/view-model';
import { Field, Panel } from '@/components/panel';
import { formatBytes } from './format';
import { Badge, Empty, Table, Time, type Tone } from './ui';

function stateTone(state: string): Tone {
  if (state === 'connected' || state === 'bound') return 'ok';
  if (state === 'failed' || state === 'down') return 'bad';
  if (state === 'disabled' || state === 'idle' || state === 'inactive' || state === 'skipped') return 'neutral';
  return 'warn';
}

/** Why there are no forwards, in the user's terms; the server's reason follows. */
const emptyHeadlines: Record<string, string> = {
  disabled: 'The tunnel is disabled in the agent configuration (tunnel.enabled).',
  not_started: 'The tunnel has not started: it starts after the agent is registered.',
  idle: 'The control plane has not requested a tunnel (status IDLE).',
  inactive: 'The tunnel was closed after a period without traffic; it reopens on demand.',
  waiting: 'Waiting for the control plane: tunnel server address or port allocation.',
};

function ForwardRow({ forward }: { forward: TunnelForwardView }) {
  return (
    <tr>
      <td className="px-2 py-2 font-mono">{forward.name}</td>
      <td className="px-2 py-2 font-mono">{forward.target}</td>
      <td className="px-2 py-2 font-mono">{forward.remotePort ?? '—'}</td>
      <td className="px-2 py-2">
        <Badge tone={stateTone(forward.state)}>{forward.state}</Badge>
        {forward.reason ? <span className="block text-xs text-zinc-500">{forward.reason}</span> : null}
      </td>
      <td className="px-2 py-2 font-mono tabular-nums">
        {formatBytes(forward.bytesIn)} / {formatBytes(forward.bytesOut)}
      </td>
      <td className="px-2 py-2 font-mono tabular-nums">
        {forward.activeConnections} / {forward.totalConnections}
        {forward.refusedConnections > 0 ? (
          <span className="block text-xs text-amber-700 dark:text-amber-300">{forward.refusedConnections} refused</span>
        ) : null}
      </td>
    </tr>
  );
}

export function TunnelPanel({ tunnel, className }: { tunnel: TunnelView; className?: string }) {
  return (
    <Panel title="Tunnel" testId="tunnel-panel" className={className}>
      <dl className="grid md:grid-cols-2 md:gap-x-8">
        <Field label="State">
          <Badge tone={stateTone(tunnel.state)}>{tunnel.state}</Badge>
        </Field>
        <Field label="Control plane status">{tunnel.controlPlaneStatus ?? '—'}</Field>
        <Field label="Server">{tunnel.serverAddr ?? '—'}</Field>
        <Field label="Connected since">
          <Time iso={tunnel.connectedSince} />
        </Field>
        <Field label="Last activity">
          <Time iso={tunnel.lastActivityAt} />
        </Field>
      </dl>
      {tunnel.reason ? <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-300">{tunnel.reason}</p> : null}
      <h3 className="mt-3 mb-1 text-sm font-medium">Forwards</h3>
      {tunnel.forwards.length === 0 ? (
        <Empty>{emptyHeadlines[tunnel.state] ?? `No forwards while the tunnel is ${tunnel.state}.`}</Empty>
      ) : (
        <Table label="Tunnel forwards" head={['Name', 'Target', 'Remote port', 'State', 'In / out', 'Active / total']}>
          {tunnel.forwards.map((forward) => (
            <ForwardRow key={forward.name} forward={forward} />
          ))}
        </Table>
      )}
    </Panel>
  );
}
