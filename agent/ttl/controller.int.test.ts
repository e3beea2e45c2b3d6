import { AutoscalingV2Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { AgentMetrics } from '../metrics/agent-metrics';
import { parseWorkloadState, workloadAnnotations as a } from '../workloads/annotations';
import { workloadPhase } from '../workloads/phase';
import { timestamp, wakeAnnotations } from '../workloads/ttl-patches';
import { FakeClock } from './clock';
import { TtlController } from './controller';
import { keyOf } from './kube';
import {
  annotateAsAdmin,
  captureLogger,
  createWorkload,
  eventsFor,
  readWorkload,
  removeTtlFixtures,
  scaleAsAdmin,
  auditSettled,
  scaleWrites,
  ttlFixtures,
  type TtlFixtures,
} from './test-fixtures';
import { WakeCoordinator } from './wake';
import { WorkloadResolver } from './workload-map';

const waitLong = { timeout: 60_000, interval: 100 };

interface Harness {
  clock: FakeClock;
  metrics: AgentMetrics;
  controller: TtlController;
  coordinator: WakeCoordinator;
  lines: Record<string, unknown>[];
}

/** Activity (simulated second → one connection each): bursts of different shapes. */
function simulatedActivity(): Set<number> {
  const activity = new Set<number>([2, 3, 4, 100]);
  for (let t = 300; t <= 340; t += 5) activity.add(t);
  for (let t = 500; t <= 600; t += 2) activity.add(t);
  for (const t of [700, 720, 740]) activity.add(t);
  for (let t = 900; t <= 1700; t += 200) [t, t + 1, t + 2].forEach((s) => activity.add(s));
  return activity;
}

/** The reference model: wake on activity while asleep; sleep once now > max(last + ttl, woken + min uptime). */
function referenceModel(
  activity: Set<number>,
  o: { ttl: number; minUptime: number; seconds: number },
): { expected: { t: number; replicas: number }[]; expectedFlaps: number } {
  const expected: { t: number; replicas: number }[] = [];
  let model = { awake: true, last: 0, woken: -Infinity };
  let expectedFlaps = 0;
  for (let t = 1; t <= o.seconds; t++) {
    const deadline = Math.max(model.last + o.ttl, model.woken + o.minUptime);
    if (model.awake && t > deadline) {
      expected.push({ t, replicas: 0 });
      if (model.last + o.ttl < model.woken + o.minUptime) expectedFlaps += 1;
      model = { ...model, awake: false };
    }
    if (!activity.has(t)) continue;
    if (!model.awake) {
      expected.push({ t, replicas: 1 });
      model = { ...model, awake: true, woken: t };
    }
    model = { ...model, last: t };
  }
  return { expected, expectedFlaps };
}

describe('TTL controller on the sandbox (KWOK pods), driven by a fake clock', () => {
  const sandbox = inject('sandbox');
  let f: TtlFixtures;
  let h: Harness | undefined;

  beforeAll(async () => {
    f = await ttlFixtures(sandbox, 'ttl-ctl');
  });

  afterEach(async () => {
    await h?.controller.stop();
    h = undefined;
  });

  afterAll(async () => {
    await removeTtlFixtures(f);
  });

  async function startController(start: number, options: { defaultMinUptimeMs?: number } = {}): Promise<Harness> {
    const clock = new FakeClock(start);
    const metrics = new AgentMetrics();
    const { logger, lines } = captureLogger();
    const controller = new TtlController({
      kc: f.agent,
      logger,
      metrics,
      clock,
      namespace: f.namespace,
      defaultMinUptimeMs: options.defaultMinUptimeMs ?? 0,
      maxWritesPerSecond: 50,
      activityDebounceMs: 15_000,
    });
    const resolver = new WorkloadResolver({
      kc: f.agent,
      clock,
      logger,
      forwards: [],
      deployments: () => controller.deployments(),
    });
    const coordinator = new WakeCoordinator({
      kc: f.agent,
      clock,
      logger,
      metrics,
      controller,
      resolver,
      wakeTimeoutMs: 120_000,
    });
    await controller.start();
    await vi.waitFor(() => expect(controller.synced).toBe(true), waitLong);
    await controller.settled();
    h = { clock, metrics, controller, coordinator, lines };
    return h;
  }

  /** Advances the fake clock in steps, letting the controller act (against the real API) after each. */
  async function advance(harness: Harness, ms: number, stepMs = 1000): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      harness.clock.advance(Math.min(stepMs, ms - done));
      await harness.controller.settled();
    }
  }

  async function counter(metrics: AgentMetrics, name: string): Promise<number> {
    const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
    return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
  }

  it('30 simulated minutes, TTL 5s, min uptime 60s, bursts of activity: exact scale operations, no 1→0→1 inside the min uptime', async () => {
    const start = Math.floor(Date.now() / 1000) * 1000;
    const testStarted = Date.now();
    await createWorkload(f, 'sim', {
      annotations: { [a.ttl]: '5s', [a.minUptime]: '60s', [a.lastActivity]: timestamp(start) },
    });
    const harness = await startController(start);
    const key = keyOf({ namespace: f.namespace, name: 'sim' });

    const activity = simulatedActivity();
    const { expected, expectedFlaps } = referenceModel(activity, { ttl: 5, minUptime: 60, seconds: 1800 });

    const seen: { t: number; replicas: number }[] = [];
    let replicas = 1;
    const observe = (t: number): void => {
      const now = harness.controller.view(key)?.spec?.replicas ?? -1;
      if (now !== replicas) seen.push({ t, replicas: now });
      replicas = now;
    };
    for (let t = 1; t <= 1800; t++) {
      await advance(harness, 1000);
      observe(t);
      if (activity.has(t)) {
        await harness.coordinator.ensureAwake({ key }, 'tunnel:sim');
        await harness.controller.settled();
        observe(t);
      }
    }

    expect(expected.filter((e) => e.replicas === 0).length).toBe(10);
    expect(expected.filter((e) => e.replicas === 1).length).toBe(9);
    expect(expectedFlaps).toBe(8);
    expect(seen).toEqual(expected);
    // No scale-down within the minimum uptime of the wake before it.
    for (let i = 1; i < seen.length; i++) {
      const [up, down] = [seen[i - 1], seen[i]];
      if (up?.replicas === 1 && down?.replicas === 0) expect(down.t - up.t).toBeGreaterThan(60);
    }
    expect(await counter(harness.metrics, 'pipeops_ttl_scale_downs_total')).toBe(10);
    expect(await counter(harness.metrics, 'pipeops_ttl_wakes_total')).toBe(9);
    expect(await counter(harness.metrics, 'pipeops_ttl_flaps_prevented_total')).toBe(8);
    await auditSettled(f);
    expect(scaleWrites(f, 'sim', testStarted)).toHaveLength(19);
    const live = await readWorkload(f, 'sim');
    expect(live.spec?.replicas).toBe(0);
    expect(parseWorkloadState(live.metadata?.annotations)).toMatchObject({
      originalReplicas: 1,
      scaleDownReason: expect.stringContaining('TTL 5s') as string,
    });
  }, 600_000);

  it('honours a 1 h keep-awake past the TTL, then lets it sleep when the lease expires', async () => {
    const start = Math.floor(Date.now() / 1000) * 1000;
    await createWorkload(f, 'awake', {
      annotations: {
        [a.ttl]: '3s',
        // What the dashboard's "keep awake 1h" writes (server/runbook/actions.ts uses the same helper).
        ...(wakeAnnotations(start, 'dashboard', timestamp(start + 3_600_000)) as Record<string, string>),
      },
    });
    const harness = await startController(start);
    await advance(harness, 3_590_000, 10_000);
    expect((await readWorkload(f, 'awake')).spec?.replicas).toBe(1);
    await advance(harness, 20_000, 1000);
    const live = await readWorkload(f, 'awake');
    expect(live.spec?.replicas).toBe(0);
    const state = parseWorkloadState(live.metadata?.annotations);
    expect(Date.parse(state.scaledDownAt ?? '')).toBeGreaterThan(start + 3_600_000);
    expect(state.scaleDownReason).toContain('last: dashboard');
    await vi.waitFor(async () => expect(await eventsFor(f, 'awake', 'ScaledToZero')).toHaveLength(1), waitLong);
  }, 300_000);

  it('never scales an HPA-targeted Deployment to 0 and says why; resumes when the HPA is gone', async () => {
    const start = Date.now();
    await createWorkload(f, 'scaled', { annotations: { [a.ttl]: '2s', [a.lastActivity]: timestamp(start) } });
    const autoscaling = f.admin.makeApiClient(AutoscalingV2Api);
    await autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace: f.namespace,
      body: {
        metadata: { name: 'scaled-hpa' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'scaled' },
          minReplicas: 1,
          maxReplicas: 3,
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
          ],
        },
      },
    });
    const harness = await startController(start);
    await advance(harness, 120_000, 5000);
    const live = await readWorkload(f, 'scaled');
    expect(live.spec?.replicas).toBeGreaterThanOrEqual(1);
    const state = parseWorkloadState(live.metadata?.annotations);
    expect(state.ttlSkipped).toMatch(/^hpa: the HorizontalPodAutoscaler scaled-hpa owns the replica count/);
    const phase = workloadPhase({ desired: 1, ready: 1, pods: [], state });
    expect(phase.message).toContain('TTL paused (hpa: the HorizontalPodAutoscaler scaled-hpa');
    await vi.waitFor(async () => expect(await eventsFor(f, 'scaled', 'TTLSkipped')).toHaveLength(1), waitLong);
    expect(harness.controller.status().skipped).toEqual([
      { workload: `${f.namespace}/scaled`, reason: state.ttlSkipped },
    ]);

    await autoscaling.deleteNamespacedHorizontalPodAutoscaler({ namespace: f.namespace, name: 'scaled-hpa' });
    await vi.waitFor(async () => {
      await advance(harness, 1000);
      expect((await readWorkload(f, 'scaled')).spec?.replicas).toBe(0);
    }, waitLong);
    expect(parseWorkloadState((await readWorkload(f, 'scaled')).metadata?.annotations).ttlSkipped).toBeUndefined();
  }, 300_000);

  it('reports a bad TTL as a Warning Event and leaves the workload untouched', async () => {
    const start = Date.now();
    const created = await createWorkload(f, 'bad-ttl', { annotations: { [a.ttl]: '5 minutes' } });
    const harness = await startController(start);
    await advance(harness, 600_000, 60_000);
    await vi.waitFor(
      async () =>
        expect(await eventsFor(f, 'bad-ttl', 'InvalidTTL')).toEqual([
          'Warning: pipeops.io/ttl="5 minutes" is not a positive duration such as 300s, 30m, 1h or 1h30m (at most 8760h); the TTL is not applied',
        ]),
      waitLong,
    );
    const live = await readWorkload(f, 'bad-ttl');
    expect(live.spec?.replicas).toBe(1);
    const ours = Object.keys(live.metadata?.annotations ?? {}).filter((k) => k.startsWith('pipeops.io/'));
    expect(ours).toEqual(Object.keys(created.metadata?.annotations ?? {}));
    expect(live.metadata?.managedFields?.map((m) => m.manager)).not.toContain('pipeops-agent-ttl');
    expect(harness.controller.status().counts.invalid).toBe(1);
  }, 120_000);

  it('stops and explains when another controller scales the workload straight back up', async () => {
    const start = Date.now();
    await createWorkload(f, 'fought', { annotations: { [a.ttl]: '5s', [a.lastActivity]: timestamp(start) } });
    const harness = await startController(start);
    await advance(harness, 7000);
    expect((await readWorkload(f, 'fought')).spec?.replicas).toBe(0);
    await scaleAsAdmin(f, 'fought', 1); // e.g. Argo CD self-heal restoring replicas from Git
    await vi.waitFor(async () => {
      await harness.controller.settled();
      const state = parseWorkloadState((await readWorkload(f, 'fought')).metadata?.annotations);
      expect(state.ttlSkipped).toMatch(/^conflict: scaled back to 1 by someone else/);
    }, waitLong);
    await advance(harness, 600_000, 10_000);
    expect((await readWorkload(f, 'fought')).spec?.replicas).toBe(1);
    await vi.waitFor(async () => expect(await eventsFor(f, 'fought', 'TTLConflict')).toHaveLength(1), waitLong);
    expect(await counter(harness.metrics, 'pipeops_ttl_scale_downs_total')).toBe(1);

    // Removing the annotation hands the workload back to the TTL.
    await annotateAsAdmin(f, 'fought', { [a.ttlSkipped]: null, [a.lastActivity]: timestamp(harness.clock.now()) });
    await vi.waitFor(async () => {
      await advance(harness, 1000);
      expect((await readWorkload(f, 'fought')).spec?.replicas).toBe(0);
    }, waitLong);
  }, 300_000);

  it('gates a Service-mapped wake on a ready EndpointSlice endpoint', async () => {
    const start = Date.now();
    await createWorkload(f, 'svc-app', {
      replicas: 0,
      annotations: { [a.ttl]: '1h', [a.originalReplicas]: '1', [a.scaledDownAt]: timestamp(start - 1000) },
    });
    await f.admin.makeApiClient(CoreV1Api).createNamespacedService({
      namespace: f.namespace,
      body: {
        metadata: { name: 'svc-app' },
        spec: { selector: { app: 'svc-app' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    const harness = await startController(start);
    const resolver = new WorkloadResolver({
      kc: f.agent,
      clock: harness.clock,
      logger: captureLogger().logger,
      forwards: [
        {
          name: 'app',
          target: { host: `svc-app.${f.namespace}.svc.cluster.local`, port: 80 },
          fixedRemotePort: 0,
          source: 'config',
        },
      ],
      deployments: () => harness.controller.deployments(),
    });
    const mapping = await resolver.resolve('app');
    expect(mapping).toEqual({ key: `${f.namespace}/svc-app`, service: { namespace: f.namespace, name: 'svc-app' } });
    await harness.coordinator.ensureAwake(mapping!, 'tunnel:app');
    const slices = await f.admin
      .makeApiClient((await import('@kubernetes/client-node')).DiscoveryV1Api)
      .listNamespacedEndpointSlice({ namespace: f.namespace, labelSelector: 'kubernetes.io/service-name=svc-app' });
    const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false);
    expect(ready.length).toBeGreaterThanOrEqual(1);
    expect((await readWorkload(f, 'svc-app')).spec?.replicas).toBe(1);
  }, 120_000);
});
