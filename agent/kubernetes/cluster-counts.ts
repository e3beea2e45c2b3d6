import { CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../logging/logger';
import { WatchedCount } from './watched-count';

/** Node and pod counts for heartbeats, from watch-backed caches. */
export class ClusterCounts {
  readonly #nodes: WatchedCount<V1Node>;
  readonly #pods: WatchedCount<V1Pod>;

  constructor(kc: KubeConfig, logger: Logger) {
    const core = kc.makeApiClient(CoreV1Api);
    this.#nodes = new WatchedCount<V1Node>(kc, '/api/v1/nodes', () => core.listNode(), logger);
    this.#pods = new WatchedCount<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces(), logger);
  }

  get nodes(): number {
    return this.#nodes.count;
  }

  get pods(): number {
    return this.#pods.count;
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
