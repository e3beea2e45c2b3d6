import 'server-only';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '@/agent/kubernetes/kubeconfig';

const kubeConfigKey = Symbol.for('pipeops.kubeConfig');
type GlobalWithKubeConfig = typeof globalThis & { [kubeConfigKey]?: KubeConfig };

/**
 * The process-wide Kubernetes client configuration: `$KUBECONFIG` (or ~/.kube/config) when present,
 * otherwise the pod's ServiceAccount. Shared through globalThis because Next.js compiles route handlers
 * and instrumentation into separate module graphs.
 */
export function kubeConfig(): KubeConfig {
  const store = globalThis as GlobalWithKubeConfig;
  if (!store[kubeConfigKey]) {
    store[kubeConfigKey] = loadKubeConfig();
  }
  return store[kubeConfigKey];
}
