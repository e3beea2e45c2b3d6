import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Every document of a backup carries an HMAC-SHA256 of its own content, keyed with a secret only the
 * agent holds (its state Secret). A restore uses it to tell "this is exactly what the agent exported"
 * from "someone wrote or edited this": only the former skips the pod-security checks. Per document, so
 * filling in the redacted Secret values unsigns that Secret and nothing else.
 */
export const signatureAnnotation = 'pipeops.io/backup-signature';
const version = 'v1';

type Json = Record<string, unknown>;

/** JSON with keys sorted at every level: the same object always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Json)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** A copy without the signature annotation (and without an annotations map it leaves empty). */
export function withoutSignature<T extends Json>(object: T): T {
  const copy = structuredClone(object);
  const metadata = (copy.metadata ?? {}) as Json;
  const annotations = metadata.annotations as Record<string, string> | undefined;
  if (annotations && signatureAnnotation in annotations) {
    delete annotations[signatureAnnotation];
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
  }
  return copy;
}

function mac(key: Buffer, object: Json): string {
  return createHmac('sha256', key)
    .update(canonicalJson(withoutSignature(object)))
    .digest('base64url');
}

/** The annotation value for an object as it will be parsed back from the backup. */
export function signObject(key: Buffer, object: Json): string {
  return `${version}.${mac(key, object)}`;
}

/** True only when the object carries a signature made with this key over exactly its current content. */
export function hasValidSignature(key: Buffer | undefined, object: Json): boolean {
  const annotations = ((object.metadata as Json | undefined)?.annotations ?? {}) as Record<string, unknown>;
  const value = annotations[signatureAnnotation];
  if (!key || typeof value !== 'string' || !value.startsWith(`${version}.`)) return false;
  const given = Buffer.from(value.slice(version.length + 1));
  const expected = Buffer.from(mac(key, object));
  return given.length === expected.length && timingSafeEqual(given, expected);
}
