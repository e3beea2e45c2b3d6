import {
  CoordinationV1Api,
  V1MicroTime,
  type KubeConfig,
  type V1Lease,
  type V1LeaseSpec,
} from '@kubernetes/client-node';
import { sleep } from '../controlplane/backoff';
import { describeKubeError, statusOf } from '../kubernetes/errors';
import type { Logger } from '../logging/logger';
import type { AgentMetrics } from '../metrics/agent-metrics';
import { supervise } from '../supervision/supervise';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** Unique per replica (pod name plus a random suffix). */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Where the supervisor counts restarts of the election loop and of the leader's work. */
  metrics?: AgentMetrics;
}

export interface LeaderCallbacks {
  /** Runs while this replica leads; the signal aborts when leadership is lost or the elector stops. */
  onStartedLeading: (signal: AbortSignal) => Promise<void>;
  onStoppedLeading: () => void;
  onNewLeader?: (holder: string | undefined) => void;
}

/** The Lease spec with this replica as holder: renewed if it already held it, acquired otherwise. */
function heldSpec(spec: V1LeaseSpec, options: LeaderElectionOptions, mine: boolean): V1LeaseSpec {
  const now = new V1MicroTime();
  return {
    ...spec,
    holderIdentity: options.identity,
    leaseDurationSeconds: Math.ceil(options.leaseDurationMs / 1000),
    renewTime: now,
    acquireTime: mine && spec.acquireTime ? spec.acquireTime : now,
    leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? -1) + 1,
  };
}

export interface LeaderStatus {
  identity: string;
  leader: boolean;
  holder?: string;
  leaderSince?: string;
  lastError?: string;
}

/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: a replica takes the Lease when
 * it is free or its holder has not renewed it for a lease duration (measured on this replica's own clock
 * from when it last saw the record change, so clock skew between nodes does not matter). Every write
 * carries the resourceVersion it read, so two candidates never both win. The leader renews every retry
 * period, gives up if it could not renew within the renew deadline, and releases the Lease on stop so a
 * standby takes over at once.
 */
