import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../logging/logger';
import type { AgentMetrics } from '../metrics/agent-metrics';
import type { TunnelTarget } from '../tunnel/chisel-wire';
import { parseWorkloadState } from '../workloads/annotations';
import { workloadPhase } from '../workloads/phase';
import type { Clock } from './clock';
import type { TtlController } from './controller';
import { deploymentReady, waitForEndpoint, waitUntil, WakeTimeoutError } from './readiness';
import type { WorkloadMapping, WorkloadResolver } from './workload-map';

export interface WakeRecord {
  workload: string;
  source: string;
  at: string;
  ok: boolean;
  /** Scale-up → ready (cold start), when this wake scaled the workload up. */
  durationMs?: number;
  error?: string;
}

export interface WakeCoordinatorOptions {
  kc: KubeConfig;
  clock: Clock;
  logger: Logger;
  metrics: AgentMetrics;
  controller: TtlController;
  resolver: WorkloadResolver;
  wakeTimeoutMs: number;
}

/** Right after a wake, Service endpoints may still be propagating: gate on them, not on readyReplicas. */
const endpointGateMs = 30_000;
const keptWakes = 50;

/**
 * Wake on connect. Every tunnel connection to a forward that maps to a TTL workload counts as activity;
 * if the workload sleeps, the connection is held (the tunnel server keeps the user's socket open) while
 * the original replicas are restored and until a Service endpoint (or, without a Service, a replica) is
 * ready; then it is dialled, so the first request succeeds. All connections arriving meanwhile share the
 * one wake. The wait is bounded: on timeout the channel is refused with the reason, which is logged.
 */
export class WakeCoordinator {
  readonly #o: WakeCoordinatorOptions;
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #recent: WakeRecord[] = [];

  constructor(options: WakeCoordinatorOptions) {
    this.#o = options;
  }

  /** The tunnel's `beforeDial` hook. */
  readonly beforeDial = async (route: { name: string; target: TunnelTarget }, signal: AbortSignal): Promise<void> => {
    const mapping = await this.#o.resolver.resolve(route.name);
    if (!mapping) return;
    await this.ensureAwake(mapping, `tunnel:${route.name}`, signal);
  };

  recentWakes(): readonly WakeRecord[] {
    return this.#recent;
  }

  inFlight(): string[] {
    return [...this.#inflight.keys()];
  }

  /** Records activity, then returns at once if the workload is up, else joins (or starts) its wake. */
  async ensureAwake(mapping: WorkloadMapping, source: string, signal?: AbortSignal): Promise<void> {
    const { key } = mapping;
    const controller = this.#o.controller;
    const deployment = controller.view(key);
    // Not (or no longer) a TTL workload: the connection is dialled as usual and is nobody's activity.
    if (!deployment || !parseWorkloadState(deployment.metadata?.annotations).ttl) return undefined;
    controller.tracker.touch(key, source);
    const running = this.#inflight.get(key);
    if (running) return this.#join(running, signal);
    if (this.#upNow(mapping)) return undefined;
    // Set before any await: every concurrent connection after this one joins the same wake.
    const wake = this.#wake(mapping, source);
    this.#inflight.set(key, wake);
    void wake.then(
      () => this.#inflight.delete(key),
      () => this.#inflight.delete(key),
    );
    return this.#join(wake, signal);
  }

  #upNow(mapping: WorkloadMapping): boolean {
    const cached = this.#o.controller.view(mapping.key);
    if (!deploymentReady(cached)) return false;
    if (!mapping.service) return true;
    const wokenAt = parseWorkloadState(cached?.metadata?.annotations).wokenAt;
    return !wokenAt || this.#o.clock.now() - Date.parse(wokenAt) > endpointGateMs;
  }

  /**
   * Waits for the shared wake. No abort listener per connection on the tunnel's shared signal (20 held
   * connections would be 20 listeners); the wait is bounded by wake_timeout, and a tunnel that stopped
   * meanwhile is checked afterwards.
   */
  async #join(wake: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
    await wake;
    if (signal?.aborted) throw new Error('tunnel closed while the workload was waking');
  }

  async #wake(mapping: WorkloadMapping, source: string): Promise<void> {
    const { key } = mapping;
    const controller = this.#o.controller;
    const write = await controller.withLock(key, () => controller.wakeLocked(key, source));
    const started = performance.now();
    try {
      await this.#ready(mapping);
    } catch (error) {
      throw this.#failed(mapping, source, error);
    }
    const durationMs = performance.now() - started;
    if (write.scaled) {
      this.#o.metrics.ttlWakeDuration.observe(durationMs / 1000);
      this.#o.logger.info(
        { workload: key, source, ready_after_ms: Math.round(durationMs) },
        'TTL wake: workload ready',
      );
    }
    this.#remember({ workload: key, source, ok: true, ...(write.scaled ? { durationMs } : {}) });
  }

  #ready(mapping: WorkloadMapping): Promise<void> {
    const spec = { clock: this.#o.clock, timeoutMs: this.#o.wakeTimeoutMs };
    if (mapping.service) return waitForEndpoint(this.#o.kc, mapping.service, spec);
    const controller = this.#o.controller;
    return waitUntil(
      { ...spec, what: `Deployment ${mapping.key}` },
      () => deploymentReady(controller.view(mapping.key)),
      (notify) => controller.onChange((changed) => changed === mapping.key && notify()),
    );
  }

  #failed(mapping: WorkloadMapping, source: string, error: unknown): Error {
    const timeout = error instanceof WakeTimeoutError;
    const deployment = this.#o.controller.view(mapping.key);
    const phase = workloadPhase({
      desired: deployment?.spec?.replicas ?? 0,
      ready: deployment?.status?.readyReplicas ?? 0,
      pods: [],
      state: parseWorkloadState(deployment?.metadata?.annotations),
      waking: true,
    });
    const message = `workload ${mapping.key} woken but ${error instanceof Error ? error.message : String(error)} (${phase.message}); connection refused`;
    this.#o.metrics.ttlWakeFailures.inc({ reason: timeout ? 'timeout' : 'error' });
    this.#o.logger.warn(
      { workload: mapping.key, source, reason: message },
      'TTL wake failed; refusing the held connection',
    );
    this.#remember({ workload: mapping.key, source, ok: false, error: message });
    return new Error(message);
  }

  #remember(record: Omit<WakeRecord, 'at'>): void {
    this.#recent.push({ ...record, at: new Date(this.#o.clock.now()).toISOString() });
    if (this.#recent.length > keptWakes) this.#recent.shift();
  }
}
