import type { NextRequest } from 'next/server';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  applyAsAdmin,
  deploymentSpec,
  makeFixtures,
  readDeployment,
  removeFixtures,
  type Fixtures,
} from '@/server/runbook/int-fixtures';
import { activityPost } from './activity-route';

/**
 * Issue 13, finding 5: with PIPEOPS_DASHBOARD_READ_ONLY=true the bearer-token activity API still
 * rewrote last-activity (and so woke a sleeping workload). Read-only means no change by any path.
 */
const sandbox = inject('sandbox');
const token = 'read-only-test-token-0123456789abcdef';
let f: Fixtures;

const asleep = {
  'pipeops.io/ttl': '30m',
  'pipeops.io/original-replicas': '2',
  'pipeops.io/last-activity': '2020-01-01T00:00:00.000Z',
  'pipeops.io/scaled-down-at': '2020-01-01T00:30:00.000Z',
};

beforeAll(async () => {
  f = await makeFixtures(sandbox, 'ttl-readonly');
  vi.stubEnv('KUBECONFIG', sandbox.agentKubeconfig);
  vi.stubEnv('PIPEOPS_ACTIVITY_TOKEN', token);
  vi.stubEnv('PIPEOPS_DASHBOARD_READ_ONLY', 'true');
  await applyAsAdmin(f, deploymentSpec(f.namespace, 'notebook', { replicas: 0, annotations: asleep }));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  if (f) await removeFixtures(f);
});

function post(headers: Record<string, string>): Promise<Response> {
  const url = `http://127.0.0.1/api/ttl/${f.namespace}/notebook/activity`;
  const req = new Request(url, { method: 'POST', headers, body: '{"source":"ci"}' }) as unknown as NextRequest;
  return activityPost(req, { params: Promise.resolve({ namespace: f.namespace, name: 'notebook' }) });
}

describe('read-only mode and the activity API', () => {
  it('refuses a valid bearer token with 403 read_only and changes nothing', async () => {
    const response = await post({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('read_only');
    const live = await readDeployment(f, 'notebook');
    expect(live.metadata?.annotations?.['pipeops.io/last-activity']).toBe(asleep['pipeops.io/last-activity']);
    expect(live.metadata?.annotations?.['pipeops.io/last-activity-source']).toBeUndefined();
    expect(live.spec?.replicas).toBe(0);
  });

  it('still refuses a wrong token with 401 first (read-only does not reveal more)', async () => {
    const response = await post({ Authorization: 'Bearer wrong-token', 'Content-Type': 'application/json' });
    expect(response.status).toBe(401);
  });
});
