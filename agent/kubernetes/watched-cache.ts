import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import { fullJitterDelay } from '../controlplane/backoff';
import type { Logger } from '../logging/logger';
import { describeKubeError } from './errors';

export type CacheEvent = 'add' | 'update' | 'delete';

/**
 * A watch-backed cache (one LIST at start, then a WATCH resumed from the last resourceVersion; never a
 * polling LIST loop) that reports every change; heartbeat counts and the TTL controller read from these.
 * client-node 2.x's informer reconnects by itself when the API server closes a watch, when its 30 s
 * inactivity timeout fires and after 410 Gone (it lists again), but it still stops for good on any other
 * error: a failed LIST, a refused or reset connection (an API server restart), 403, 5xx. Those restart it
 * here with a capped exponential backoff, resuming from the resourceVersion it had, so no change is
 * delivered twice.
 */
export class WatchedCache<T extends KubernetesObject> {
  readonly #informer: Informer<T> & ObjectCache<T>;
  readonly #logger: Logger;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #synced = false;
  #lastError: string | undefined;

  constructor(
    kc: KubeConfig,
    spec: { path: string; list: () => Promise<KubernetesListObject<T>>; labelSelector?: string },
    logger: Logger,
    onChange: (event: CacheEvent, object: T) => void = (): void => undefined,
  ) {
    // The informer's own 'connect' fires before its LIST or WATCH has succeeded, so health comes from
    // a LIST that answered or an event that arrived.
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await spec.list();
      this.#healthy();
      return result;
    };
    this.#informer = makeInformer(kc, spec.path, list, spec.labelSelector);
    this.#logger = logger.child({ component: 'watch', path: spec.path });
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#informer.on(event, (object) => {
        this.#healthy();
        onChange(event, object);
      });
    }
    this.#informer.on('error', (error: unknown) => this.#restartLater(error));
  }

  #healthy(): void {
    this.#synced = true;
    this.#failures = 0;
    this.#lastError = undefined;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  get(namespace: string, name: string): T | undefined {
    return this.#informer.get(name, namespace);
  }

  list(): readonly T[] {
    return this.#informer.list();
  }

  async start(): Promise<void> {
    this.#stopped = false;
    try {
      await this.#informer.start();
    } catch (error) {
      this.#restartLater(error);
    }
  }

  #restartLater(error: unknown): void {
    if (this.#stopped) return;
    this.#lastError = describeKubeError(error);
    const delay = fullJitterDelay(this.#failures++, { baseMs: 500, capMs: 30_000 });
    this.#logger.warn({ err: this.#lastError, retry_in_ms: delay }, 'watch failed; restarting');
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.start(), delay);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#informer.stop();
  }
}
