import { AppsV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { restartApiServer } from '../../sandbox/cluster/cluster';
import {
  annotateAsAdmin,
  captureLogger,
  createWorkload,
  removeTtlFixtures,
  ttlFixtures,
  type TtlFixtures,
} from '../ttl/test-fixtures';
import { WatchedCache, type CacheEvent } from './watched-cache';

interface Seen {
  event: CacheEvent;
  name: string;
  resourceVersion: string;
}

// The cache's restart backoff is capped at 30 s and a restarted kube-apiserver needs up to ~20 s on a
// loaded 2-core machine to answer /readyz: the waits below leave room for both several times over.
const recovery = { timeout: 120_000, interval: 200 };

describe('WatchedCache across a kube-apiserver restart (client-node 2.x ListWatch)', () => {
  const sandbox = inject('sandbox');
  let f: TtlFixtures;
  let cache: WatchedCache<V1Deployment>;
  const seen: Seen[] = [];
  const { logger, lines } = captureLogger('warn');

  beforeAll(async () => {
    f = await ttlFixtures(sandbox, 'watch-restart');
    const apps = f.agent.makeApiClient(AppsV1Api);
    const selector = 'pipeops.io/managed=true';
    // The TTL controller's own watch, as the agent's restricted ServiceAccount.
    cache = new WatchedCache<V1Deployment>(
      f.agent,
      {
        path: `/apis/apps/v1/namespaces/${f.namespace}/deployments`,
        labelSelector: selector,
        list: () => apps.listNamespacedDeployment({ namespace: f.namespace, labelSelector: selector }),
      },
      logger,
      (event, d) =>
        seen.push({ event, name: d.metadata?.name ?? '', resourceVersion: d.metadata?.resourceVersion ?? '' }),
    );
    await cache.start();
  });

  afterAll(async () => {
    await cache?.stop();
    if (f) await removeTtlFixtures(f);
  });

  it('recovers by itself and delivers every change once, before and after the restart', async () => {
    await createWorkload(f, 'before-a');
    await createWorkload(f, 'before-b');
    await vi.waitFor(() => expect(cache.list().map((d) => d.metadata?.name)).toContain('before-b'), recovery);

    await restartApiServer({ name: sandbox.name });

    // Written as soon as the new API server answers, while the cache may still be backing off.
    await annotateAsAdmin(f, 'before-a', { 'test/after-restart': 'yes' });
    await createWorkload(f, 'after-c');
    await f.admin.makeApiClient(AppsV1Api).deleteNamespacedDeployment({ name: 'before-b', namespace: f.namespace });

    const server = async (): Promise<Map<string, string>> => {
      const list = await f.admin.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: f.namespace });
      return new Map(list.items.map((d) => [d.metadata?.name ?? '', d.metadata?.resourceVersion ?? '']));
    };
    await vi.waitFor(async () => {
      const cached = new Map(cache.list().map((d) => [d.metadata?.name ?? '', d.metadata?.resourceVersion ?? '']));
      expect(cached).toEqual(await server());
      expect(cache.get(f.namespace, 'before-a')?.metadata?.annotations?.['test/after-restart']).toBe('yes');
    }, recovery);

    // The restart really broke the watch, and the cache said so and came back.
    expect(lines.some((l) => l.msg === 'watch failed; restarting')).toBe(true);
    expect(cache.synced).toBe(true);
    expect(cache.lastError).toBeUndefined();

    // No event twice (same object, same resourceVersion), and each object's life reads add → update* → delete.
    const keys = seen.map((s) => `${s.event} ${s.name} ${s.resourceVersion}`);
    expect(keys.length).toBe(new Set(keys).size);
    for (const name of ['before-a', 'before-b', 'after-c']) {
      const story = seen.filter((s) => s.name === name).map((s) => s.event);
      expect(story[0], `${name}: ${story.join(', ')}`).toBe('add');
      expect(
        story.filter((e) => e === 'add'),
        `${name}: ${story.join(', ')}`,
      ).toHaveLength(1);
    }
    expect(seen.filter((s) => s.name === 'before-b').at(-1)?.event).toBe('delete');
    expect(seen.some((s) => s.name === 'before-a' && s.event === 'update')).toBe(true);
  }, 360_000);
});
