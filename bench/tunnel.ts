import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChiselClient } from '../agent/tunnel/chisel-client';
import {
  chiselBinary,
  freePort,
  generateKey,
  probe,
  roundTrip,
  sha256,
  startEchoTarget,
  startGoChisel,
} from '../agent/tunnel/chisel-test-helpers';
import { stats, type Stats } from './machine';

export interface TunnelBench {
  payloadMiB: number;
  ours: Stats;
  goClient: Stats;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (
      await probe(port).then(
        () => true,
        () => false,
      )
    )
      return;
    await sleep(50);
  }
  throw new Error(`reverse port ${port} never worked`);
}

/** Seconds to send the payload through the reverse port and receive all of it back (echo), checked by SHA-256. */
async function timeRoundTrips(port: number, payload: Buffer, runs: number): Promise<number[]> {
  const expected = sha256(payload);
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const digest = await roundTrip(port, payload);
    seconds.push((performance.now() - started) / 1000);
    if (digest !== expected) throw new Error('payload corrupted through the tunnel');
  }
  return seconds;
}

/**
 * Our chisel client against the Go chisel client, both through the same real Go chisel server to the same
 * echo target on loopback: time for a payload to go through the reverse port and come back.
 */
export async function benchTunnel(payloadMiB: number, runs: number): Promise<TunnelBench> {
  const payload = randomBytes(payloadMiB * 1024 * 1024);
  const keyfile = path.join(await mkdtemp(path.join(tmpdir(), 'bench-chisel-')), 'server.key');
  await generateKey(keyfile);
  const server = await startGoChisel(await freePort(), keyfile);
  const echo = await startEchoTarget();
  const target = { host: '127.0.0.1', port: echo.port };
  const ourPort = await freePort();
  const goPort = await freePort();
  const client = new ChiselClient({
    serverUrl: `http://127.0.0.1:${server.port}`,
    auth: 'user:pass',
    fingerprint: server.fingerprint,
    remotes: [{ name: 'bench', remotePort: ourPort, bindHost: '127.0.0.1', target }],
  });
  const goClient = spawn(
    chiselBinary,
    [
      'client',
      '--fingerprint',
      server.fingerprint,
      '--auth',
      'user:pass',
      `http://127.0.0.1:${server.port}`,
      `R:127.0.0.1:${goPort}:127.0.0.1:${echo.port}`,
    ],
    { stdio: 'ignore' },
  );
  try {
    await client.start();
    await Promise.all([waitForPort(ourPort), waitForPort(goPort)]);
    const ours: number[] = [];
    const theirs: number[] = [];
    // Alternate so both see the same machine conditions.
    for (let i = 0; i < runs; i++) {
      ours.push(...(await timeRoundTrips(ourPort, payload, 1)));
      theirs.push(...(await timeRoundTrips(goPort, payload, 1)));
    }
    return { payloadMiB, ours: stats(ours), goClient: stats(theirs) };
  } finally {
    goClient.kill('SIGTERM');
    await client.stop();
    await echo.close();
    await server.stop();
  }
}
