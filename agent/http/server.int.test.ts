import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  createTestRuntime,
  startTestControlPlane,
  uniqueNames,
  type TestControlPlane,
  type TestRuntime,
} from '../testing/harness';
import { freePort, generateKey, startGoChisel, type GoChiselServer } from '../tunnel/chisel-test-helpers';
import { metricsTokenEnv } from './endpoint-access';
import { createAgentHttpServer } from './server';

const waitLong = { timeout: 60_000, interval: 100 };

/** The headless agent's HTTP server in front of a runtime whose tunnel is connected to the real Go chisel server. */
describe('unauthenticated /metrics and /api/health/detailed expose no internals', () => {
  const sandbox = inject('sandbox');
  let dir: string;
  let chisel: GoChiselServer;
  let cp: TestControlPlane;
  let agent: TestRuntime;
  let server: http.Server;
  let base: string;
  let internals: string[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'agent-http-'));
    const keyfile = path.join(dir, 'key');
    const authFile = path.join(dir, 'users.json');
    await generateKey(keyfile);
    await writeFile(authFile, '{}\n');
    chisel = await startGoChisel(await freePort(), keyfile, { authFile });
    cp = await startTestControlPlane({
      tunnel: {
        tunnelServerAddr: `http://127.0.0.1:${chisel.port}`,
        tunnelServerFingerprint: chisel.fingerprint,
        tunnelAuthFile: authFile,
        tunnelDefaultStatus: 'REQUIRED',
        tunnelPortRange: 'os',
        tunnelPollFrequencySeconds: 1,
      },
    });
    agent = createTestRuntime({
      apiUrl: cp.url,
      kubeconfig: sandbox.agentKubeconfig,
      names: uniqueNames(),
      env: { PIPEOPS_TUNNEL_ENABLED: 'true', PIPEOPS_TUNNEL_REMOTE_BIND_HOST: '127.0.0.1' },
    });
    agent.runtime.start();
    await vi.waitFor(() => expect(agent.runtime.snapshot().tunnel?.state).toBe('connected'), waitLong);
    const tunnel = agent.runtime.snapshot().tunnel;
    internals = [
      chisel.fingerprint,
      `127.0.0.1:${chisel.port}`,
      ...(tunnel?.forwards ?? []).map((forward) => forward.target),
    ].filter((internal) => internal !== ''); // a skipped forward (no node IP) has no target
    server = createAgentHttpServer(agent.runtime, agent.metrics);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await agent.runtime.stop();
    await cp.stop();
    await chisel.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('without a token configured: hop states, but no tunnel address, fingerprint or forward target', async () => {
    expect(internals.length).toBeGreaterThanOrEqual(4); // fingerprint, server, two bound forwards
    const response = await fetch(`${base}/api/health/detailed`);
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const internal of internals) expect(text).not.toContain(internal);
    const body = JSON.parse(text) as {
      hops: { control_plane: { link: { state: string } }; tunnel: { status: string; forwards: { name: string }[] } };
    };
    expect(body.hops.control_plane.link.state).toBe('connected');
    expect(body.hops.tunnel.status).toBe('connected');
    expect(body.hops.tunnel.forwards.map((forward) => forward.name)).toContain('kubernetes-api');

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    const exposition = await metrics.text();
    expect(exposition).toContain('pipeops_tunnel_status 1');
    for (const internal of internals) expect(exposition).not.toContain(internal);
  });

  it('with PIPEOPS_METRICS_TOKEN: 401 without the Bearer token, everything with it', async () => {
    vi.stubEnv(metricsTokenEnv, 'metrics-token-for-tests');
    for (const route of ['/api/health/detailed', '/metrics']) {
      for (const authorization of [undefined, 'Bearer wrong-token']) {
        const refused = await fetch(`${base}${route}`, { headers: authorization ? { authorization } : {} });
        expect(refused.status, `${route} with ${authorization ?? 'no header'}`).toBe(401);
        expect(refused.headers.get('www-authenticate')).toBe('Bearer');
        expect(await refused.text()).toContain(metricsTokenEnv);
      }
    }
    const full = await fetch(`${base}/api/health/detailed`, {
      headers: { authorization: 'Bearer metrics-token-for-tests' },
    });
    expect(full.status).toBe(200);
    const text = await full.text();
    for (const internal of internals) expect(text).toContain(internal);
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer metrics-token-for-tests' } });
    expect(metrics.status).toBe(200);
    expect(await (await fetch(`${base}/health`)).json()).toMatchObject({ status: 'ok' });
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });
});
