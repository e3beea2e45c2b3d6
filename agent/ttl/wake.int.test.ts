import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  createTestRuntime,
  startTestControlPlane,
  uniqueNames,
  waitForReady,
  type TestControlPlane,
  type TestRuntime,
} from '../testing/harness';
import { listening, roundTrip, sha256, startEchoTarget, type EchoTarget } from '../tunnel/chisel-test-helpers';
import { parseWorkloadState, workloadAnnotations as a } from '../workloads/annotations';
import { timestamp } from '../workloads/ttl-patches';
import {
  createWorkload,
  eventsFor,
  readWorkload,
  removeTtlFixtures,
  auditSettled,
  scaleWrites,
  templateHashes,
  ttlFixtures,
  type TtlFixtures,
} from './test-fixtures';

const waitLong = { timeout: 60_000, interval: 100 };

async function counter(agent: TestRuntime, name: string): Promise<number> {
  const metric = (await agent.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

/** A sleeping workload as the controller leaves it: replicas 0, original replicas and the marker recorded. */
function asleep(originalReplicas: number): Record<string, string> {
  const now = Date.now();
  return {
    [a.ttl]: '1h',
    [a.originalReplicas]: String(originalReplicas),
    [a.lastActivity]: timestamp(now - 120_000),
    [a.lastActivitySource]: 'test',
    [a.scaledDownAt]: timestamp(now - 60_000),
    [a.scaleDownReason]: 'test fixture',
  };
}

describe('TTL in the agent runtime: sleep, wake on tunnel connect, restart safety', () => {
  const sandbox = inject('sandbox');
  let dir: string;
  let f: TtlFixtures;
  let cp: TestControlPlane;
  const echo: Record<string, EchoTarget> = {};
  let agent: TestRuntime;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ttl-wake-'));
    f = await ttlFixtures(sandbox, 'ttl-wake');
    cp = await startTestControlPlane({
      tunnel: { tunnelDefaultStatus: 'REQUIRED', tunnelPollFrequencySeconds: 1, tunnelPortRange: 'os' },
      tunnelServer: { port: 0, keyFile: path.join(dir, 'tunnel.key') },
    });
    for (const name of ['web', 'burst', 'stuck']) echo[name] = await startEchoTarget();
    const forwards = Object.entries(echo).map(([name, target]) => ({
      name,
      local_addr: `127.0.0.1:${target.port}`,
      workload: `${f.namespace}/${name}`,
    }));
    const config = {
      tunnel: { default_forwards: false, forwards },
      ttl: { namespace: f.namespace, wake_timeout: '10s' },
    };
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, JSON.stringify(config));
    agent = createTestRuntime({
      apiUrl: cp.url,
      kubeconfig: sandbox.agentKubeconfig,
      names: uniqueNames(),
      env: {
        PIPEOPS_CONFIG_FILE: file,
        PIPEOPS_TUNNEL_ENABLED: 'true',
        PIPEOPS_TUNNEL_REMOTE_BIND_HOST: '127.0.0.1',
        PIPEOPS_LOG_LEVEL: 'info',
      },
    });
  });

  afterAll(async () => {
    await agent.runtime.stop();
    await cp.stop();
    for (const target of Object.values(echo)) await target.close();
    await removeTtlFixtures(f);
    await rm(dir, { recursive: true, force: true });
  });

  async function remotePort(forward: string): Promise<number> {
    let port = 0;
    await vi.waitFor(() => {
      const row = agent.runtime.snapshot().tunnel?.forwards.find((r) => r.name === forward);
      expect(row?.state).toBe('bound');
      port = row?.remotePort ?? 0;
    }, waitLong);
    await vi.waitFor(async () => expect(await listening(port)).toBe(true), waitLong);
    return port;
  }

  it('TTL 10s: scaled to 0 after 10–15 s with the original replicas recorded; a tunnel connection wakes it and the first request succeeds; no rollout', async () => {
    agent.runtime.start();
    await waitForReady(agent.runtime);
    // Probing the port is a tunnel connection too: done before the workload exists, it is nobody's activity.
    const port = await remotePort('web');
    await createWorkload(f, 'web', { replicas: 2, annotations: { [a.ttl]: '10s' } });
    await vi.waitFor(async () => expect((await readWorkload(f, 'web')).status?.readyReplicas).toBe(2), waitLong);
    const before = await templateHashes(f, 'web');
    expect(before.pods).toHaveLength(1);

    await vi.waitFor(async () => expect((await readWorkload(f, 'web')).spec?.replicas).toBe(0), waitLong);
    const slept = parseWorkloadState((await readWorkload(f, 'web')).metadata?.annotations);
    expect(slept.originalReplicas).toBe(2);
    expect(slept.lastActivitySource).toBe('agent:first-seen');
    const idleMs = Date.parse(slept.scaledDownAt ?? '') - Date.parse(slept.lastActivity ?? '');
    expect(idleMs).toBeGreaterThanOrEqual(10_000);
    expect(idleMs).toBeLessThanOrEqual(15_000);
    await vi.waitFor(async () => expect(await eventsFor(f, 'web', 'ScaledToZero')).toHaveLength(1), waitLong);

    const sent = randomBytes(4096);
    const started = performance.now();
    expect(await roundTrip(port, sent)).toBe(sha256(sent)); // the first request through the connection
    const firstByteMs = performance.now() - started;
    const woke = await readWorkload(f, 'web');
    expect(woke.spec?.replicas).toBe(2);
    expect(woke.status?.readyReplicas ?? 0).toBeGreaterThanOrEqual(1);
    const state = parseWorkloadState(woke.metadata?.annotations);
    expect(state.lastActivitySource).toBe('tunnel:web');
    expect(state.scaledDownAt).toBeUndefined();
    expect(state.wokenAt).toBeDefined();
    await vi.waitFor(async () => expect(await eventsFor(f, 'web', 'Woken')).toHaveLength(1), waitLong);
    await vi.waitFor(async () => expect((await readWorkload(f, 'web')).status?.readyReplicas).toBe(2), waitLong);
    const after = await templateHashes(f, 'web');
    expect(after.pods).toEqual(before.pods);
    expect(after.replicaSets).toEqual(before.replicaSets);
    expect(await counter(agent, 'pipeops_ttl_wake_duration_seconds')).toBeGreaterThan(0);
    console.log(`wake through the tunnel: first byte after ${firstByteMs.toFixed(0)} ms`);
  });

  it('20 concurrent first connections to a sleeping workload all succeed, sharing one wake (one scale-up)', async () => {
    const since = Date.now();
    const port = await remotePort('burst');
    await vi.waitFor(() => expect(echo.burst?.connections()).toBeGreaterThan(0), waitLong); // the probe's dial
    const probes = echo.burst?.connections() ?? 0;
    await createWorkload(f, 'burst', { replicas: 0, annotations: asleep(1) });
    await vi.waitFor(() => expect(agent.runtime.snapshot().ttl?.counts.asleep).toBe(1), waitLong);
    const wakesBefore = await counter(agent, 'pipeops_ttl_wakes_total');
    const payloads = Array.from({ length: 20 }, () => randomBytes(1024));
    const digests = await Promise.all(payloads.map((payload) => roundTrip(port, payload)));
    expect(digests).toEqual(payloads.map(sha256));
    expect(echo.burst?.connections()).toBe(probes + 20);
    expect(await counter(agent, 'pipeops_ttl_wakes_total')).toBe(wakesBefore + 1);
    await auditSettled(f);
    const writes = scaleWrites(f, 'burst', since);
    expect(writes.map((w) => w.verb)).toEqual(['patch']);
    expect((await readWorkload(f, 'burst')).spec?.replicas).toBe(1);
  });

  it('a workload that cannot become ready: the held connection is refused after wake_timeout with a logged reason', async () => {
    const port = await remotePort('stuck');
    await vi.waitFor(() => expect(echo.stuck?.connections()).toBeGreaterThan(0), waitLong); // the probe's dial
    const probes = echo.stuck?.connections() ?? 0;
    await createWorkload(f, 'stuck', { replicas: 0, annotations: asleep(1), nodeSelector: { 'no-such': 'node' } });
    await vi.waitFor(() => expect(agent.runtime.snapshot().ttl?.counts.asleep).toBe(1), waitLong);
    const started = Date.now();
    await expect(roundTrip(port, randomBytes(64))).rejects.toThrow(/closed after 0\/64 bytes|ECONNRESET/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
    expect(echo.stuck?.connections()).toBe(probes);
    const failure = agent.logs.find((line) => line.msg === 'TTL wake failed; refusing the held connection');
    expect(String(failure?.reason)).toMatch(
      new RegExp(`workload ${f.namespace}/stuck woken but Deployment ${f.namespace}/stuck not ready within 10s`),
    );
    expect(await counter(agent, 'pipeops_ttl_wake_failures_total')).toBe(1);
  });
});

