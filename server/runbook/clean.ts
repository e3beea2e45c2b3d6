import 'server-only';
import type { KubernetesObject } from '@kubernetes/client-node';
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';

export const redactionMarker = 'REDACTED';

// Server-owned bookkeeping: re-applying it either fails (managedFields, uid) or pins stale state.
const serverMetadata = ['managedFields', 'uid', 'resourceVersion', 'creationTimestamp', 'generation', 'selfLink'];
const serverAnnotations = ['deployment.kubernetes.io/revision', 'kubectl.kubernetes.io/last-applied-configuration'];

type Obj = KubernetesObject & Record<string, unknown>;

/**
 * A re-appliable copy of an object: status and server-owned metadata stripped, keys in a stable order.
 * `redact` replaces every Secret value with the redaction marker.
 */
export function cleanObject<T extends KubernetesObject>(object: T, options: { redact?: boolean } = {}): Obj {
  const copy = structuredClone(object) as Obj;
  delete copy.status;
  const metadata = (copy.metadata ?? {}) as Record<string, unknown>;
  for (const key of serverMetadata) delete metadata[key];
  const annotations = metadata.annotations as Record<string, string> | undefined;
  if (annotations) {
    for (const key of serverAnnotations) delete annotations[key];
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
  }
  if (options.redact && copy.kind === 'Secret') redactSecret(copy);
  return orderTopLevel(copy);
}

export function redactSecret(secret: Obj): void {
  for (const field of ['data', 'stringData']) {
    const values = secret[field] as Record<string, string> | undefined;
    if (!values) continue;
    secret[field] = Object.fromEntries(Object.keys(values).map((key) => [key, redactionMarker]));
  }
}

/** True when any Secret value still carries the marker (a restore must never write it). */
export function hasRedactedValues(object: KubernetesObject & Record<string, unknown>): boolean {
  return ['data', 'stringData'].some((field) =>
    Object.values((object[field] as Record<string, unknown> | undefined) ?? {}).some((v) => v === redactionMarker),
  );
}

function orderTopLevel(object: Obj): Obj {
  const { apiVersion, kind, metadata, ...rest } = object;
  return { apiVersion, kind, metadata, ...rest } as Obj;
}

export function toYaml(object: object): string {
  return stringify(object, { lineWidth: 0, sortMapEntries: false });
}

/**
 * For previews, Secret values are never shown: each becomes the marker, with `(changed)` where the new
 * value differs from the live one, so the diff still says which keys a restore would change.
 */
export function maskSecretPair(live: Obj | undefined, next: Obj): { live: Obj | undefined; next: Obj } {
  if (next.kind !== 'Secret') return { live, next };
  const mask = (object: Obj, other: Obj | undefined): Obj => {
    const copy = structuredClone(object);
    const values = (copy.data ?? {}) as Record<string, string>;
    const otherValues = (other?.data ?? {}) as Record<string, string>;
    copy.data = Object.fromEntries(
      Object.keys(values).map((k) => [
        k,
        other && values[k] !== otherValues[k] ? `${redactionMarker} (changed)` : redactionMarker,
      ]),
    );
    if (!object.data) delete copy.data;
    return copy;
  };
  return { live: live ? mask(live, undefined) : undefined, next: mask(next, live) };
}

/** A unified diff between two cleaned objects as YAML; empty when they are the same. */
export function objectDiff(label: string, live: Obj | undefined, next: Obj): string {
  const before = live ? toYaml(live) : '';
  const after = toYaml(next);
  if (before === after) return '';
  return createTwoFilesPatch(`live/${label}`, `restore/${label}`, before, after, undefined, undefined, { context: 3 });
}
