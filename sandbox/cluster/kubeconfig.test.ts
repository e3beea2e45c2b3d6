import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { renderKubeconfig, type KubeconfigCredentials } from './kubeconfig';

async function fixture(): Promise<{ ca: string; cert: string; key: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeconfig-'));
  const files = { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'c.crt'), key: path.join(dir, 'c.key') };
  await writeFile(files.ca, 'CA PEM');
  await writeFile(files.cert, 'CERT PEM');
  await writeFile(files.key, 'KEY PEM');
  return files;
}

async function loadRendered(user: string, credentials: KubeconfigCredentials): Promise<KubeConfig> {
  const files = await fixture();
  const kc = new KubeConfig();
  kc.loadFromString(await renderKubeconfig({ server: 'https://127.0.0.1:6443', caFile: files.ca, user, credentials }));
  return kc;
}

describe('renderKubeconfig', () => {
  it('embeds the CA and client certificate so the file stands alone', async () => {
    const files = await fixture();
    const kc = await loadRendered('sandbox-admin', { certFile: files.cert, keyFile: files.key });
    expect(kc.getCurrentCluster()).toMatchObject({
      server: 'https://127.0.0.1:6443',
      caData: Buffer.from('CA PEM').toString('base64'),
    });
    expect(kc.getCurrentUser()).toMatchObject({
      name: 'sandbox-admin',
      certData: Buffer.from('CERT PEM').toString('base64'),
      keyData: Buffer.from('KEY PEM').toString('base64'),
    });
  });

  it('writes a bearer token for ServiceAccount identities', async () => {
    const kc = await loadRendered('system:serviceaccount:pipeops-system:pipeops-agent', { token: 'abc.def.ghi' });
    expect(kc.getCurrentUser()).toMatchObject({ token: 'abc.def.ghi' });
    expect(kc.getCurrentUser()?.certData).toBeUndefined();
  });
});
