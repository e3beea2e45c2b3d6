import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
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

/**
 * Resolves once the requests the agent identity completed before this call are in the audit log: it
 * makes one more (a GET of a ConfigMap that does not exist) and waits until the log shows it, instead of
 * sleeping for however long the API server takes to write its log on a busy machine.
 */
export async function auditCaughtUp(layout: SandboxLayout, agent: KubeConfig, timeoutMs = 60_000): Promise<void> {
  const marker = `audit-marker-${randomUUID()}`;
  await agent
    .makeApiClient(CoreV1Api)
    .readNamespacedConfigMap({ namespace: 'pipeops-system', name: marker })
    .catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (!readAudit(layout).some((entry) => entry.requestURI.includes(marker))) {
    if (Date.now() > deadline) throw new Error(`the audit log did not show ${marker} within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}
