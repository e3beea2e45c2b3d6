import 'server-only';
import { z } from 'zod';
import { cleanObject, hasRedactedValues, redactionMarker } from './clean';
import { RunbookError } from './errors';
import { parseYamlBounded, restoreYamlLimits } from './yaml-bounded';

export const maxRestoreBytes = restoreYamlLimits.maxBytes;
export const maxRestoreDocuments = restoreYamlLimits.maxDocuments;

const allowedKinds: Record<string, string> = { Deployment: 'apps/v1', ConfigMap: 'v1', Secret: 'v1' };
const allowedText = 'Deployment (apps/v1), ConfigMap (v1) and Secret (v1)';

type Obj = ReturnType<typeof cleanObject>;

export interface RestoreItem {
  /** 1-based position in the YAML stream, used in every message about it. */
  document: number;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  object: Obj;
  /** Why this object is not applied (e.g. Secret values still redacted). */
  skip?: string;
}

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const headerSchema = z.object({
  apiVersion: z.string({ error: 'apiVersion is missing' }),
  kind: z.string({ error: 'kind is missing' }),
  metadata: z.object(
    {
      name: z
        .string({ error: 'metadata.name is missing' })
        .max(253)
        .regex(dnsSubdomain, { error: 'metadata.name is not a valid name' }),
      namespace: z
        .string({ error: 'metadata.namespace is missing (every restored object names its namespace)' })
        .max(63)
        .regex(dnsLabel, { error: 'metadata.namespace is not a valid namespace name' }),
    },
    { error: 'metadata is missing or not a mapping' },
  ),
});

function fail(document: number, what: string): never {
  throw new RunbookError(400, `document ${document}: ${what}; nothing was applied`);
}

function describeOf(value: unknown): string {
  const o = value as { kind?: unknown; metadata?: { name?: unknown } } | null;
  const kind = typeof o?.kind === 'string' ? o.kind : undefined;
  const name = typeof o?.metadata?.name === 'string' ? o.metadata.name : undefined;
  return kind ? ` (${kind}${name ? ` ${name}` : ''})` : '';
}

function toItem(value: unknown, document: number): RestoreItem {
  if (typeof value !== 'object' || Array.isArray(value))
    fail(document, 'is not a Kubernetes object (expected a mapping)');
  const header = headerSchema.safeParse(value);
  const label = `document ${document}${describeOf(value)}`;
  if (!header.success)
    fail(document, `${describeOf(value).trim()} ${header.error.issues.map((i) => i.message).join('; ')}`.trim());
  const { apiVersion, kind, metadata } = header.data;
  if (allowedKinds[kind] !== apiVersion) {
    throw new RunbookError(
      400,
      `${label}: ${kind} (${apiVersion}) is not allowed in a restore; allowed: ${allowedText}; nothing was applied`,
    );
  }
  const object = cleanObject(value as Obj);
  const item: RestoreItem = { document, apiVersion, kind, namespace: metadata.namespace, name: metadata.name, object };
  if (kind === 'Secret' && hasRedactedValues(object)) {
    item.skip = `Secret values are still ${redactionMarker}; replace them with the real values to restore this Secret`;
  }
  return item;
}

/** Validates a backup before anything touches the cluster: YAML syntax, allowed kinds, names, duplicates. */
export async function parseRestoreYaml(input: unknown): Promise<RestoreItem[]> {
  if (typeof input !== 'string') throw new RunbookError(400, 'the backup must be YAML text');
  const docs = await parseYamlBounded(input);
  const items: RestoreItem[] = [];
  const seen = new Map<string, number>();
  docs.forEach((doc, i) => {
    const document = i + 1;
    if ('error' in doc) fail(document, doc.error);
    const { value } = doc;
    if (value === null || value === undefined) return;
    const item = toItem(value, document);
    const key = `${item.kind}/${item.namespace}/${item.name}`;
    const first = seen.get(key);
    if (first !== undefined)
      fail(document, `${item.kind} ${item.namespace}/${item.name} already appears in document ${first}`);
    seen.set(key, document);
    items.push(item);
  });
  if (items.length === 0) throw new RunbookError(400, 'the backup contains no objects');
  return items;
}
