import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { AnnotationPatch } from '../workloads/ttl-patches';

/** The field manager of every TTL write, so `managedFields` says who changed what. */
export const ttlFieldManager = 'pipeops-agent-ttl';

export interface WorkloadRef {
  namespace: string;
  name: string;
}

export function keyOf(ref: WorkloadRef): string {
  return `${ref.namespace}/${ref.name}`;
}

export function refOf(key: string): WorkloadRef {
  const [namespace = '', name = ''] = key.split('/');
  return { namespace, name };
}

export function deploymentKey(deployment: V1Deployment): string {
  return `${deployment.metadata?.namespace ?? ''}/${deployment.metadata?.name ?? ''}`;
}

/** A JSON merge patch of metadata.annotations only: never the spec, so never a rollout. */
export async function patchAnnotations(
  kc: KubeConfig,
  ref: WorkloadRef,
  patch: AnnotationPatch,
): Promise<V1Deployment> {
  return kc
    .makeApiClient(AppsV1Api)
    .patchNamespacedDeployment(
      { ...ref, body: { metadata: { annotations: patch } }, fieldManager: ttlFieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

/** Replicas through the scale subresource only; returns the Deployment's new resourceVersion. */
export async function patchScale(kc: KubeConfig, ref: WorkloadRef, replicas: number): Promise<string | undefined> {
  const scale = await kc
    .makeApiClient(AppsV1Api)
    .patchNamespacedDeploymentScale(
      { ...ref, body: { spec: { replicas } }, fieldManager: ttlFieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  return scale.metadata?.resourceVersion;
}

/** True when `a` is a newer resourceVersion than `b` (etcd revisions are integers; otherwise "different"). */
export function newerVersion(a: string | undefined, b: string | undefined): boolean {
  if (!a) return false;
  if (!b) return true;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}
