import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SandboxLayout } from './state';

export interface AuditEntry {
  verb: string;
  user: string;
  requestURI: string;
  stage: string;
  code?: number;
  at: number;
}

/** Completed requests from the sandbox API server's audit log (only agent ServiceAccounts are audited). */
export function readAudit(layout: SandboxLayout): AuditEntry[] {
  const file = path.join(layout.logDir, 'audit.log');
  if (!existsSync(file)) return [];
  const entries: AuditEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const event = JSON.parse(line) as {
      verb: string;
      user: { username: string };
      requestURI: string;
      stage: string;
      responseStatus?: { code?: number };
      stageTimestamp: string;
    };
    if (event.stage !== 'ResponseComplete') continue;
    entries.push({
      verb: event.verb,
      user: event.user.username,
      requestURI: event.requestURI,
      stage: event.stage,
      code: event.responseStatus?.code,
      at: Date.parse(event.stageTimestamp),
    });
  }
  return entries;
}