describe('TTL restart safety', () => {
  const sandbox = inject('sandbox');
  let f: TtlFixtures;
  let cp: TestControlPlane;

  beforeAll(async () => {
    f = await ttlFixtures(sandbox, 'ttl-restart');
    cp = await startTestControlPlane();
  });

  afterAll(async () => {
    await cp.stop();
    await removeTtlFixtures(f);
  });

  function start(): TestRuntime {
    const agent = createTestRuntime({
      apiUrl: cp.url,
      kubeconfig: sandbox.agentKubeconfig,
      names: uniqueNames(),
      env: { PIPEOPS_TTL_NAMESPACE: f.namespace, PIPEOPS_LOG_LEVEL: 'info' },
    });
    agent.runtime.start();
    return agent;
  }

  it('an agent restart half-way through the TTL neither resets nor loses the clock', async () => {
    await createWorkload(f, 'half', { annotations: { [a.ttl]: '12s' } });
    const first = start();
    let baseline = '';
    await vi.waitFor(async () => {
      baseline = parseWorkloadState((await readWorkload(f, 'half')).metadata?.annotations).lastActivity ?? '';
      expect(baseline).not.toBe('');
    }, waitLong);
    // Half-way through the TTL, the agent goes away (a rollout, an eviction) and a new one takes over.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(baseline) + 6_000), waitLong);
    await first.runtime.stop();
    expect((await readWorkload(f, 'half')).spec?.replicas).toBe(1);
    const second = start();
    try {
      await vi.waitFor(async () => expect((await readWorkload(f, 'half')).spec?.replicas).toBe(0), waitLong);
      const state = parseWorkloadState((await readWorkload(f, 'half')).metadata?.annotations);
      expect(state.lastActivity).toBe(baseline); // not reset by the new agent
      const idleMs = Date.parse(state.scaledDownAt ?? '') - Date.parse(baseline);
      expect(idleMs).toBeGreaterThanOrEqual(12_000); // not lost (not slept early)...
      expect(idleMs).toBeLessThan(16_000); // ...and not restarted (that would be ≥ 18 s)
    } finally {
      await second.runtime.stop();
    }
  });
});
