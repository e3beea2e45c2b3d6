import 'server-only';
import { randomBytes } from 'node:crypto';
import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '@/agent/kubernetes/errors';

/** The data key in the agent's state Secret that holds the backup signing key (32 random bytes). */
export const signingKeyField = 'backup-signing-key';
// Its own field manager: a restore's server-side apply (manager pipeops-dashboard) never owns, and so
// never removes, the key.
const keyFieldManager = 'pipeops-backup-signing';

export interface SigningKey {
  key?: Buffer;
  /** Why there is no key (shown in the backup header), e.g. the agent may not write its Secret. */
  note?: string;
}

function decode(data: Record<string, string> | undefined): Buffer | undefined {
  const value = data?.[signingKeyField];
  const key = value ? Buffer.from(value, 'base64') : undefined;
  return key && key.length >= 32 ? key : undefined;
}

async function readKey(core: CoreV1Api, namespace: string, name: string): Promise<{ exists: boolean; key?: Buffer }> {
  try {
    const secret = await core.readNamespacedSecret({ name, namespace });
    return { exists: true, key: decode(secret.data) };
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return { exists: false };
    throw error;
  }
}

async function createKey(core: CoreV1Api, namespace: string, name: string, exists: boolean): Promise<void> {
  const value = randomBytes(32).toString('base64');
  if (exists) {
    await core.patchNamespacedSecret(
      { name, namespace, body: { data: { [signingKeyField]: value } }, fieldManager: keyFieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return;
  }
  await core.createNamespacedSecret({
    namespace,
    fieldManager: keyFieldManager,
    body: { metadata: { name, namespace }, type: 'Opaque', data: { [signingKeyField]: value } },
  });
}

/**
 * The backup signing key from the agent's Secret. With `create`, a missing key is generated and stored
 * (the Secret is created when it does not exist); a create race is settled by reading again.
 */
export async function loadSigningKey(
  kc: KubeConfig,
  where: { namespace: string; secretName: string },
  options: { create: boolean },
): Promise<SigningKey> {
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace, secretName } = where;
  try {
    const found = await readKey(core, namespace, secretName);
    if (found.key || !options.create) return { key: found.key, note: found.key ? undefined : 'no signing key yet' };
    await createKey(core, namespace, secretName, found.exists).catch((error: unknown) => {
      if (!(error instanceof ApiException && error.code === 409)) throw error;
    });
    const again = await readKey(core, namespace, secretName);
    return again.key ? { key: again.key } : { note: 'the signing key could not be stored' };
  } catch (error) {
    return {
      note: `the agent could not read or store its signing key in Secret ${namespace}/${secretName} (${describeKubeError(error)})`,
    };
  }
}
