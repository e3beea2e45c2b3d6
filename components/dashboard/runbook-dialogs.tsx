'use client';

import { useId, useState, type ReactNode } from 'react';
import type { WorkloadView } from '@/server/dashboard/view-model';
import { workloadPath } from './api';
import { useNow } from './clock';
import { formatTime } from './format';
import { Modal } from './modal';
import { useAction } from './use-action';

export type RunbookKind = 'restart' | 'scale' | 'wake' | 'keepAwake';

interface DialogProps {
  workload: WorkloadView;
  onClose: () => void;
  onDone: (message: string) => void;
}

const inputClass =
  'mt-1 block w-32 rounded-md border border-zinc-300 bg-white px-2 py-1 font-mono ' +
  'focus:border-brand focus:ring-2 focus:ring-brand/40 focus:outline-none dark:border-zinc-700 dark:bg-zinc-950';

function objectName(w: WorkloadView): string {
  return `${w.namespace}/${w.name}`;
}

function replicasText(n: number): string {
  return `${n} ${n === 1 ? 'replica' : 'replicas'}`;
}

function RestartDialog({ workload, onClose, onDone }: DialogProps) {
  const action = useAction<undefined>(workloadPath(workload.namespace, workload.name, 'restart'), onDone);
  return (
    <Modal
      title="Restart"
      onClose={onClose}
      onConfirm={() => action.mutate(undefined)}
      confirmVariant="danger"
      pending={action.isPending}
      error={action.error?.message}
    >
      <p>Restart deployment {objectName(workload)}? Its pods are replaced one by one.</p>
    </Modal>
  );
}

function WakeDialog({ workload, onClose, onDone }: DialogProps) {
  const action = useAction<undefined>(workloadPath(workload.namespace, workload.name, 'wake'), onDone);
  const target = workload.originalReplicas ?? Math.max(1, workload.replicas.desired);
  return (
    <Modal
      title="Wake"
      onClose={onClose}
      onConfirm={() => action.mutate(undefined)}
      pending={action.isPending}
      error={action.error?.message}
    >
      <p>
        Wake deployment {objectName(workload)}? It is scaled to {replicasText(target)} and its idle timer starts again.
      </p>
    </Modal>
  );
}

function ScaleDialog({ workload, onClose, onDone }: DialogProps) {
  const inputId = useId();
  const hintId = useId();
  const [value, setValue] = useState(String(workload.replicas.desired));
  const action = useAction<{ replicas: number }>(workloadPath(workload.namespace, workload.name, 'scale'), onDone);
  const replicas = /^\d+$/.test(value.trim()) ? Number(value) : undefined;
  // Only a hint: the server validates too, and its 400 message is shown when it refuses.
  const outOfRange = replicas === undefined || replicas > workload.maxReplicas;
  return (
    <Modal
      title="Scale"
      onClose={onClose}
      onConfirm={() => replicas !== undefined && action.mutate({ replicas })}
      pending={action.isPending}
      confirmDisabled={replicas === undefined}
      error={action.error?.message}
    >
      <div>
        <label htmlFor={inputId} className="font-medium">
          Replicas
        </label>
        <input
          id={inputId}
          type="number"
          inputMode="numeric"
          min={0}
          max={workload.maxReplicas}
          step={1}
          value={value}
          onChange={(event) => setValue(event.target.value)}
          aria-describedby={hintId}
          aria-invalid={outOfRange}
          className={inputClass}
        />
        <p id={hintId} className={outOfRange ? 'mt-1 text-amber-700 dark:text-amber-300' : 'mt-1 text-zinc-500'}>
          Allowed: 0 to {workload.maxReplicas}.
        </p>
      </div>
      <p>
        {replicas === undefined
          ? 'Enter a whole number of replicas.'
          : `Scale ${objectName(workload)} from ${workload.replicas.desired} to ${replicasText(replicas)}?`}
      </p>
    </Modal>
  );
}

const maxHours = 168;

function KeepAwakeDialog({ workload, onClose, onDone }: DialogProps) {
  const inputId = useId();
  const hintId = useId();
  const now = useNow();
  const [value, setValue] = useState('8');
  const action = useAction<{ hours: number }>(workloadPath(workload.namespace, workload.name, 'keep-awake'), onDone);
  const hours = /^\d+$/.test(value.trim()) ? Number(value) : undefined;
  const valid = hours !== undefined && hours >= 1 && hours <= maxHours;
  return (
    <Modal
      title="Keep awake"
      onClose={onClose}
      onConfirm={() => valid && action.mutate({ hours })}
      pending={action.isPending}
      confirmDisabled={!valid}
      error={action.error?.message}
    >
      <div>
        <label htmlFor={inputId} className="font-medium">
          Hours
        </label>
        <input
          id={inputId}
          type="number"
          inputMode="numeric"
          min={1}
          max={maxHours}
          step={1}
          value={value}
          onChange={(event) => setValue(event.target.value)}
          aria-describedby={hintId}
          aria-invalid={!valid}
          className={inputClass}
        />
        <p id={hintId} className={valid ? 'mt-1 text-zinc-500' : 'mt-1 text-amber-700 dark:text-amber-300'}>
          Allowed: 1 to {maxHours} hours (7 days).
        </p>
      </div>
      <p>
        {valid
          ? `Keep ${objectName(workload)} awake for ${hours} h, until about ${formatTime(now + hours * 3_600_000)}? ` +
            'It is woken now if it sleeps, and the TTL does not scale it down before then.'
          : `Enter a whole number of hours from 1 to ${maxHours}.`}
      </p>
    </Modal>
  );
}

const dialogs: Record<RunbookKind, (props: DialogProps) => ReactNode> = {
  restart: RestartDialog,
  scale: ScaleDialog,
  wake: WakeDialog,
  keepAwake: KeepAwakeDialog,
};

export function RunbookDialog({ kind, ...props }: DialogProps & { kind: RunbookKind }) {
  const Dialog = dialogs[kind];
  return <Dialog {...props} />;
}
