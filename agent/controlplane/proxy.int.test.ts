import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { pkiPaths } from '../../sandbox/cluster/pki';
import { freePort, isPortListening } from '../../sandbox/cluster/processes';
import { sandboxLayout } from '../../sandbox/cluster/state';
import { agentToken, startTestControlPlane, uniqueNames, type TestControlPlane } from '../testing/harness';

const sandbox = inject('sandbox');

interface Proxy {
  port: number;
  log: string;
  child: ChildProcess;
}

/** A real forward proxy (Debian's tinyproxy) on loopback, logging every CONNECT. */
async function startTinyproxy(): Promise<Proxy> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tinyproxy-'));
  const port = await freePort();
  const log = path.join(dir, 'tinyproxy.log');
  const config = path.join(dir, 'tinyproxy.conf');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 60',
      'Allow 127.0.0.1',
      `LogFile "${log}"`,
      'LogLevel Connect',
      'MaxClients 20',
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/bin/tinyproxy', ['-d', '-c', config], { stdio: 'ignore' });
  await vi.waitFor(async () => expect(await isPortListening(port)).toBe(true), { timeout: 10_000 });
  return { port, log, child };
}

async function startAgent(
  cp: TestControlPlane,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const names = uniqueNames();
  const child = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts'], {
    env: {
      ...process.env,
      KUBECONFIG: sandbox.agentKubeconfig,
      PIPEOPS_API_URL: cp.url,
      PIPEOPS_TOKEN: agentToken,
      PIPEOPS_CLUSTER_NAME: 'proxied',
      PIPEOPS_PORT: String(port),
      PIPEOPS_STATE_NAMESPACE: 'pipeops-system',
      PIPEOPS_STATE_CONFIGMAP_NAME: names.configMap,
      PIPEOPS_LEASE_NAME: names.lease,
      PIPEOPS_HEARTBEAT_INTERVAL: '500ms',
      PIPEOPS_TLS_CA_FILE: pkiPaths(sandboxLayout(sandbox.name).pkiDir).caCert,
      ...env,
    },
    stdio: 'ignore',
  });
  return { child, port };
}

async function detailed(
  port: number,
): Promise<{ status: string; hops: { control_plane: { link?: { transport: string } } } } | undefined> {
  return fetch(`http://127.0.0.1:${port}/api/health/detailed`).then(
    async (r) => (await r.json()) as never,
    () => undefined,
  );
}

describe('control plane reached through HTTPS_PROXY (tinyproxy)', () => {
  let proxy: Proxy;
  let cp: TestControlPlane;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    proxy = await startTinyproxy();
    const pki = pkiPaths(sandboxLayout(sandbox.name).pkiDir);
    cp = await startTestControlPlane({ tls: { certFile: pki.servingCert, keyFile: pki.servingKey } });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    proxy.child.kill('SIGTERM');
    await cp.stop();
  });

  const connects = async (): Promise<number> =>
    (await readFile(proxy.log, 'utf8').catch(() => ''))
      .split('\n')
      .filter((line) => line.includes(`CONNECT 127.0.0.1:${cp.port}`)).length;

  it('registers and keeps the WebSocket through the proxy (CONNECT), TLS still verified end to end', async () => {
    const agent = await startAgent(cp, { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: '' });
    children.push(agent.child);
    await vi.waitFor(async () => expect((await detailed(agent.port))?.status).toBe('ready'), {
      timeout: 30_000,
      interval: 100,
    });
    expect((await detailed(agent.port))?.hops.control_plane.link?.transport).toBe('websocket');
    // One CONNECT for the registration request, one for the WebSocket.
    expect(await connects()).toBeGreaterThanOrEqual(2);
  });

  it('goes direct for hosts in NO_PROXY', async () => {
    const before = await connects();
    const agent = await startAgent(cp, { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: '127.0.0.1' });
    children.push(agent.child);
    await vi.waitFor(async () => expect((await detailed(agent.port))?.status).toBe('ready'), {
      timeout: 30_000,
      interval: 100,
    });
    expect(await connects()).toBe(before);
  });
});
