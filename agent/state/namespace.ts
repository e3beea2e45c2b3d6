import { existsSync, readFileSync } from 'node:fs';

export const serviceAccountNamespaceFile = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The agent's own namespace: explicit config, the pod's ServiceAccount mount, the pod env, then the default. */
export function resolveAgentNamespace(
  configured: string | undefined,
  podNamespace: string | undefined,
  mountFile = serviceAccountNamespaceFile,
): string {
  if (configured) return configured;
  if (existsSync(/* turbopackIgnore: true */ mountFile)) {
    const fromMount = readFileSync(/* turbopackIgnore: true */ mountFile, 'utf8').trim();
    if (fromMount) return fromMount;
  }
  return podNamespace ?? 'pipeops-system';
}
