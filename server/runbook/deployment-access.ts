import 'server-only';
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import { managedLabel, managedSelector } from '@/agent/workloads/annotations';
import { RunbookError } from './errors';
import { forbiddenError, permissionsFor, type RunbookAction } from './permissions';
import type { DeploymentTarget } from './schemas';

export const fieldManager = 'pipeops-dashboard';

/** 403 from the API server → which permission the agent lacks; everything else maps as usual. */
async function translate(
  kc: KubeConfig,
  action: RunbookAction,
  target: DeploymentTarget,
  error: unknown,
): Promise<never> {
  if (error instanceof ApiException && error.code === 403) {
    throw await forbiddenError(kc, action, permissionsFor(action, { namespace: target.namespace }), error);
  }
  if (error instanceof ApiException && error.code === 404) {
    throw new RunbookError(404, `Deployment ${target.namespace}/${target.name} not found`);
  }
  throw error;
}

/**
 * Reads the target and refuses Deployments the agent does not manage: the dashboard only shows managed
 * workloads, and its buttons must not become a way to restart or scale anything in the cluster.
 */
export async function readManagedDeployment(
  kc: KubeConfig,
  action: RunbookAction,
  target: DeploymentTarget,
): Promise<V1Deployment> {
  let deployment: V1Deployment;
  try {
    deployment = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment(target);
  } catch (error) {
    return translate(kc, action, target, error);
  }
  if (deployment.metadata?.labels?.[managedLabel] !== 'true') {
    throw new RunbookError(
      409,
      `Deployment ${target.namespace}/${target.name} is not managed by the agent (it lacks the label ${managedSelector})`,
    );
  }
  return deployment;
}

/** Patches the Deployment object itself (annotations, pod template) with the given patch type. */
export async function patchDeployment(
  kc: KubeConfig,
  action: RunbookAction,
  target: DeploymentTarget,
  patch: { body: object; strategy: 'merge' | 'strategic' },
): Promise<V1Deployment> {
  const contentType = patch.strategy === 'merge' ? PatchStrategy.MergePatch : PatchStrategy.StrategicMergePatch;
  try {
    // client-node (1.x and 2.x) defaults PATCH to json-patch; the header option selects the patch type.
    return await kc
      .makeApiClient(AppsV1Api)
      .patchNamespacedDeployment(
        { ...target, body: patch.body, fieldManager },
        setHeaderOptions('Content-Type', contentType),
      );
  } catch (error) {
    return translate(kc, action, target, error);
  }
}

/** Changes replicas through the scale subresource only (what HPAs and `kubectl scale` use). */
export async function patchScale(
  kc: KubeConfig,
  action: RunbookAction,
  target: DeploymentTarget,
  replicas: number,
): Promise<number> {
  try {
    const scale = await kc
      .makeApiClient(AppsV1Api)
      .patchNamespacedDeploymentScale(
        { ...target, body: { spec: { replicas } }, fieldManager },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    return scale.spec?.replicas ?? replicas;
  } catch (error) {
    return translate(kc, action, target, error);
  }
}

/** The HPA that scales this Deployment, if any (its replica count belongs to the HPA). */
export async function hpaTargeting(
  kc: KubeConfig,
  action: RunbookAction,
  target: DeploymentTarget,
): Promise<string | undefined> {
  try {
    const list = await kc
      .makeApiClient(AutoscalingV2Api)
      .listNamespacedHorizontalPodAutoscaler({ namespace: target.namespace });
    const hpa = list.items.find(
      (h) => h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === target.name,
    );
    return hpa?.metadata?.name;
  } catch (error) {
    return translate(kc, action, target, error);
  }
}

export function deploymentRef(deployment: V1Deployment): {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
} {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: deployment.metadata?.namespace ?? '',
    name: deployment.metadata?.name ?? '',
    uid: deployment.metadata?.uid,
  };
}
