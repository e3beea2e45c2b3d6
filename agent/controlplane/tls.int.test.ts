import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { pkiPaths } from '../../sandbox/cluster/pki';
import { sandboxLayout } from '../../sandbox/cluster/state';
import {
  createTestRuntime,
  startTestControlPlane,
  uniqueNames,
  waitForReady,
  type TestControlPlane,
} from '../testing/harness';

const sandbox = inject('sandbox');

// The control plane serves HTTPS/WSS with a certificate for 127.0.0.1 signed by the sandbox CA, which the
// system trust store does not know.
describe('control-plane TLS', () => {
  const pki = pkiPaths(sandboxLayout(sandbox.name).pkiDir);
  let cp: TestControlPlane;

  beforeAll(async () => {
    cp = await startTestControlPlane({ tls: { certFile: pki.servingCert, keyFile: pki.servingKey } });
    expect(cp.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });
  afterAll(async () => {
    await cp.stop();
  });

  it('refuses a certificate it cannot verify and says so in /ready', async () => {
    const agent = createTestRuntime({ apiUrl: cp.url, kubeconfig: sandbox.agentKubeconfig, names: uniqueNames() });
    agent.runtime.start();
    await vi.waitFor(() => expect(agent.runtime.snapshot().registration.attempts).toBeGreaterThanOrEqual(2), {
      timeout: 20_000,
    });
    expect(agent.runtime.snapshot().registration.state).toBe('pending');
    expect(agent.runtime.readiness().reason).toMatch(/^registration pending: .*(certificate|UNABLE_TO_VERIFY)/i);
    await agent.runtime.stop();
  });

  it('registers and heartbeats over wss:// when given the CA bundle', async () => {
    const agent = createTestRuntime({
      apiUrl: cp.url,
      kubeconfig: sandbox.agentKubeconfig,
      names: uniqueNames(),
      env: { PIPEOPS_TLS_CA_FILE: pki.caCert },
    });
    agent.runtime.start();
    await waitForReady(agent.runtime);
    expect(agent.runtime.snapshot().link?.transport).toBe('websocket');
    await agent.runtime.stop();
  });

  it('connects without verification only when explicitly told to, and warns loudly', async () => {
    const agent = createTestRuntime({
      apiUrl: cp.url,
      kubeconfig: sandbox.agentKubeconfig,
      names: uniqueNames(),
      env: { PIPEOPS_TLS_INSECURE_SKIP_VERIFY: 'true' },
    });
    agent.runtime.start();
    await waitForReady(agent.runtime);
    expect(agent.messages()).toContain(
      'TLS certificate verification of the control plane is DISABLED (pipeops.tls.insecure_skip_verify)',
    );
    await agent.runtime.stop();
  });
});
