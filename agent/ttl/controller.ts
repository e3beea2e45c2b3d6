import {
  AppsV1Api,
  AutoscalingV2Api,
  type KubeConfig,
  type V1Deployment,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { fullJitterDelay } from '../controlplane/backoff';
import { describeKubeError } from '../kubernetes/errors';
import { supervise } from '../supervision/supervise';
import { recordEvent } from '../kubernetes/events';
import type { Logger } from '../logging/logger';
import type { AgentMetrics } from '../metrics/agent-metrics';
import { managedSelector, parseWorkloadState, workloadAnnotations, type WorkloadState } from '../workloads/annotations';
import {
  activityAnnotations,
  replicasToRestore,
  scaleDownAnnotations,
  wakeAnnotations,
  type AnnotationPatch,
} from '../workloads/ttl-patches';
import { ActivityTracker } from './activity';
import type { Clock, TimerHandle } from './clock';
import { decide, lastActivityOf, type Decision } from './decide';
import { deploymentKey, keyOf, newerVersion, patchAnnotations, patchScale, refOf } from './kube';
import { TokenBucket } from './rate-limiter';
import { WatchedCache, type CacheEvent } from '../kubernetes/watched-cache';

/** A failed reconcile is retried per workload on the shared capped full-jitter backoff. */
const ttlRetryBackoff = { baseMs: 1_000, capMs: 60_000 };

export interface TtlControllerOptions {
  kc: KubeConfig;
  logger: Logger;
  metrics: AgentMetrics;
  clock: Clock;
  /** Watch only this namespace (namespace-scoped installs, tests); all namespaces when unset. */
  namespace?: string;
  defaultMinUptimeMs: number;
  maxWritesPerSecond: number;
  activityDebounceMs: number;
  /** A scale-up without activity this soon after our scale-down means another controller owns replicas. */
  conflictWindowMs?: number;
  /** Upper bound for the replicas a wake restores (a corrupted annotation must not scale to 10⁹). */
  maxRestoreReplicas?: number;
  /** True while a tunnel connection to the workload is open (it counts as continuous activity). */
  isConnected?: (key: string) => boolean;
}

export interface WakeWrite {
  scaled: boolean;
  from: number;
  to: number;
}

export interface TtlStatus {
  synced: boolean;
  lastError?: string;
  counts: Record<'awake' | 'asleep' | 'skipped' | 'invalid' | 'ignored', number>;
  skipped: { workload: string; reason: string }[];
}

const defaultConflictWindowMs = 120_000;

function specReplicas(deployment: V1Deployment): number {
  return deployment.spec?.replicas ?? 1;
}

function wakeSourceLabel(source: string): string {
  const kind = source.split(':')[0] ?? 'other';
  return ['tunnel', 'api', 'dashboard', 'external-scale-up'].includes(kind) ? kind : 'other';
}

/**
 * The TTL controller (leader only). It keeps a watch on managed Deployments (label selector) and on
 * HPAs, decides per workload with the pure `decide()`, and acts only through a metadata merge patch (its
 * state, in annotations) and the `deployments/scale` subresource: the pod template is never touched, so a
 * sleep/wake cycle never rolls out. Each workload has a timer for its next deadline instead of a polling
 * loop; writes go through a token bucket; per-workload locks serialise a scale-down with a wake.
 */
export class TtlController {
  readonly tracker: ActivityTracker;
  readonly #o: TtlControllerOptions;
  readonly #logger: Logger;
  readonly #bucket: TokenBucket;
  readonly #deployments: WatchedCache<V1Deployment>;
  readonly #hpas: WatchedCache<V2HorizontalPodAutoscaler>;
  readonly #queue = new Set<string>();
  readonly #timers = new Map<string, TimerHandle>();
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Objects returned by our own writes, newer than the watch cache until the watch catches up. */
  readonly #latest = new Map<string, V1Deployment>();
  readonly #seenReplicas = new Map<string, number>();
  readonly #conflicts = new Map<string, string>();
  /** The last Warning per workload, so a bad annotation produces one Event, not one per reconcile. */
  readonly #warned = new Map<string, string>();
  readonly #listeners = new Set<(key: string) => void>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #decisions = new Map<string, Decision['kind']>();
  #draining: Promise<void> | undefined;
  #stopped = false;
  #abort = new AbortController();
  /** Consecutive failed reconciles per workload: the retry backs off on the shared policy. */
  readonly #failures = new Map<string, number>();

  constructor(options: TtlControllerOptions) {
    this.#o = options;
    this.#logger = options.logger.child({ component: 'ttl' });
    this.#bucket = new TokenBucket(options.clock, options.maxWritesPerSecond);
    this.tracker = new ActivityTracker({
      clock: options.clock,
      debounceMs: options.activityDebounceMs,
      flush: (key, activity) => this.#track(this.#flushActivity(key, activity.at, activity.source)),
      onError: (key, error) =>
        this.#logger.warn({ workload: key, err: describeKubeError(error) }, 'activity not recorded on the workload'),
    });
    const apps = options.kc.makeApiClient(AppsV1Api);
    const autoscaling = options.kc.makeApiClient(AutoscalingV2Api);
    const ns = options.namespace;
    this.#deployments = new WatchedCache<V1Deployment>(
      options.kc,
      {
        path: ns ? `/apis/apps/v1/namespaces/${ns}/deployments` : '/apis/apps/v1/deployments',
        labelSelector: managedSelector,
        list: () =>
          ns
            ? apps.listNamespacedDeployment({ namespace: ns, labelSelector: managedSelector })
            : apps.listDeploymentForAllNamespaces({ labelSelector: managedSelector }),
      },
      options.logger,
      (event, deployment) => this.#onDeployment(event, deployment),
    );
    this.#hpas = new WatchedCache<V2HorizontalPodAutoscaler>(
      options.kc,
      {
        path: ns
          ? `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`
          : '/apis/autoscaling/v2/horizontalpodautoscalers',
        list: () =>
          ns
            ? autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: ns })
            : autoscaling.listHorizontalPodAutoscalerForAllNamespaces(),
      },
      options.logger,
      (_event, hpa) => this.#onHpa(hpa),
    );
    options.metrics.ttlSource = (): Record<string, number> => this.status().counts;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#abort = new AbortController();
    // HPAs first: a Deployment must never be judged before we know whether an HPA owns it.
    await this.#hpas.start();
    await this.#deployments.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    this.tracker.stop();
    for (const timer of this.#timers.values()) this.#o.clock.clearTimer(timer);
    this.#timers.clear();
    await Promise.all([this.#deployments.stop(), this.#hpas.stop()]);
    await this.#draining;
    await Promise.allSettled([...this.#pending]);
  }

  /** The Deployment as the controller knows it: the watch cache, or our own newer write. */
  view(key: string): V1Deployment | undefined {
    const { namespace, name } = refOf(key);
    const cached = this.#deployments.get(namespace, name);
    const latest = this.#latest.get(key);
    if (!cached) return undefined;
    if (latest && newerVersion(latest.metadata?.resourceVersion, cached.metadata?.resourceVersion)) return latest;
    this.#latest.delete(key);
    return cached;
  }

  /** Managed Deployments in the cache (for mapping a Service to its workload). */
  deployments(): readonly V1Deployment[] {
    return this.#deployments.list();
  }

  get synced(): boolean {
    return this.#deployments.synced && this.#hpas.synced;
  }

  /** Called on every change of a managed Deployment (readiness waits). */
  onChange(listener: (key: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs `work` with the workload's lock held: a wake and a scale-down never interleave. */
  async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.#locks.set(key, tail);
    void tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    });
    return run;
  }

  /**
   * Restores the original replicas of a sleeping workload (caller holds the lock). Activity and `woken-at`
   * are written before the scale-up, so the watch event of the scale-up is never mistaken for another
   * controller's. A wake does not wait for the rate limiter: a user is waiting on it.
   */
  async wakeLocked(key: string, source: string): Promise<WakeWrite> {
    const deployment = this.view(key);
    if (!deployment) throw new Error(`Deployment ${key} is not a managed workload (label ${managedSelector})`);
    const from = specReplicas(deployment);
    if (from > 0) return { scaled: false, from, to: from };
    const state = parseWorkloadState(deployment.metadata?.annotations);
    const to = replicasToRestore(state.originalReplicas, this.#o.maxRestoreReplicas ?? 100);
    const now = this.#o.clock.now();
    this.#bucket.takeNow();
    await this.#patch(key, wakeAnnotations(now, source));
    this.tracker.written(key, { at: now, source });
    this.#bucket.takeNow();
    await this.#scale(key, to);
    this.#o.metrics.ttlWakes.inc({ source: wakeSourceLabel(source) });
    this.#logger.info({ workload: key, source, replicas: to }, 'TTL wake: restoring the original replicas');
    this.#event(key, { reason: 'Woken', message: `woken by ${source}: replicas 0 → ${to}` });
    return { scaled: true, from, to };
  }

  /** Resolves once queued work, writes and Events are done and the watch has caught up (tests, bench). */
  async settled(timeoutMs = 30_000): Promise<void> {
    const started = Date.now();
    while (!this.#isSettled()) {
      if (Date.now() - started > timeoutMs) throw new Error('TTL controller did not settle');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  #isSettled(): boolean {
    if (this.#queue.size > 0 || this.#draining || this.#pending.size > 0) return false;
    for (const key of this.#latest.keys()) if (this.view(key) === this.#latest.get(key)) return false;
    return true;
  }

  status(): TtlStatus {
    const counts: TtlStatus['counts'] = { awake: 0, asleep: 0, skipped: 0, invalid: 0, ignored: 0 };
    const skipped: TtlStatus['skipped'] = [];
    for (const deployment of this.#deployments.list()) {
      const key = deploymentKey(deployment);
      const state = parseWorkloadState(deployment.metadata?.annotations);
      const kind = this.#decisions.get(key);
      if (kind === 'invalid') counts.invalid += 1;
      else if (kind === 'ignore' || !state.ttl) counts.ignored += 1;
      else if (kind === 'skip') {
        counts.skipped += 1;
        skipped.push({ workload: key, reason: state.ttlSkipped ?? 'skipped' });
      } else if (specReplicas(deployment) === 0) counts.asleep += 1;
      else counts.awake += 1;
    }
    return {
      synced: this.synced,
      lastError: this.#deployments.lastError ?? this.#hpas.lastError,
      counts,
      skipped,
    };
  }

  // ---- watch events ----

  #onDeployment(event: CacheEvent, deployment: V1Deployment): void {
    const key = deploymentKey(deployment);
    if (event === 'delete') {
      this.#forget(key);
    } else {
      this.#detectConflict(key, deployment);
      this.#enqueue(key);
    }
    for (const listener of this.#listeners) listener(key);
  }

  #onHpa(hpa: V2HorizontalPodAutoscaler): void {
    const target = hpa.spec?.scaleTargetRef;
    if (target?.kind !== 'Deployment') return;
    this.#enqueue(keyOf({ namespace: hpa.metadata?.namespace ?? '', name: target.name }));
  }

  #hpaFor(key: string): string | undefined {
    const { namespace, name } = refOf(key);
    const hpa = this.#hpas
      .list()
      .find(
        (h) =>
          h.metadata?.namespace === namespace &&
          h.spec?.scaleTargetRef.kind === 'Deployment' &&
          h.spec.scaleTargetRef.name === name,
      );
    return hpa?.metadata?.name;
  }

  /**
   * 0 → N while our scale-down marker is still there and nobody recorded activity, right after we scaled
   * it down: another controller (Argo CD self-heal, a GitOps loop, an operator) owns the replica count.
   * Fighting it would flap forever, so the workload is left alone and the reason is written on it.
   */
  #detectConflict(key: string, deployment: V1Deployment): void {
    const replicas = specReplicas(deployment);
    const before = this.#seenReplicas.get(key);
    this.#seenReplicas.set(key, replicas);
    if (before !== 0 || replicas === 0) return;
    const state = parseWorkloadState(deployment.metadata?.annotations);
    const scaledDownAt = state.scaledDownAt ? Date.parse(state.scaledDownAt) : undefined;
    if (scaledDownAt === undefined || !state.ttl) return;
    const activity = lastActivityOf(this.#input(key, deployment, state));
    if (activity && activity.at > scaledDownAt) return;
    const elapsed = this.#o.clock.now() - scaledDownAt;
    if (elapsed > (this.#o.conflictWindowMs ?? defaultConflictWindowMs)) return;
    this.#conflicts.set(
      key,
      `conflict: scaled back to ${replicas} by someone else ${Math.max(0, Math.round(elapsed / 1000))}s after the TTL scale-down, with no activity; another controller manages its replicas. Remove this annotation to let the TTL apply again`,
    );
  }

  // ---- the work queue ----

  #enqueue(key: string): void {
    if (this.#stopped) return;
    this.#queue.add(key);
    this.#draining ??= supervise('ttl', () => this.#drain(), {
      logger: this.#logger,
      metrics: this.#o.metrics,
      signal: this.#abort.signal,
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.size > 0 && !this.#stopped) {
      const key = this.#queue.values().next().value as string;
      this.#queue.delete(key);
      const started = performance.now();
      try {
        await this.withLock(key, () => this.#reconcile(key));
        this.#failures.delete(key);
      } catch (error) {
        const failures = this.#failures.get(key) ?? 0;
        this.#failures.set(key, failures + 1);
        const delay = fullJitterDelay(failures, ttlRetryBackoff);
        this.#logger.warn(
          { workload: key, err: describeKubeError(error), retry_in_ms: delay },
          'TTL reconcile failed; retrying',
        );
        this.#schedule(key, this.#o.clock.now() + delay);
      } finally {
        this.#o.metrics.ttlReconcileDuration.observe((performance.now() - started) / 1000);
      }
    }
    this.#draining = undefined;
  }

  #schedule(key: string, at: number): void {
    this.#o.clock.clearTimer(this.#timers.get(key));
    const timer = this.#o.clock.setTimer(() => {
      this.#timers.delete(key);
      this.#enqueue(key);
    }, at - this.#o.clock.now());
    this.#timers.set(key, timer);
  }

  #forget(key: string): void {
    this.#o.clock.clearTimer(this.#timers.get(key));
    this.#timers.delete(key);
    this.#latest.delete(key);
    this.#seenReplicas.delete(key);
    this.#conflicts.delete(key);
    this.#warned.delete(key);
    this.#decisions.delete(key);
    this.tracker.forget(key);
  }

  #input(key: string, deployment: V1Deployment, state: WorkloadState): Parameters<typeof decide>[0] {
    return {
      now: this.#o.clock.now(),
      replicas: specReplicas(deployment),
      state,
      hpa: this.#hpaFor(key),
      recentActivity: this.tracker.latest(key),
      connected: this.#o.isConnected?.(key) ?? false,
      defaultMinUptimeMs: this.#o.defaultMinUptimeMs,
    };
  }

  #decideNow(key: string): { deployment: V1Deployment; state: WorkloadState; decision: Decision } | undefined {
    const deployment = this.view(key);
    if (!deployment) return undefined;
    const state = parseWorkloadState(deployment.metadata?.annotations);
    return { deployment, state, decision: decide(this.#input(key, deployment, state)) };
  }

  async #reconcile(key: string): Promise<void> {
    const current = this.#decideNow(key);
    if (!current) return;
    this.#o.clock.clearTimer(this.#timers.get(key));
    this.#timers.delete(key);
    const conflict = this.#conflicts.get(key);
    if (conflict) {
      await this.#recordConflict(key, conflict);
      return;
    }
    const { state, decision } = current;
    this.#decisions.set(key, decision.kind);
    if (decision.kind !== 'skip' && state.ttlSkipped?.startsWith('hpa:')) {
      await this.#write(key, { [workloadAnnotations.ttlSkipped]: null });
    }
    if (decision.kind !== 'invalid') this.#warned.delete(key);
    await this.#act(key, decision, state);
  }

  async #act(key: string, decision: Decision, state: WorkloadState): Promise<void> {
    switch (decision.kind) {
      case 'invalid':
        return this.#warnInvalid(key, decision.problems.map((problem) => problem.message).join('; '));
      case 'skip':
        return this.#skip(key, decision.reason, state);
      case 'initialise':
        // First sight of a TTL workload without activity: the TTL counts from now, and survives restarts.
        return this.#write(key, activityAnnotations(this.#o.clock.now(), 'agent:first-seen'));
      case 'externalWake':
        return this.#write(key, wakeAnnotations(this.#o.clock.now(), 'external-scale-up'));
      case 'wake':
        await this.wakeLocked(key, decision.source);
        return;
      case 'wait':
        return this.#schedule(key, decision.at);
      case 'scaleDown':
        return this.#scaleDown(key);
      default:
        return undefined;
    }
  }

  async #scaleDown(key: string): Promise<void> {
    await this.#bucket.take();
    // Waiting for a token took time: decide again with fresh activity before acting.
    const again = this.#decideNow(key);
    if (!again || again.decision.kind !== 'scaleDown') {
      this.#enqueue(key);
      return;
    }
    const { decision, deployment } = again;
    const original = specReplicas(deployment);
    await this.#patch(key, scaleDownAnnotations(this.#o.clock.now(), original, decision.reason));
    this.#bucket.takeNow();
    await this.#scale(key, 0);
    this.#o.metrics.ttlScaleDowns.inc();
    if (decision.flapPrevented) this.#o.metrics.ttlFlapsPrevented.inc();
    this.#logger.info({ workload: key, original_replicas: original, reason: decision.reason }, 'TTL: scaled to 0');
    this.#event(key, {
      reason: 'ScaledToZero',
      message: `scaled to 0 (was ${original}): ${decision.reason}`,
    });
  }

  async #skip(key: string, reason: string, state: WorkloadState): Promise<void> {
    if (state.ttlSkipped === reason) return;
    await this.#write(key, { [workloadAnnotations.ttlSkipped]: reason });
    this.#logger.warn({ workload: key, reason }, 'TTL skipped for this workload');
    this.#event(key, { reason: 'TTLSkipped', message: reason, type: 'Warning' });
  }

  async #recordConflict(key: string, reason: string): Promise<void> {
    this.#conflicts.delete(key);
    this.#decisions.set(key, 'skip');
    await this.#write(key, {
      [workloadAnnotations.ttlSkipped]: reason,
      [workloadAnnotations.scaledDownAt]: null,
      [workloadAnnotations.scaleDownReason]: null,
    });
    this.#logger.warn({ workload: key, reason }, 'TTL stopped: another controller scales this workload back');
    this.#event(key, { reason: 'TTLConflict', message: reason, type: 'Warning' });
  }

  #warnInvalid(key: string, message: string): void {
    if (this.#warned.get(key) === message) return;
    this.#warned.set(key, message);
    this.#logger.warn({ workload: key, problem: message }, 'TTL annotation invalid; workload left alone');
    this.#event(key, { reason: 'InvalidTTL', message: `${message}; the TTL is not applied`, type: 'Warning' });
  }

  async #flushActivity(key: string, at: number, source: string): Promise<void> {
    const deployment = this.view(key);
    if (!deployment) return;
    const written = parseWorkloadState(deployment.metadata?.annotations).lastActivity;
    if (written && Date.parse(written) >= at) return;
    await this.#write(key, activityAnnotations(at, source));
  }

  // ---- writes ----

  /** A rate-limited annotation write (background work). */
  async #write(key: string, patch: AnnotationPatch): Promise<void> {
    await this.#bucket.take();
    await this.#patch(key, patch);
  }

  async #patch(key: string, patch: AnnotationPatch): Promise<void> {
    const updated = await patchAnnotations(this.#o.kc, refOf(key), patch);
    this.#o.metrics.ttlWrites.inc({ kind: 'annotations' });
    this.#latest.set(key, updated);
  }

  async #scale(key: string, replicas: number): Promise<void> {
    const base = this.view(key);
    const resourceVersion = await patchScale(this.#o.kc, refOf(key), replicas);
    this.#o.metrics.ttlWrites.inc({ kind: 'scale' });
    if (!base) return;
    this.#latest.set(key, {
      ...base,
      metadata: { ...base.metadata, resourceVersion },
      spec: { ...base.spec, replicas } as V1Deployment['spec'],
    });
  }

  /** Background work `settled()` waits for. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#pending.add(work);
    void work.then(
      () => this.#pending.delete(work),
      () => this.#pending.delete(work),
    );
    return work;
  }

  /** Events are a courtesy: written in the background, never failing the action they describe. */
  #event(key: string, event: { reason: string; message: string; type?: 'Normal' | 'Warning' }): void {
    const { namespace, name } = refOf(key);
    this.#bucket.takeNow();
    const uid = this.view(key)?.metadata?.uid;
    const written = recordEvent(this.#o.kc, {
      namespace,
      involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', name, namespace, ...(uid ? { uid } : {}) },
      ...event,
    }).then((error) => {
      this.#o.metrics.ttlWrites.inc({ kind: 'event' });
      if (error) this.#logger.debug({ workload: key, err: error }, 'TTL Event not written');
    });
    void this.#track(written);
  }
}
