'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type ChangeEvent } from 'react';
import type { DashboardView } from '@/server/dashboard/view-model';
import { Panel } from '@/components/panel';
import { dashboardKey, post, type RestoreResult } from './api';
import { Modal } from './modal';
import { globalGate, type ActionGate } from './permissions';
import { RestoreObjects, summarize } from './restore-diff';
import { buttonClass, GatedButton, Notice } from './ui';

/** The server's restore limit (server/runbook): a bigger file would only be refused after the upload. */
const maxFileBytes = 1024 * 1024;

function DownloadForm({ gate }: { gate: ActionGate }) {
  if (!gate.enabled) {
    return (
      <div className="flex flex-wrap items-center gap-2">
        <GatedButton gate={gate} onClick={() => undefined}>
          Download backup
        </GatedButton>
        <span className="text-xs text-zinc-500" aria-hidden="true">
          {gate.reason}
        </span>
      </div>
    );
  }
  // A form POST, not a link: the download writes an audit Event, and a GET would let any site trigger it.
  // The browser sends the page's Origin with the form, and saves the attachment without leaving the page.
  return (
    <form method="post" action="/api/backup">
      <button type="submit" className={buttonClass('primary')}>
        Download backup
      </button>
    </form>
  );
}

function RestoreForm({ gate }: { gate: ActionGate }) {
  const queryClient = useQueryClient();
  const textId = useId();
  const fileId = useId();
  const [yaml, setYaml] = useState('');
  const [fileError, setFileError] = useState<string>();
  const [preview, setPreview] = useState<{ yaml: string; result: RestoreResult }>();
  const [applied, setApplied] = useState<RestoreResult>();
  const [confirming, setConfirming] = useState(false);

  const previewAction = useMutation({
    mutationFn: (text: string) => post<RestoreResult>('/api/restore/preview', { yaml: text }),
    onSuccess: (result, text) => {
      setPreview({ yaml: text, result });
      setApplied(undefined);
    },
  });
  const applyAction = useMutation({
    mutationFn: (text: string) => post<RestoreResult>('/api/restore/apply', { yaml: text }),
    onSuccess: (result) => {
      setConfirming(false);
      setApplied(result);
      setPreview(undefined);
      return queryClient.invalidateQueries({ queryKey: dashboardKey });
    },
  });

  async function loadFile(event: ChangeEvent<HTMLInputElement>): Promise<void> {
    const file = event.target.files?.[0];
    setFileError(undefined);
    if (!file) return;
    if (file.size > maxFileBytes) {
      setFileError(`${file.name} is ${Math.ceil(file.size / 1024)} KiB; the limit is ${maxFileBytes / 1024} KiB.`);
      return;
    }
    setYaml(await file.text());
  }

  // Apply only exactly what was previewed: an edit after the preview needs a new preview.
  const current = preview && preview.yaml === yaml ? preview : undefined;
  const counts = current ? summarize(current.result.objects) : undefined;
  const changes = counts ? counts.create + counts.update : 0;
  const applyGate: ActionGate = !gate.enabled
    ? gate
    : !current
      ? { enabled: false, reason: 'preview the restore first' }
      : counts && counts.refused > 0
        ? {
            enabled: false,
            reason: `${counts.refused} refused: a restore only writes what this agent's backup contains`,
          }
        : changes === 0
          ? { enabled: false, reason: 'nothing to change' }
          : gate;

  return (
    <div className="mt-4 space-y-3">
      <h3 className="text-sm font-medium">Restore</h3>
      <div>
        <label htmlFor={fileId} className="block text-sm">
          Backup file
        </label>
        <input
          id={fileId}
          type="file"
          accept=".yaml,.yml,application/yaml,text/yaml"
          onChange={(event) => void loadFile(event)}
          disabled={!gate.enabled}
          className="file:focus-visible:ring-brand/60 mt-1 block w-full text-sm file:mr-3 file:rounded-md file:border file:border-zinc-300 file:bg-white file:px-2.5 file:py-1 file:text-sm dark:file:border-zinc-700 dark:file:bg-zinc-900 dark:file:text-zinc-100"
        />
      </div>
      {fileError ? <Notice tone="bad">{fileError}</Notice> : null}
      <div>
        <label htmlFor={textId} className="block text-sm">
          Backup YAML
        </label>
        <textarea
          id={textId}
          value={yaml}
          onChange={(event) => setYaml(event.target.value)}
          readOnly={!gate.enabled}
          rows={8}
          spellCheck={false}
          placeholder="Paste a backup downloaded from this dashboard, or choose the file above."
          className="focus:border-brand focus:ring-brand/40 mt-1 block w-full rounded-md border border-zinc-300 bg-white p-2 font-mono text-xs focus:ring-2 focus:outline-none dark:border-zinc-700 dark:bg-zinc-950"
        />
      </div>
      <div className="flex flex-wrap gap-2">
        <GatedButton
          gate={
            gate.enabled && yaml.trim() === '' ? { enabled: false, reason: 'paste or choose a backup first' } : gate
          }
          onClick={() => previewAction.mutate(yaml)}
        >
          {previewAction.isPending ? 'Previewing…' : 'Preview restore'}
        </GatedButton>
        <GatedButton gate={applyGate} onClick={() => setConfirming(true)}>
          Apply restore
        </GatedButton>
      </div>
      {!gate.enabled ? <p className="text-xs text-zinc-500">Restore is disabled: {gate.reason}.</p> : null}
      {previewAction.error ? <Notice tone="bad">{previewAction.error.message}</Notice> : null}
      {preview && !current ? <Notice tone="warn">The YAML changed after the preview: preview it again.</Notice> : null}
      {current ? <RestoreObjects objects={current.result.objects} label="Dry-run preview" /> : null}
      {applied ? <RestoreObjects objects={applied.objects} label="Applied" /> : null}
      {confirming && current && counts ? (
        <Modal
          title="Apply restore"
          onClose={() => setConfirming(false)}
          onConfirm={() => applyAction.mutate(current.yaml)}
          confirmVariant="danger"
          pending={applyAction.isPending}
          error={applyAction.error?.message}
        >
          <p>
            Apply the restore to the cluster? {counts.create} objects are created and {counts.update} updated as in the
            preview; {counts.unchanged + counts.skipped} stay as they are.
          </p>
        </Modal>
      ) : null}
    </div>
  );
}

export function BackupPanel({ view, className }: { view: DashboardView; className?: string }) {
  return (
    <Panel title="Backup & restore" testId="backup-panel" className={className}>
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-300">
        Re-appliable YAML of the agent state and the managed workloads (status, uid, resourceVersion and managedFields
        stripped, Secret values redacted).
      </p>
      {view.viewer.readOnly ? (
        <p className="text-sm text-zinc-500">Read-only mode: backup and restore are turned off.</p>
      ) : (
        <>
          <DownloadForm gate={globalGate(view, 'backup')} />
          <RestoreForm gate={globalGate(view, 'restore')} />
        </>
      )}
    </Panel>
  );
}
