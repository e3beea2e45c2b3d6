import 'server-only';
import type { V1Deployment, V1LabelSelector, V1Pod, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { parseWorkloadState, restartedAtAnnotation, type WorkloadState } from '@/agent/workloads/annotations';

export interface PodView {
  name: string;
  phase: string;
  ready: boolean;
  node?: string;
  restarts: number;
  /** Why it is not running/ready, e.g. ImagePullBackOff, CrashLoopBackOff, Unschedulable. */
  reason?: string;
}

export interface ManagedWorkload {
  namespace: string;
  name: string;
  replicas: { desired: number; ready: number; available: number; updated: number };
  pods: PodView[];
  state: WorkloadState;
  restartedAt?: string;
  /** The HPA that owns the replica count; scaling from the dashboard is refused while it exists. */
  hpa?: string;
  paused: boolean;
}

/** Label selector semantics of apps/v1 (matchLabels AND every matchExpression). */
export function selectorMatches(selector: V1LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key] ?? '';
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(value);
      case 'NotIn':
        return !has || !(e.values ?? []).includes(value);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
  // An empty selector would match everything; Deployments always have one, but be strict anyway.
  const empty = !selector.matchLabels && !selector.matchExpressions?.length;
  return !empty && byLabel && byExpression;
}

function containerReason(pod: V1Pod): string | undefined {
  const status = pod.status ?? {};
  const statuses = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
  const reasons = statuses.map((s) => s.state?.waiting?.reason ?? s.state?.terminated?.reason);
  return reasons.find((reason) => reason !== undefined && reason !== 'Completed');
}

function unschedulableReason(pod: V1Pod): string | undefined {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  return scheduled?.status === 'False' ? (scheduled.reason ?? 'Unschedulable') : undefined;
}

function podReason(pod: V1Pod): string | undefined {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  return containerReason(pod) ?? pod.status?.reason ?? unschedulableReason(pod);
}

export function podView(pod: V1Pod): PodView {
  const status = pod.status ?? {};
  const ready = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const restarts = (status.containerStatuses ?? []).reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
  const reason = podReason(pod);
  const node = pod.spec?.nodeName;
  return {
    name: pod.metadata?.name ?? '',
    phase: status.phase ?? 'Unknown',
    ready,
    restarts,
    ...(node ? { node } : {}),
    ...(reason ? { reason } : {}),
  };
}

export function hpaFor(deployment: V1Deployment, hpas: V2HorizontalPodAutoscaler[]): string | undefined {
  const hpa = hpas.find(
    (h) =>
      h.metadata?.namespace === deployment.metadata?.namespace &&
      h.spec?.scaleTargetRef.kind === 'Deployment' &&
      h.spec.scaleTargetRef.name === deployment.metadata?.name,
  );
  return hpa?.metadata?.name;
}

function replicaCounts(deployment: V1Deployment): ManagedWorkload['replicas'] {
  const status = deployment.status ?? {};
  return {
    desired: deployment.spec?.replicas ?? 1,
    ready: status.readyReplicas ?? 0,
    available: status.availableReplicas ?? 0,
    updated: status.updatedReplicas ?? 0,
  };
}

function podsOf(deployment: V1Deployment, pods: V1Pod[]): PodView[] {
  const namespace = deployment.metadata?.namespace;
  const selector = deployment.spec?.selector;
  return pods
    .filter((p) => p.metadata?.namespace === namespace && selectorMatches(selector, p.metadata?.labels))
    .map(podView)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One dashboard table row: a Deployment with its pods (matched by its selector), TTL state and HPA. */
export function toManagedWorkload(
  deployment: V1Deployment,
  pods: V1Pod[],
  hpas: V2HorizontalPodAutoscaler[],
): ManagedWorkload {
  const metadata = deployment.metadata ?? {};
  const restartedAt = deployment.spec?.template.metadata?.annotations?.[restartedAtAnnotation];
  const hpa = hpaFor(deployment, hpas);
  return {
    namespace: metadata.namespace ?? '',
    name: metadata.name ?? '',
    replicas: replicaCounts(deployment),
    pods: podsOf(deployment, pods),
    state: parseWorkloadState(metadata.annotations),
    paused: deployment.spec?.paused === true,
    ...(restartedAt ? { restartedAt } : {}),
    ...(hpa ? { hpa } : {}),
  };
}
