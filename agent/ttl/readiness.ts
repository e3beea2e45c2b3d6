import { Watch, type KubeConfig, type V1Deployment, type V1EndpointSlice } from '@kubernetes/client-node';
import type { Clock } from './clock';
import type { WorkloadRef } from './kube';

/** At least one replica ready, as observed by the Deployment controller after the latest spec change. */
export function deploymentReady(deployment: V1Deployment | undefined): boolean {
  if (!deployment) return false;
  const generation = deployment.metadata?.generation ?? 0;
  const observed = deployment.status?.observedGeneration ?? 0;
  return (deployment.spec?.replicas ?? 1) > 0 && observed >= generation && (deployment.status?.readyReplicas ?? 0) >= 1;
}

/** An endpoint ready to receive traffic (`ready` unset means ready, per the EndpointSlice API). */
export function sliceHasReadyEndpoint(slice: V1EndpointSlice): boolean {
  return (slice.endpoints ?? []).some(
    (endpoint) => endpoint.conditions?.ready !== false && endpoint.addresses.length > 0,
  );
}

export class WakeTimeoutError extends Error {
  override readonly name = 'WakeTimeoutError';
}

/** Resolves when `check()` is true: checked now and on every `subscribe` notification; bounded. */
export function waitUntil(
  spec: { clock: Clock; timeoutMs: number; what: string; signal?: AbortSignal },
  check: () => boolean,
  subscribe: (notify: () => void) => () => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (error?: Error): void => {
      unsubscribe();
      spec.clock.clearTimer(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onAbort = (): void => finish(new Error('connection closed while waiting'));
    const unsubscribe = subscribe(() => {
      if (check()) finish();
    });
    const timer = spec.clock.setTimer(
      () => finish(new WakeTimeoutError(`${spec.what} not ready within ${spec.timeoutMs / 1000}s`)),
      spec.timeoutMs,
    );
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    if (check()) finish();
  });
}

/**
 * Waits for a ready endpoint in the Service's EndpointSlices with one short-lived WATCH (it starts with
 * the existing slices as ADDED events, so no LIST is needed). This is what a client connecting through
 * the Service needs; a Deployment's readyReplicas runs ahead of endpoint propagation (Sablier #131).
 */
export async function waitForEndpoint(
  kc: KubeConfig,
  service: WorkloadRef,
  spec: { clock: Clock; timeoutMs: number; signal?: AbortSignal },
): Promise<void> {
  let ready = false;
  let notify: () => void = () => undefined;
  const request = await new Watch(kc).watch(
    `/apis/discovery.k8s.io/v1/namespaces/${service.namespace}/endpointslices`,
    { labelSelector: `kubernetes.io/service-name=${service.name}` },
    (phase: string, slice: V1EndpointSlice) => {
      if (phase !== 'DELETED' && sliceHasReadyEndpoint(slice)) ready = true;
      notify();
    },
    () => notify(),
  );
  try {
    await waitUntil(
      { ...spec, what: `Service ${service.namespace}/${service.name}` },
      // A failed watch leaves `ready` false: the bounded wait then reports the timeout with its reason.
      () => ready,
      (callback) => {
        notify = callback;
        return () => {
          notify = () => undefined;
        };
      },
    );
  } finally {
    request.abort();
  }
}
