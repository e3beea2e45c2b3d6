import { describe, expect, it } from 'vitest';
import { validateNodeCount } from './cluster';
import { kwokNode } from './nodes';
import { sandboxLayout } from './state';

describe('sandbox options', () => {
  it('accepts node counts from 1 to 100 and explains anything else', () => {
    expect(validateNodeCount('3')).toBe(3);
    expect(validateNodeCount(100)).toBe(100);
    for (const bad of ['0', '-1', '2.5', 'three', '', 101]) {
      expect(() => validateNodeCount(bad)).toThrow(/--nodes must be an integer from 1 to 100, got/);
    }
  });

  it('refuses sandbox names that could escape the cache directory', () => {
    expect(sandboxLayout('test').dir).toMatch(/sandbox\/test$/);
    for (const bad of ['../etc', 'A', 'a/b', '', 'x'.repeat(40)]) {
      expect(() => sandboxLayout(bad)).toThrow(/sandbox name ".*" is invalid/);
    }
  });

  it('builds KWOK-managed nodes that ordinary pods can schedule onto', () => {
    const node = kwokNode(2);
    expect(node.metadata?.name).toBe('kwok-node-2');
    expect(node.metadata?.annotations?.['kwok.x-k8s.io/node']).toBe('fake');
    expect(node.spec?.taints ?? []).toEqual([]);
    expect(node.status?.allocatable).toMatchObject({ cpu: '32', pods: '110' });
  });
});
