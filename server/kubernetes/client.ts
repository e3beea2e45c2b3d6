import 'server-only';
import { KubeConfig } from '@kubernetes/client-node';

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
    const kc = new KubeConfig();
    kc.loadFromDefault();
    store[kubeConfigKey] = kc;
  }
  return store[kubeConfigKey];
}
