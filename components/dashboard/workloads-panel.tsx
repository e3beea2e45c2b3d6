'use client';

import { useState } from 'react';
import type { DashboardView, WorkloadView } from '@/server/dashboard/view-model';
import { Panel } from '@/components/panel';
import { roleGate } from './permissions';
import { RunbookDialog, type RunbookKind } from './runbook-dialogs';
import { Empty, Notice, Table } from './ui';
import { WorkloadRow } from './workload-row';

const columns = ['Workload', 'Phase', 'Ready', 'Pods', 'TTL', 'Last activity', 'Scale-down in', 'Kept awake until'];

/** Workload identity across SSE updates: the dialog follows the live row, not a stale copy. */
interface OpenAction {
  kind: RunbookKind;
  namespace: string;
  name: string;
}

export function WorkloadsPanel({ view, className }: { view: DashboardView; className?: string }) {
  const [open, setOpen] = useState<OpenAction>();
  const [done, setDone] = useState<string>();
  // Global read-only mode hides every action; a viewer sees them disabled with the reason.
  const showActions = !view.viewer.readOnly;
  const role = roleGate(view);
  const target: WorkloadView | undefined =
    open && view.workloads.find((w) => w.namespace === open.namespace && w.name === open.name);

  return (
    <Panel title="Managed workloads" testId="workloads-panel" className={className}>
      <div className="mb-3 space-y-2">
        {view.workloadsError ? <Notice tone="bad">{view.workloadsError}</Notice> : null}
        {showActions && !role.enabled ? <Empty>Actions are disabled: {role.reason}.</Empty> : null}
        {done ? <Notice tone="ok">{done}</Notice> : null}
      </div>
      {view.workloads.length === 0 ? (
        <Empty>
          {view.workloadsError
            ? 'The workload list could not be read (see above).'
            : 'No managed workloads. Label a Deployment pipeops.io/managed=true (TTL in the pipeops.io/ttl annotation) to manage it here.'}
        </Empty>
      ) : (
        <Table label="Managed workloads" head={showActions ? [...columns, 'Actions'] : columns}>
          {view.workloads.map((workload) => (
            <WorkloadRow
              key={`${workload.namespace}/${workload.name}`}
              view={view}
              workload={workload}
              showActions={showActions}
              onAction={(kind) => {
                setDone(undefined);
                setOpen({ kind, namespace: workload.namespace, name: workload.name });
              }}
            />
          ))}
        </Table>
      )}
      {open && target ? (
        <RunbookDialog
          kind={open.kind}
          workload={target}
          onClose={() => setOpen(undefined)}
          onDone={(message) => {
            setOpen(undefined);
            setDone(message);
          }}
        />
      ) : null}
    </Panel>
  );
}
