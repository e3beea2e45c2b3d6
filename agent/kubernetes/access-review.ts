import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface Permission {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  /** What breaks without it, shown next to the missing permission. */
  neededFor: string;
}

export interface MissingPermission extends Permission {
  /** e.g. `create configmaps in pipeops-system` */
  description: string;
}

export function describePermission(p: Permission): string {
  const resource = p.group ? `${p.resource}.${p.group}` : p.resource;
  return `${p.verb} ${resource} ${p.namespace ? `in ${p.namespace}` : 'cluster-wide'}`;
}

/** What the agent runtime itself needs (not the dashboard's actions, which check their own). */
export function runtimePermissions(namespace: string, leaderElection: boolean): Permission[] {
  const state = 'persisting the agent identity (state ConfigMap)';
  const permissions: Permission[] = [
    { verb: 'get', resource: 'configmaps', namespace, neededFor: state },
    { verb: 'create', resource: 'configmaps', namespace, neededFor: state },
    { verb: 'update', resource: 'configmaps', namespace, neededFor: state },
    { verb: 'list', resource: 'nodes', neededFor: 'node counts in heartbeats' },
    { verb: 'watch', resource: 'nodes', neededFor: 'node counts in heartbeats' },
    { verb: 'list', resource: 'pods', neededFor: 'pod counts in heartbeats' },
    { verb: 'watch', resource: 'pods', neededFor: 'pod counts in heartbeats' },
  ];
  if (leaderElection) {
    for (const verb of ['get', 'create', 'update']) {
      permissions.push({
        verb,
        resource: 'leases',
        group: 'coordination.k8s.io',
        namespace,
        neededFor: 'leader election',
      });
    }
  }
  return permissions;
}

/** Asks the API server (SelfSubjectAccessReview) which of the permissions this identity lacks. */
export async function findMissingPermissions(kc: KubeConfig, permissions: Permission[]): Promise<MissingPermission[]> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const reviews = await Promise.all(
    permissions.map((p) =>
      api.createSelfSubjectAccessReview({
        body: {
          spec: {
            resourceAttributes: { verb: p.verb, resource: p.resource, group: p.group ?? '', namespace: p.namespace },
          },
        },
      }),
    ),
  );
  return permissions
    .filter((_, i) => reviews[i]?.status?.allowed !== true)
    .map((p) => ({ ...p, description: describePermission(p) }));
}
