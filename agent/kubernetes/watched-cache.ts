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
 * A watch-backed cache (one LIST at start and after a failed watch, then a WATCH; never a polling LIST
 * loop) that reports every change; heartbeat counts and the TTL controller read from these. client-node's informer stops on errors other than 410 Gone, so it is
 * restarted here with a capped exponential backoff.
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
    this.#informer = makeInformer(kc, spec.path, spec.list, spec.labelSelector);
    this.#logger = logger.child({ component: 'watch', path: spec.path });
    this.#informer.on('add', (object) => onChange('add', object));
    this.#informer.on('update', (object) => onChange('update', object));
    this.#informer.on('delete', (object) => onChange('delete', object));
    this.#informer.on('connect', () => {
      this.#synced = true;
      this.#failures = 0;
      this.#lastError = undefined;
    });
    this.#informer.on('error', (error: unknown) => this.#restartLater(error));
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
