import type { V1Node } from '@kubernetes/client-node';

/**
 * A fake node managed by KWOK (it keeps the node Ready and runs its pods' lifecycle). No taint: every
 * node in the sandbox is fake, so ordinary Deployments schedule without tolerations.
 */
export function kwokNode(index: number): V1Node {
  const name = `kwok-node-${index}`;
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    status: { allocatable: resources, capacity: resources },
  };
}
