'use client';

import type { ControlLinkView } from '@/server/dashboard/view-model';
import { Field, Panel } from '@/components/panel';
import { useNow } from './clock';
import { formatAgo } from './format';
import { RttChart } from './rtt-chart';
import { Badge, Empty, Time } from './ui';

const healthy = new Set(['connected', 'http-fallback']);

function LinkDetails({ link }: { link: ControlLinkView }) {
  const now = useNow();
  const reconnects = link.reconnects.slice(-5).reverse();
  return (
    <>
      <dl>
        <Field label="State">
          <Badge tone={healthy.has(link.state) ? 'ok' : 'bad'}>{link.state}</Badge>
        </Field>
        <Field label="Transport">{link.transport ?? '—'}</Field>
        <Field label="Connected since">
          <Time iso={link.connectedSince} />
        </Field>
        <Field label="Last heartbeat">{formatAgo(link.lastHeartbeatAt, now)}</Field>
        <Field label="Last ack">{formatAgo(link.lastAckAt, now)}</Field>
        <Field label="Last RTT">{link.lastRttMs === undefined ? '—' : `${link.lastRttMs} ms`}</Field>
      </dl>
      {link.lastError ? <p className="mt-2 text-sm text-red-700 dark:text-red-300">{link.lastError}</p> : null}
      <RttChart points={link.rtt} now={now} />
      <h3 className="mt-3 text-sm font-medium">Reconnects ({link.reconnects.length})</h3>
      {reconnects.length === 0 ? (
        <Empty>None since start.</Empty>
      ) : (
        <ul className="mt-1 space-y-1 text-sm">
          {reconnects.map((r) => (
            <li key={`${r.at}-${r.reason}`}>
              <span className="font-mono text-xs text-zinc-500">
                <Time iso={r.at} />
              </span>{' '}
              {r.reason}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function LinkPanel({ link, notConnectedReason }: { link?: ControlLinkView; notConnectedReason: string }) {
  return (
    <Panel title="Control plane link" testId="link-panel">
      {link ? <LinkDetails link={link} /> : <Empty>No control link yet: {notConnectedReason}</Empty>}
    </Panel>
  );
}
