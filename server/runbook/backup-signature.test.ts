import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  hasValidSignature,
  signatureAnnotation,
  signObject,
  withoutSignature,
} from './backup-signature';

const key = randomBytes(32);

function signed(object: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(object) as { metadata: { annotations?: Record<string, string> } };
  copy.metadata.annotations = { ...copy.metadata.annotations, [signatureAnnotation]: signObject(key, object) };
  return copy;
}

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'demo', labels: { 'pipeops.io/managed': 'true' } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'app', image: 'web:1' }] } } },
};

describe('backup signatures', () => {
  it('canonical JSON does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }),
    );
  });

  it('accepts an unmodified document after a YAML round trip', () => {
    const back = parse(stringify(signed(deployment))) as Record<string, unknown>;
    expect(hasValidSignature(key, back)).toBe(true);
  });

  it('refuses an edited document, another key, no key and no signature', () => {
    const edited = signed(deployment) as typeof deployment;
    edited.spec.replicas = 3;
    expect(hasValidSignature(key, edited)).toBe(false);
    expect(hasValidSignature(randomBytes(32), signed(deployment))).toBe(false);
    expect(hasValidSignature(undefined, signed(deployment))).toBe(false);
    expect(hasValidSignature(key, deployment)).toBe(false);
  });

  it('moving a signature to another object does not carry it over', () => {
    const other = structuredClone(deployment);
    other.metadata.namespace = 'kube-system';
    const stolen = signed(deployment) as { metadata: { annotations: Record<string, string> } };
    const forged = { ...other, metadata: { ...other.metadata, annotations: stolen.metadata.annotations } };
    expect(hasValidSignature(key, forged)).toBe(false);
  });

  it('withoutSignature drops the annotation and an annotations map it leaves empty', () => {
    expect(withoutSignature(signed(deployment))).toEqual(deployment);
  });
});
