import { readFile, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export type KubeconfigCredentials = { certFile: string; keyFile: string } | { token: string };

export interface KubeconfigSpec {
  server: string;
  caFile: string;
  user: string;
  credentials: KubeconfigCredentials;
}

const b64 = async (file: string): Promise<string> => (await readFile(file)).toString('base64');

/** Renders a self-contained kubeconfig (certificates embedded) so it can be copied or exported as-is. */
export async function renderKubeconfig(spec: KubeconfigSpec): Promise<string> {
  const user =
    'token' in spec.credentials
      ? { token: spec.credentials.token }
      : {
          'client-certificate-data': await b64(spec.credentials.certFile),
          'client-key-data': await b64(spec.credentials.keyFile),
        };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'pipeops-sandbox',
        cluster: { server: spec.server, 'certificate-authority-data': await b64(spec.caFile) },
      },
    ],
    users: [{ name: spec.user, user }],
    contexts: [{ name: `${spec.user}@pipeops-sandbox`, context: { cluster: 'pipeops-sandbox', user: spec.user } }],
    'current-context': `${spec.user}@pipeops-sandbox`,
    preferences: {},
  });
}

export async function writeKubeconfig(file: string, spec: KubeconfigSpec): Promise<void> {
  await writeFile(file, await renderKubeconfig(spec), { mode: 0o600 });
}
