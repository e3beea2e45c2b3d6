import net from 'node:net';
import { CoreV1Api, type KubeConfig, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import type { Logger } from '../logging/logger';
import type { TunnelForward } from '../tunnel/forwards';
import type { Clock } from './clock';
import { deploymentKey, type WorkloadRef } from './kube';

/** The workload a tunnel forward leads to, and the Service whose endpoints gate the wake (if any). */
export interface WorkloadMapping {
  key: string;
  service?: WorkloadRef;
}

const serviceHost = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?\.?$/;

/** `<svc>.<ns>.svc` or `<svc>.<ns>.svc.cluster.local` → the Service; anything else → undefined. */
export function parseServiceHost(host: string): WorkloadRef | undefined {
  const match = serviceHost.exec(host.toLowerCase());
  return match ? { namespace: match[3] ?? '', name: match[1] ?? '' } : undefined;
}

/** Loopback and link-local addresses are never Service ClusterIPs: no API lookup for them. */
function maybeClusterIp(host: string): boolean {
  if (!net.isIP(host)) return false;
  return !/^(127\.|169\.254\.|::1$|fe80:)/i.test(host);
}

/** The managed Deployment whose pod template the Service selects (same namespace). */
export function deploymentForService(service: V1Service, deployments: readonly V1Deployment[]): string | undefined {
  const selector = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return undefined;
  const matches = deployments
    .filter((d) => d.metadata?.namespace === service.metadata?.namespace)
    .filter((d) => {
      const labels = d.spec?.template.metadata?.labels ?? {};
      return Object.entries(selector).every(([k, v]) => labels[k] === v);
    })
    .map(deploymentKey)
    .sort();
  return matches[0];
}

export interface ResolverOptions {
  kc: KubeConfig;
  clock: Clock;
  logger: Logger;
  forwards: readonly TunnelForward[];
  deployments: () => readonly V1Deployment[];
  namespace?: string;
}

const positiveTtlMs = 60_000;
const negativeTtlMs = 30_000;

/**
 * Maps a tunnel forward to a managed workload: the forward's explicit `workload`, or the Service its
 * target names (`<svc>.<ns>.svc[.cluster.local]` or the Service's ClusterIP) and the managed Deployment
 * that Service selects. Results are cached per forward (a minute; 30 s for "no workload"), so connections
 * do not cost API calls. The agent's default forwards (API server, kubelet, itself) are never workloads.
 */
export class WorkloadResolver {
  readonly #o: ResolverOptions;
  readonly #cache = new Map<string, { mapping?: WorkloadMapping; until: number }>();

  constructor(options: ResolverOptions) {
    this.#o = options;
  }

  /** Forwards currently known to lead to `key` (cached resolutions only). */
  forwardsFor(key: string): string[] {
    return [...this.#cache.entries()].filter(([, entry]) => entry.mapping?.key === key).map(([name]) => name);
  }

  async resolve(forwardName: string): Promise<WorkloadMapping | undefined> {
    const cached = this.#cache.get(forwardName);
    if (cached && cached.until > this.#o.clock.now()) return cached.mapping;
    const forward = this.#o.forwards.find((candidate) => candidate.name === forwardName);
    let mapping: WorkloadMapping | undefined;
    try {
      mapping = forward && forward.source === 'config' ? await this.#resolveForward(forward) : undefined;
    } catch (error) {
      this.#o.logger.warn(
        { forward: forwardName, err: String(error) },
        'could not map the tunnel forward to a workload',
      );
    }
    const ttl = mapping ? positiveTtlMs : negativeTtlMs;
    this.#cache.set(forwardName, { mapping, until: this.#o.clock.now() + ttl });
    return mapping;
  }

  async #resolveForward(forward: TunnelForward): Promise<WorkloadMapping | undefined> {
    const service = await this.#serviceOf(forward.target.host);
    if (forward.workload) {
      const key = `${forward.workload.namespace}/${forward.workload.name}`;
      const sameNamespace = service && service.metadata?.namespace === forward.workload.namespace;
      return { key, ...(sameNamespace ? { service: this.#ref(service) } : {}) };
    }
    if (!service) return undefined;
    const key = deploymentForService(service, this.#o.deployments());
    return key ? { key, service: this.#ref(service) } : undefined;
  }

  #ref(service: V1Service): WorkloadRef {
    return { namespace: service.metadata?.namespace ?? '', name: service.metadata?.name ?? '' };
  }

  async #serviceOf(host: string): Promise<V1Service | undefined> {
    const core = this.#o.kc.makeApiClient(CoreV1Api);
    const named = parseServiceHost(host);
    if (named) return core.readNamespacedService(named).catch(() => undefined);
    if (!maybeClusterIp(host)) return undefined;
    const ns = this.#o.namespace;
    const list = ns ? await core.listNamespacedService({ namespace: ns }) : await core.listServiceForAllNamespaces();
    return list.items.find((s) => s.spec?.clusterIP === host || (s.spec?.clusterIPs ?? []).includes(host));
  }
}
