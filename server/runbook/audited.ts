import 'server-only';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@/agent/logging/logger';
import { isReadOnly } from '@/server/auth/auth-config';
import { readOnlyMessage } from '@/server/auth/read-only';
import { writeAudit, type AuditAction, type AuditRecord } from './audit';
import { fromKubeError, RunbookError } from './errors';
import { actorSchema, parseInput, type Actor } from './schemas';

export interface RunbookOptions {
  /** Where the audit log line goes; defaults to a JSON logger on stdout. */
  log?: Logger;
}

/** What the work tells the audit record; `summary` is refined as the work learns more (e.g. from → to). */
export interface AuditScope {
  action: AuditAction;
  actor: Actor;
  target: AuditRecord['target'];
  summary: string;
  /** Every object the action created, updated, skipped or refused (restore). */
  objects?: AuditRecord['objects'];
}

export interface Audited<T> {
  value: T;
  warnings: string[];
}

/** Only admins act; the route checks roles too, this keeps the functions safe if a route forgets. */
export function requireAdmin(actor: unknown): Actor {
  const parsed = parseInput(actorSchema, actor);
  if (parsed.role !== 'admin') {
    throw new RunbookError(403, `${parsed.name} (${parsed.role}) may not run runbook actions: admin role required`);
  }
  return parsed;
}

/**
 * Runs an action and writes its audit record whatever happens. An audit write failure becomes a warning
 * on the result (or on the thrown error), never replaces the action's own outcome.
 */
export async function audited<T>(
  kc: KubeConfig,
  scope: AuditScope,
  work: (scope: AuditScope) => Promise<T>,
  options: RunbookOptions = {},
): Promise<Audited<T>> {
  let value: T;
  try {
    // Only a backup (a read) runs in read-only mode; every other runbook action is a change.
    if (scope.action !== 'backup' && isReadOnly()) throw new RunbookError(403, readOnlyMessage, 'read_only');
    value = await work(scope);
  } catch (error) {
    const failure = fromKubeError(error, scope.summary);
    const warning = await writeAudit(kc, { ...scope, ok: false, detail: failure.message }, options.log);
    if (warning) failure.warnings.push(warning);
    throw failure;
  }
  const warning = await writeAudit(kc, { ...scope, ok: true }, options.log);
  return { value, warnings: warning ? [warning] : [] };
}
