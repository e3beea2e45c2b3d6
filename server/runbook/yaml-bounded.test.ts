import { describe, expect, it } from 'vitest';
import { RunbookError } from './errors';
import { parseYamlBounded, precheckYaml, restoreYamlLimits } from './yaml-bounded';

async function refusal(promise: Promise<unknown>): Promise<RunbookError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunbookError);
  return error as RunbookError;
}

describe('bounded YAML parsing', () => {
  it('parses ordinary documents in the worker', async () => {
    const docs = await parseYamlBounded('a: 1\n---\nb: [x, y]\n---\nc: [unclosed\n');
    expect(docs[0]).toEqual({ value: { a: 1 } });
    expect(docs[1]).toEqual({ value: { b: ['x', 'y'] } });
    expect(docs[2]).toMatchObject({ error: expect.stringMatching(/^invalid YAML: /) });
  });

  it('refuses a wall of tags from the raw text, before any parser runs', () => {
    const text = `a: ${'!t '.repeat(80_000)}x`;
    expect(() => precheckYaml(text)).toThrow(/YAML tags \(!…\); a backup uses none, the limit is 1000/);
  });

  it.each([
    ['tags', `${Array.from({ length: 150 }, (_, i) => `k${i}: !t v`).join('\n')}\n`, 'YAML tags'],
    ['anchors', `${Array.from({ length: 150 }, (_, i) => `k${i}: &a${i} v`).join('\n')}\n`, 'YAML anchors'],
    ['aliases', `a: &a v\n${Array.from({ length: 150 }, (_, i) => `k${i}: *a`).join('\n')}\n`, 'YAML aliases'],
  ])('counts %s exactly in the worker and refuses more than 100', async (_, text, what) => {
    const error = await refusal(parseYamlBounded(text));
    expect(error.status).toBe(400);
    expect(error.message).toContain(`the backup has 150 ${what}`);
  });

  it('refuses too many documents', async () => {
    const error = await refusal(parseYamlBounded('a: 1\n---\n'.repeat(300)));
    expect(error.message).toMatch(/documents; the limit is 200/);
  });

  it('refuses a document that expands beyond the limit once parsed', async () => {
    const text = `a: &a "${'x'.repeat(60_000)}"\nb: [${Array(90).fill('*a').join(', ')}]\n`;
    const error = await refusal(parseYamlBounded(text, { ...restoreYamlLimits, maxExpandedBytes: 1024 * 1024 }));
    expect(error.message).toMatch(/expands to 5\.\d MiB when parsed; the limit is 1 MiB/);
  });

  it('terminates a parse that runs past its time limit and says so', async () => {
    const error = await refusal(parseYamlBounded('a: 1\n', { ...restoreYamlLimits, timeoutMs: 0 }));
    expect(error.message).toBe('the backup took longer than 0 s to parse; it is not a backup this agent wrote');
  });
});
