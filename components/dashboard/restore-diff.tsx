import type { RestoreObject } from './api';
import { Badge, type Tone } from './ui';

const actionTones: Record<RestoreObject['action'], Tone> = {
  create: 'info',
  update: 'warn',
  unchanged: 'neutral',
  skipped: 'neutral',
  refused: 'bad',
};

function lineClass(line: string): string {
  if (line.startsWith('+++') || line.startsWith('---')) return 'text-zinc-500';
  if (line.startsWith('+')) return 'bg-green-100 text-green-900 dark:bg-green-900/30 dark:text-green-200';
  if (line.startsWith('-')) return 'bg-red-100 text-red-900 dark:bg-red-900/30 dark:text-red-200';
  if (line.startsWith('@@')) return 'text-blue-700 dark:text-blue-300';
  return '';
}

function Diff({ diff }: { diff: string }) {
  return (
    <pre className="mt-1 max-h-80 overflow-auto rounded border border-zinc-200 bg-zinc-50 p-2 font-mono text-xs leading-5 dark:border-zinc-800 dark:bg-zinc-950">
      {diff.split('\n').map((line, index) => (
        // Index keys are fine: a diff is replaced as a whole, never edited line by line.
        <span key={index} className={`block ${lineClass(line)}`}>
          {line || ' '}
        </span>
      ))}
    </pre>
  );
}

export function summarize(objects: RestoreObject[]): Record<RestoreObject['action'], number> {
  const counts = { create: 0, update: 0, unchanged: 0, skipped: 0, refused: 0 };
  for (const object of objects) counts[object.action] += 1;
  return counts;
}

export function RestoreObjects({ objects, label }: { objects: RestoreObject[]; label: string }) {
  const counts = summarize(objects);
  return (
    <div aria-label={label} role="region" className="mt-3">
      <p className="text-sm font-medium">
        {label}: {counts.create} to create, {counts.update} to update, {counts.unchanged} unchanged, {counts.skipped}{' '}
        skipped{counts.refused > 0 ? `, ${counts.refused} refused` : ''}
      </p>
      <ul className="mt-2 space-y-2">
        {objects.map((object) => (
          <li
            key={`${object.kind}/${object.namespace ?? ''}/${object.name}`}
            className="rounded border border-zinc-200 p-2 dark:border-zinc-800"
          >
            <details open={object.action === 'create' || object.action === 'update'}>
              <summary className="focus-visible:ring-brand/60 cursor-pointer rounded text-sm focus-visible:ring-2 focus-visible:outline-none">
                <Badge tone={actionTones[object.action]}>{object.action}</Badge>{' '}
                <span className="font-mono">
                  {object.kind} {object.namespace ? `${object.namespace}/` : ''}
                  {object.name}
                </span>
                {object.note ? <span className="ml-2 text-xs text-zinc-500">{object.note}</span> : null}
              </summary>
              {object.diff ? (
                <Diff diff={object.diff} />
              ) : object.action === 'refused' ? null : (
                <p className="mt-1 text-xs text-zinc-500">No differences.</p>
              )}
            </details>
          </li>
        ))}
      </ul>
    </div>
  );
}
