import type { AuditEntry } from '@/server/dashboard/view-model';
import { Panel } from '@/components/panel';
import { Badge, Empty, Table, Time } from './ui';

export function AuditPanel({ audit, className }: { audit: AuditEntry[]; className?: string }) {
  // Newest first, whatever order the server keeps them in.
  const entries = [...audit].sort((a, b) => b.at.localeCompare(a.at));
  return (
    <Panel title="Audit log" testId="audit-panel" className={className}>
      {entries.length === 0 ? (
        <Empty>No runbook actions yet. Every restart, scale, wake, backup and restore is recorded here.</Empty>
      ) : (
        <div className="max-h-96 overflow-y-auto">
          <Table label="Audit log" head={['When', 'Who', 'Action', 'Target', 'Result', 'Message']}>
            {entries.map((entry, index) => (
              <tr key={`${entry.at}-${entry.actor}-${entry.action}-${index}`}>
                <td className="px-2 py-2 font-mono text-xs">
                  <Time iso={entry.at} />
                </td>
                <td className="px-2 py-2">{entry.actor}</td>
                <td className="px-2 py-2 font-mono">{entry.action}</td>
                <td className="px-2 py-2 font-mono">{entry.target}</td>
                <td className="px-2 py-2">
                  <Badge tone={entry.result === 'ok' ? 'ok' : 'bad'}>{entry.result}</Badge>
                </td>
                <td className="min-w-48 px-2 py-2 whitespace-normal">{entry.message}</td>
              </tr>
            ))}
          </Table>
        </div>
      )}
    </Panel>
  );
}
