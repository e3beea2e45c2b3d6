import 'server-only';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { cleanObject, hasRedactedValues, redactionMarker } from './clean';
import { RunbookError } from './errors';

export const maxRestoreBytes = 1024 * 1024;
export const maxRestoreDocuments = 200;

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

function checkSize(text: unknown): string {
  if (typeof text !== 'string') throw new RunbookError(400, 'the backup must be YAML text');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxRestoreBytes) {
    throw new RunbookError(400, `the backup is ${(bytes / 1024 / 1024).toFixed(2)} MiB; the limit is 1 MiB`);
  }
  return text;
}

/** Validates a backup before anything touches the cluster: YAML syntax, allowed kinds, names, duplicates. */
export function parseRestoreYaml(input: unknown): RestoreItem[] {
  const text = checkSize(input);
  const parsed = parseAllDocuments(text, { uniqueKeys: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  if (docs.length > maxRestoreDocuments)
    throw new RunbookError(400, `the backup has ${docs.length} documents; the limit is ${maxRestoreDocuments}`);
  const items: RestoreItem[] = [];
  const seen = new Map<string, number>();
  docs.forEach((doc, i) => {
    const document = i + 1;
    const error = doc.errors[0];
    if (error) fail(document, `invalid YAML: ${error.message.split('\n')[0]?.replace(/:$/, '')}`);
    let value: unknown;
    try {
      // Alias expansion is capped: a small document must not expand into a huge one.
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      fail(document, `invalid YAML: ${(e as Error).message}`);
    }
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
