import 'server-only';
import { AppsV1Api, AutoscalingV2Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { managedSelector } from '@/agent/workloads/annotations';
import { fromKubeError } from './errors';
import { toManagedWorkload, type ManagedWorkload } from './workload-view';

export type { ManagedWorkload, PodView } from './workload-view';

async function podsIn(kc: KubeConfig, namespaces: string[]): Promise<V1Pod[]> {
  const core = kc.makeApiClient(CoreV1Api);
  // One list per namespace that has managed workloads, instead of one per Deployment.
  const lists = await Promise.all(namespaces.map((namespace) => core.listNamespacedPod({ namespace })));
  return lists.flatMap((list) => list.items);
}

/**
 * Deployments labelled `pipeops.io/managed=true` in every namespace, shaped for the dashboard table:
 * replica counts, pods with their problems, parsed TTL state, the restart time and any HPA.
 */
export async function listManagedWorkloads(kc: KubeConfig): Promise<ManagedWorkload[]> {
  try {
    const deployments = await kc
      .makeApiClient(AppsV1Api)
      .listDeploymentForAllNamespaces({ labelSelector: managedSelector });
    if (deployments.items.length === 0) return [];
    const namespaces = [...new Set(deployments.items.map((d) => d.metadata?.namespace ?? 'default'))];
    const [pods, hpas] = await Promise.all([
      podsIn(kc, namespaces),
      kc.makeApiClient(AutoscalingV2Api).listHorizontalPodAutoscalerForAllNamespaces(),
    ]);
    return deployments.items
      .map((d) => toManagedWorkload(d, pods, hpas.items))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  } catch (error) {
    throw fromKubeError(error, 'listing managed workloads');
  }
}
