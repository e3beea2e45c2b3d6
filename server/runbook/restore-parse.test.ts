import { describe, expect, it } from 'vitest';
import { RunbookError } from './errors';
import { parseRestoreYaml } from './restore-parse';

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  uid: abc
  managedFields: [{manager: x}]
spec:
  replicas: 1
status:
  replicas: 1
`;
const secret = `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: pipeops-system}
data: {token: REDACTED}
`;

async function messageOf(input: unknown, status = 400): Promise<string> {
  try {
    await parseRestoreYaml(input);
  } catch (error) {
    expect(error).toBeInstanceOf(RunbookError);
    expect((error as RunbookError).status).toBe(status);
    return (error as RunbookError).message;
  }
  throw new Error('expected a RunbookError');
}

describe('parseRestoreYaml', () => {
  it('reads every document (a leading comment belongs to the first), skips empty ones, cleans server fields', async () => {
    const items = await parseRestoreYaml(`# header\n---\n${deployment}---\n---\n${secret}`);
    expect(items.map((i) => [i.document, i.kind, i.namespace, i.name, i.skip !== undefined])).toEqual([
      [1, 'Deployment', 'demo', 'web', false],
      [3, 'Secret', 'pipeops-system', 's', true],
    ]);
    expect(items[0]?.object).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'demo' },
      spec: { replicas: 1 },
    });
  });

  it.each([
    [
      `${deployment}---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x, namespace: y}\n`,
      'document 2 (Namespace x): Namespace (v1) is not allowed in a restore; allowed: Deployment (apps/v1), ConfigMap (v1) and Secret (v1); nothing was applied',
    ],
    [
      'apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: x, namespace: y}\n',
      'document 1 (Deployment x): Deployment (apps/v1beta1) is not allowed',
    ],
    [
      'kind: ConfigMap\nmetadata: {name: x, namespace: y}\n',
      'document 1: (ConfigMap x) apiVersion is missing; nothing was applied',
    ],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', 'metadata.namespace is missing'],
    [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name, namespace: y}\n',
      'metadata.name is not a valid name',
    ],
    ['- a\n- b\n', 'document 1: is not a Kubernetes object (expected a mapping)'],
    ['just text', 'document 1: is not a Kubernetes object'],
    ['a: [1, 2\n', 'document 1: invalid YAML:'],
    ['a: 1\na: 2\n', 'document 1: invalid YAML: Map keys must be unique'],
    [`${deployment}---\n${deployment}`, 'document 2: Deployment demo/web already appears in document 1'],
    ['# only a comment\n', 'the backup contains no objects'],
    ['', 'the backup contains no objects'],
    [42, 'the backup must be YAML text'],
  ])('refuses %j with a clear 400', async (input, message) => {
    expect(await messageOf(input)).toContain(message);
  });

  it('refuses input over 1 MiB with 413 before parsing it', async () => {
    expect(await messageOf(`# ${'x'.repeat(1024 * 1024)}`, 413)).toBe('the backup is 1.00 MiB; the limit is 1 MiB');
  });

  it('caps alias expansion', async () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(', ')}]`,
      ),
    ].join('\n');
    expect(await messageOf(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: y}\n${bomb}\n`)).toMatch(
      /^document 1: invalid YAML: .*alias/i,
    );
  });
});
