import 'server-only';
import { AuthenticationV1Api, CoreV1Api, VersionApi, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { kubeConfig } from './client';

export type ClusterSummary =
  | {
      reachable: true;
      server: string;
      version: string;
      identity: string;
      nodes: { total: number; ready: number };
    }
  | { reachable: false; server: string; error: string };

function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && 'body' in error) {
    const { code, body } = error as { code: unknown; body: unknown };
    return `HTTP ${String(code)}: ${typeof body === 'string' ? body.slice(0, 300) : 'no body'}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** What the dashboard shows about the Kubernetes API: its version, who we are to it, node readiness. */
export async function getClusterSummary(kc: KubeConfig = kubeConfig()): Promise<ClusterSummary> {
  let server = 'unknown';
  try {
    server = kc.getCurrentCluster()?.server ?? 'in-cluster';
    const [version, review, nodes] = await Promise.all([
      kc.makeApiClient(VersionApi).getCode(),
      kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} }),
      kc.makeApiClient(CoreV1Api).listNode(),
    ]);
    return {
      reachable: true,
      server,
      version: version.gitVersion,
      identity: review.status?.userInfo?.username ?? 'unknown',
      nodes: { total: nodes.items.length, ready: nodes.items.filter(nodeReady).length },
    };
  } catch (error) {
    return { reachable: false, server, error: describeError(error) };
  }
}