export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #options: LeaderElectionOptions;
  readonly #callbacks: LeaderCallbacks;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #leading: { abort: AbortController; work: Promise<void> } | undefined;
  #lastRenewAt = 0;
  #held: V1Lease | undefined;
  #observed: { record: string; at: number } | undefined;
  #status: LeaderStatus;

  readonly #metrics: AgentMetrics | undefined;

  constructor(kc: KubeConfig, options: LeaderElectionOptions, callbacks: LeaderCallbacks, logger: Logger) {
    this.#metrics = options.metrics;
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#options = options;
    this.#callbacks = callbacks;
    this.#logger = logger.child({ component: 'leader-election', lease: `${options.namespace}/${options.name}` });
    this.#status = { identity: options.identity, leader: false };
  }

  status(): LeaderStatus {
    return { ...this.#status };
  }

  start(): void {
    this.#loop ??= supervise('leader', () => this.#run(), {
      logger: this.#logger,
      metrics: this.#metrics,
      signal: this.#abort.signal,
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    if (this.#leading) await this.#stepDown('elector stopped');
    await this.#release();
  }

  async #run(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      const acquired = await this.#tryAcquireOrRenew().catch((error: unknown) => this.#failed(error));
      if (acquired) this.#lastRenewAt = Date.now();
      if (acquired && !this.#leading) this.#becomeLeader();
      if (!acquired && this.#leading && Date.now() - this.#lastRenewAt > this.#options.renewDeadlineMs) {
        await this.#stepDown('could not renew the lease within the renew deadline');
      }
      const jitter = this.#leading ? 0 : Math.random() * 0.2 * this.#options.retryPeriodMs;
      await sleep(this.#options.retryPeriodMs + jitter, this.#abort.signal);
    }
  }

  #failed(error: unknown): false {
    const message = describeKubeError(error);
    if (this.#status.lastError !== message) this.#logger.warn({ err: message }, 'leader election request failed');
    this.#status = { ...this.#status, lastError: message };
    return false;
  }

  #becomeLeader(): void {
    const abort = new AbortController();
    this.#status = {
      ...this.#status,
      leader: true,
      holder: this.#options.identity,
      leaderSince: new Date().toISOString(),
    };
    this.#logger.info({ identity: this.#options.identity }, 'Became leader; starting the agent runtime');
    const work = supervise('registration', (signal) => this.#callbacks.onStartedLeading(signal), {
      logger: this.#logger,
      metrics: this.#metrics,
      signal: abort.signal,
    }).then(() => undefined);
    this.#leading = { abort, work };
  }

  async #stepDown(reason: string): Promise<void> {
    const leading = this.#leading;
    if (!leading) return;
    this.#leading = undefined;
    this.#logger.warn({ reason }, 'Lost leadership; stopping the agent runtime');
    leading.abort.abort();
    await leading.work;
    this.#status = { ...this.#status, leader: false, leaderSince: undefined };
    this.#callbacks.onStoppedLeading();
  }

  async #read(): Promise<V1Lease | undefined> {
    try {
      return await this.#api.readNamespacedLease({ name: this.#options.name, namespace: this.#options.namespace });
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * One round: create, renew or take over the Lease. Returns true while this replica holds it. A leader
   * renews straight from the Lease it last wrote (its resourceVersion guards the update), which halves
   * the API requests of a steady leader; a conflict falls back to reading the Lease.
   */
  async #tryAcquireOrRenew(): Promise<boolean> {
    if (await this.#renewHeld()) return true;
    const lease = await this.#read();
    const now = Date.now();
    const spec = lease?.spec ?? {};
    const holder = spec.holderIdentity || undefined;
    this.#observe(lease, holder, now);
    const mine = holder === this.#options.identity;
    if (lease && holder && !mine && !this.#expired(now)) return false;
    const written = await this.#write(lease, heldSpec(spec, this.#options, mine));
    if (written) this.#status = { ...this.#status, holder: this.#options.identity, lastError: undefined };
    return written;
  }

  async #renewHeld(): Promise<boolean> {
    if (!this.#leading || !this.#held) return false;
    return this.#write(this.#held, heldSpec(this.#held.spec ?? {}, this.#options, true)).catch(() => false);
  }

  /** Creates or updates the Lease; false when another writer got there first (409). */
  async #write(lease: V1Lease | undefined, spec: V1LeaseSpec): Promise<boolean> {
    try {
      this.#held = lease
        ? await this.#api.replaceNamespacedLease({
            name: this.#options.name,
            namespace: this.#options.namespace,
            body: { ...lease, spec },
          })
        : await this.#api.createNamespacedLease({
            namespace: this.#options.namespace,
            body: { metadata: { name: this.#options.name, namespace: this.#options.namespace }, spec },
          });
      return true;
    } catch (error) {
      this.#held = undefined;
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  #observe(lease: V1Lease | undefined, holder: string | undefined, now: number): void {
    const record = JSON.stringify([holder, lease?.spec?.renewTime, lease?.metadata?.resourceVersion]);
    if (this.#observed?.record === record) return;
    this.#observed = { record, at: now };
    if (holder !== this.#status.holder) {
      this.#status = { ...this.#status, holder };
      if (holder !== this.#options.identity) this.#logger.info({ holder }, 'Observed leader');
      this.#callbacks.onNewLeader?.(holder);
    }
  }

  #expired(now: number): boolean {
    return this.#observed === undefined || now - this.#observed.at > this.#options.leaseDurationMs;
  }

  /** Hands the Lease back (empty holder) so a standby does not wait out the lease duration. */
  async #release(): Promise<void> {
    try {
      const lease = await this.#read();
      if (!lease || lease.spec?.holderIdentity !== this.#options.identity) return;
      await this.#api.replaceNamespacedLease({
        name: this.#options.name,
        namespace: this.#options.namespace,
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime() },
        },
      });
      this.#logger.info('Released the leader lease');
    } catch (error) {
      this.#logger.warn({ err: describeKubeError(error) }, 'could not release the leader lease');
    }
  }
}
