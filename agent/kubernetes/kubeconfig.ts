import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../config/load';

/** $KUBECONFIG (or ~/.kube/config), else the pod's ServiceAccount; an unreadable file is a config error. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (error) {
    const file = process.env.KUBECONFIG ?? '~/.kube/config';
    throw new ConfigError(`config: KUBECONFIG=${file} cannot be loaded: ${(error as Error).message}`);
  }
  return kc;
}

/** A kubeconfig file loaded as-is (tests, benchmarks and the sandbox use explicit files). */
export function kubeConfigFromFile(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}
