import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from '../logging/logger';
import { describeKubeError } from './errors';

/**
 * A count kept current by a watch (one LIST at start and after a watch error, never per read). The
 * client's informer stops on errors other than 410 Gone, so it is restarted here with a capped backoff.
 */
export class WatchedCount<T extends KubernetesObject> {
  readonly #informer: Informer<T> & ObjectCache<T>;
  readonly #logger: Logger;
  #stopped = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #synced = false;
  #lastError: string | undefined;

  constructor(kc: KubeConfig, path: string, list: () => Promise<KubernetesListObject<T>>, logger: Logger) {
    this.#informer = makeInformer(kc, path, list);
    this.#logger = logger.child({ component: 'watch', path });
    this.#informer.on('connect', () => {
      this.#synced = true;
      this.#failures = 0;
      this.#lastError = undefined;
    });
    this.#informer.on('error', (error: unknown) => this.#restartLater(error));
  }

  get count(): number {
    return this.#informer.list().length;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** The cached objects (for callers that need more than the count). */
  items(): readonly T[] {
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
    const delay = Math.min(30_000, 500 * 2 ** this.#failures++);
    this.#logger.warn({ err: this.#lastError, retry_in_ms: delay }, 'watch failed; restarting');
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => void this.start(), delay);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    await this.#informer.stop();
  }
}
