import 'server-only';
import { CoreV1Api, type CoreV1Event, type KubeConfig, type V1ObjectReference } from '@kubernetes/client-node';
import { describeKubeError } from '@/agent/kubernetes/errors';
import { createLogger, type Logger } from '@/agent/logging/logger';
import { fromKubeError } from './errors';
import type { Actor } from './schemas';

export const auditComponent = 'pipeops-agent-dashboard';

export const auditReasons = {
  restart: 'RunbookRestart',
  scale: 'RunbookScale',
  backup: 'RunbookBackup',
  restore: 'RunbookRestore',
  wake: 'RunbookWake',
  keepAwake: 'RunbookKeepAwake',
} as const;
export type AuditAction = keyof typeof auditReasons;

// Structured copies of what the message says, so the audit view does not parse prose.
const actorAnnotation = 'pipeops.io/audit-actor';
const roleAnnotation = 'pipeops.io/audit-role';
const resultAnnotation = 'pipeops.io/audit-result';
// Event timestamps have one-second precision; this keeps the order of quick successive actions.
const timeAnnotation = 'pipeops.io/audit-time';

export interface AuditRecord {
  action: AuditAction;
  actor: Actor;
  target: V1ObjectReference & { name: string; namespace: string };
  /** e.g. `scaled demo/web from 1 to 3`; the actor and the result are added around it. */
  summary: string;
  ok: boolean;
  /** Why it failed, appended to the message. */
  detail?: string;
  /** Every object the action touched or refused; in full on the log line (the Event message is capped). */
  objects?: AuditObject[];
}

export interface AuditObject {
  action: string;
  kind: string;
  namespace: string;
  name: string;
}

export interface AuditEntry {
  time: string;
  action: string;
  reason: string;
  type: 'Normal' | 'Warning';
  actor?: string;
  role?: string;
  result?: 'ok' | 'failed';
  target: { kind?: string; namespace?: string; name?: string };
  message: string;
}

let fallbackLogger: Logger | undefined;

/** The dashboard log half of the audit record (the Event is the other half). */
export function auditLogger(): Logger {
  fallbackLogger ??= createLogger(process.env.PIPEOPS_LOG_LEVEL ?? 'info', {});
  return fallbackLogger;
}

export function auditMessage(record: AuditRecord): string {
  const result = record.ok ? 'ok' : `failed${record.detail ? ` — ${record.detail}` : ''}`;
  return `${record.actor.name} (${record.actor.role}) ${record.summary}: ${result}`.slice(0, 1000);
}

function auditEvent(record: AuditRecord, now: Date): CoreV1Event {
  const { target } = record;
  return {
    metadata: {
      generateName: `${target.name}.runbook-`,
      namespace: target.namespace,
      annotations: {
        [actorAnnotation]: record.actor.name,
        [roleAnnotation]: record.actor.role,
        [resultAnnotation]: record.ok ? 'ok' : 'failed',
        [timeAnnotation]: now.toISOString(),
      },
    },
    involvedObject: target,
    reason: auditReasons[record.action],
    message: auditMessage(record),
    type: record.ok ? 'Normal' : 'Warning',
    source: { component: auditComponent },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    // Legacy (core/v1) Event: no eventTime/reportingComponent, so the namespace rules stay simple.
    action: record.action,
  };
}

/**
 * Writes the audit Event and log line. Never throws: a failed audit write must not hide the action's
 * result, so it returns a warning for the caller to include instead.
 */
export async function writeAudit(
  kc: KubeConfig,
  record: AuditRecord,
  log: Logger = auditLogger(),
): Promise<string | undefined> {
  const message = auditMessage(record);
  const { action, actor, target, ok, objects } = record;
  log.info({ audit: { action, actor, target, ok, ...(objects ? { objects } : {}) } }, message);
  try {
    await kc.makeApiClient(CoreV1Api).createNamespacedEvent({
      namespace: record.target.namespace,
      body: auditEvent(record, new Date()),
    });
    return undefined;
  } catch (error) {
    const warning = `audit Event not written: ${describeKubeError(error)}`;
    log.error({ audit: { action: record.action, target: record.target } }, `${warning} (audit message: ${message})`);
    return warning;
  }
}

function eventTime(event: CoreV1Event): string {
  const precise = event.metadata.annotations?.[timeAnnotation];
  if (precise && !Number.isNaN(Date.parse(precise))) return new Date(precise).toISOString();
  const raw = event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata.creationTimestamp;
  return raw ? new Date(raw).toISOString() : new Date(0).toISOString();
}

function actionOf(reason: string | undefined): string {
  const found = Object.entries(auditReasons).find(([, r]) => r === reason);
  return found ? found[0] : (reason ?? 'unknown');
}

export function toAuditEntry(event: CoreV1Event): AuditEntry {
  const annotations = event.metadata.annotations ?? {};
  const result = annotations[resultAnnotation];
  return {
    time: eventTime(event),
    action: actionOf(event.reason),
    reason: event.reason ?? '',
    type: event.type === 'Warning' ? 'Warning' : 'Normal',
    actor: annotations[actorAnnotation],
    role: annotations[roleAnnotation],
    result: result === 'ok' || result === 'failed' ? result : undefined,
    target: {
      kind: event.involvedObject.kind,
      namespace: event.involvedObject.namespace,
      name: event.involvedObject.name,
    },
    message: event.message ?? '',
  };
}

/**
 * Runbook audit records across namespaces, newest first. The API server filters on `source` (the
 * Event's source.component, a supported field selector for core/v1 Events); reasons are checked again
 * here so an unrelated component reusing the name cannot inject entries with other reasons.
 */
export async function listAuditEvents(kc: KubeConfig, options: { limit?: number } = {}): Promise<AuditEntry[]> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
  const reasons = new Set<string>(Object.values(auditReasons));
  try {
    const list = await kc
      .makeApiClient(CoreV1Api)
      .listEventForAllNamespaces({ fieldSelector: `source=${auditComponent}` });
    return list.items
      .filter((event) => reasons.has(event.reason ?? ''))
      .map(toAuditEntry)
      .sort((a, b) => b.time.localeCompare(a.time))
      .slice(0, limit);
  } catch (error) {
    throw fromKubeError(error, 'listing audit events');
  }
}
