import { CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../logging/logger';
import { WatchedCache } from './watched-cache';

/** Node and pod counts for heartbeats, from watch-backed caches. */
export class ClusterCounts {
  readonly #nodes: WatchedCache<V1Node>;
  readonly #pods: WatchedCache<V1Pod>;

  constructor(kc: KubeConfig, logger: Logger) {
    const core = kc.makeApiClient(CoreV1Api);
    this.#nodes = new WatchedCache<V1Node>(kc, { path: '/api/v1/nodes', list: () => core.listNode() }, logger);
    this.#pods = new WatchedCache<V1Pod>(
      kc,
      { path: '/api/v1/pods', list: () => core.listPodForAllNamespaces() },
      logger,
    );
  }

  get nodes(): number {
    return this.#nodes.list().length;
  }

  get pods(): number {
    return this.#pods.list().length;
  }

  get synced(): boolean {
    return this.#nodes.synced && this.#pods.synced;
  }

  get lastError(): string | undefined {
    return this.#nodes.lastError ?? this.#pods.lastError;
  }

  async start(): Promise<void> {
    await Promise.all([this.#nodes.start(), this.#pods.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.#nodes.stop(), this.#pods.stop()]);
  }
}
