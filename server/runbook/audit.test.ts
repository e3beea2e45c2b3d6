import { describe, expect, it } from 'vitest';
import { auditMessage, toAuditEntry } from './audit';

const base = {
  action: 'scale' as const,
  actor: { name: 'alice', role: 'admin' as const },
  target: { kind: 'Deployment', namespace: 'demo', name: 'web' },
  summary: 'scaled demo/web from 1 to 3',
};

describe('audit records', () => {
  it('says who did what and how it ended', () => {
    expect(auditMessage({ ...base, ok: true })).toBe('alice (admin) scaled demo/web from 1 to 3: ok');
    expect(auditMessage({ ...base, ok: false, detail: 'HTTP 409' })).toBe(
      'alice (admin) scaled demo/web from 1 to 3: failed — HTTP 409',
    );
  });

  it('reads an Event back into an entry, preferring the precise time annotation', () => {
    const entry = toAuditEntry({
      metadata: {
        annotations: {
          'pipeops.io/audit-actor': 'alice',
          'pipeops.io/audit-role': 'admin',
          'pipeops.io/audit-result': 'failed',
          'pipeops.io/audit-time': '2025-01-31T12:00:00.250Z',
        },
      },
      lastTimestamp: new Date('2025-01-31T12:00:00Z'),
      involvedObject: base.target,
      reason: 'RunbookScale',
      type: 'Warning',
      message: 'm',
    });
    expect(entry).toEqual({
      time: '2025-01-31T12:00:00.250Z',
      action: 'scale',
      reason: 'RunbookScale',
      type: 'Warning',
      actor: 'alice',
      role: 'admin',
      result: 'failed',
      target: { kind: 'Deployment', namespace: 'demo', name: 'web' },
      message: 'm',
    });
  });
});
