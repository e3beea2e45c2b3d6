import { createServer } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ApiError } from '@/server/http/api-error';
import { withoutInternalAddresses } from '@/server/http/internal-addresses';
import { previewRestore } from '@/server/runbook/restore';
import { toApiError } from './runbook-api';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('errors sent to the browser', () => {
  it('never quote the API server address of a failed Kubernetes call (finding 3)', async () => {
    const port = await closedPort();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const doc = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pipeops-agent-state, namespace: pipeops-system}\n';
    const raw = await previewRestore(kc, doc, { agentNamespace: 'pipeops-system' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((raw as Error).message)).toContain(`127.0.0.1:${port}`);
    const sent = toApiError(raw) as ApiError;
    expect(sent).toBeInstanceOf(ApiError);
    expect(sent.status).toBe(502);
    expect(JSON.stringify(sent.toJSON())).not.toContain('127.0.0.1');
    expect(JSON.stringify(sent.toJSON())).not.toContain(String(port));
    expect(sent.message).toContain('<internal address>');
  });

  it.each([
    ['request to https://10.96.0.1:443/api/v1/x failed', 'request to <internal address> failed'],
    ['connect ECONNREFUSED 10.0.0.7:6443', 'connect ECONNREFUSED <internal address>'],
    [
      'failed calling webhook: Post "https://hook.ns.svc:443/validate?timeout=10s"',
      'failed calling webhook: Post "<internal address>"',
    ],
    ['dial tcp [fd00::1]:6443: i/o timeout', 'dial tcp <internal address>: i/o timeout'],
    ['lookup kubernetes.default.svc.cluster.local', 'lookup <internal address>'],
  ])('%s', (input, output) => {
    expect(withoutInternalAddresses(input)).toBe(output);
  });
});
