'use client';

import type { DashboardView, PodView, WorkloadPhase, WorkloadView } from '@/server/dashboard/view-model';
import { useNow } from './clock';
import { formatAgo, formatDuration } from './format';
import { namespaceGate, roleGate, type ActionGate } from './permissions';
import type { RunbookKind } from './runbook-dialogs';
import { Badge, GatedButton, Time, type Tone } from './ui';

const phaseTones: Record<WorkloadPhase, Tone> = {
  Running: 'ok',
  ScaledDown: 'neutral',
  Waking: 'info',
  Pending: 'warn',
  Error: 'bad',
};

const buttons: { kind: RunbookKind; label: string }[] = [
  { kind: 'restart', label: 'Restart' },
  { kind: 'scale', label: 'Scale' },
  { kind: 'wake', label: 'Wake' },
  { kind: 'keepAwake', label: 'Keep awake' },
];

const cell = 'px-1.5 py-2 align-top';

function PodList({ pods }: { pods: PodView[] }) {
  if (pods.length === 0) return <span className="text-zinc-500">0</span>;
  return (
    <details>
      <summary className="focus-visible:ring-brand/60 cursor-pointer rounded focus-visible:ring-2 focus-visible:outline-none">
        {pods.length} {pods.length === 1 ? 'pod' : 'pods'}
      </summary>
      <ul className="mt-1 space-y-1 text-xs">
        {pods.map((pod) => (
          <li key={pod.name} className="font-mono">
            {pod.name}{' '}
            <Badge tone={pod.ready ? 'ok' : pod.phase === 'Failed' ? 'bad' : 'warn'}>
              {pod.phase}
              {pod.ready ? '' : ', not ready'}
            </Badge>
            <span className="block text-zinc-500">
              node {pod.node ?? '—'}
              {pod.reason ? ` · ${pod.reason}` : ''}
            </span>
          </li>
        ))}
      </ul>
    </details>
  );
}

function ScaleDownIn({ workload }: { workload: WorkloadView }) {
  const now = useNow();
  if (workload.hpa)
    return <span className="block max-w-40 whitespace-normal">never: HPA {workload.hpa} owns the replicas</span>;
  if (workload.phase === 'ScaledDown') return <span className="text-zinc-500">scaled down</span>;
  if (!workload.scaleDownAt) return <span className="text-zinc-500">{workload.ttl ? '—' : 'no TTL'}</span>;
  const left = Date.parse(workload.scaleDownAt) - now;
  return (
    <time dateTime={workload.scaleDownAt} className="font-mono tabular-nums">
      {left > 0 ? formatDuration(left) : 'due now'}
    </time>
  );
}

function KeptAwake({ until }: { until: string | undefined }) {
  const now = useNow();
  if (!until || Date.parse(until) <= now) return <span className="text-zinc-500">—</span>;
  return (
    <span>
      {formatAgo(until, now)}
      <span className="block text-xs text-zinc-500">
        <Time iso={until} />
      </span>
    </span>
  );
}

function gateFor(view: DashboardView, workload: WorkloadView, kind: RunbookKind): ActionGate {
  const gate = namespaceGate(view, workload.namespace, kind);
  if (gate.enabled && kind === 'scale' && workload.hpa) {
    return { enabled: false, reason: `replicas are managed by HPA ${workload.hpa}` };
  }
  return gate;
}

function Actions({
  view,
  workload,
  onAction,
}: {
  view: DashboardView;
  workload: WorkloadView;
  onAction: (kind: RunbookKind) => void;
}) {
  const gates = buttons.map((button) => ({ ...button, gate: gateFor(view, workload, button.kind) }));
  // The viewer's role is explained once above the table; here only what is specific to this row.
  const roleReason = roleGate(view).reason;
  const reasons = [...new Set(gates.map((g) => g.gate.reason).filter((r) => r && r !== roleReason))];
  return (
    <div className="flex flex-col gap-1">
      <div className="flex gap-1">
        {gates.map(({ kind, label, gate }) => (
          <GatedButton key={kind} gate={gate} onClick={() => onAction(kind)}>
            {label}
          </GatedButton>
        ))}
      </div>
      {reasons.map((reason) => (
        <p
          key={reason}
          className="max-w-64 text-xs whitespace-normal text-amber-700 dark:text-amber-300"
          aria-hidden="true"
        >
          {reason}
        </p>
      ))}
    </div>
  );
}

export function WorkloadRow({
  view,
  workload,
  showActions,
  onAction,
}: {
  view: DashboardView;
  workload: WorkloadView;
  showActions: boolean;
  onAction: (kind: RunbookKind) => void;
}) {
  const now = useNow();
  return (
    <tr data-testid={`workload-row-${workload.namespace}-${workload.name}`}>
      <td className={`${cell} font-mono`}>
        {workload.namespace}/{workload.name}
      </td>
      <td className={cell}>
        <Badge tone={phaseTones[workload.phase]}>{workload.phase}</Badge>
        <span className="mt-1 block max-w-40 text-xs whitespace-normal text-zinc-500">{workload.phaseMessage}</span>
      </td>
      <td className={`${cell} font-mono tabular-nums`}>
        {workload.replicas.ready}/{workload.replicas.desired}
      </td>
      <td className={cell}>
        <PodList pods={workload.pods} />
      </td>
      <td className={`${cell} font-mono`}>
        {workload.ttl ?? '—'}
        {workload.ttlError ? (
          <span className="block max-w-32 text-xs whitespace-normal text-red-700 dark:text-red-300">
            {workload.ttlError}
          </span>
        ) : null}
      </td>
      <td className={cell}>
        {formatAgo(workload.lastActivityAt, now)}
        {workload.lastActivitySource ? (
          <span className="block text-xs text-zinc-500">via {workload.lastActivitySource}</span>
        ) : null}
      </td>
      <td className={cell}>
        <ScaleDownIn workload={workload} />
      </td>
      <td className={cell}>
        <KeptAwake until={workload.keptAwakeUntil} />
      </td>
      {showActions ? (
        <td className={cell}>
          <Actions view={view} workload={workload} onAction={onAction} />
        </td>
      ) : null}
    </tr>
  );
}
