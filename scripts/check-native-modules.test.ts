import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNativeModules, nativeModules } from './check-native-modules.mjs';

describe('check-native-modules', () => {
  it('finds every approved native module built for the running Node.js in this install', () => {
    const results = checkNativeModules(process.cwd());
    expect(results.map((r) => r.name)).toEqual(['bufferutil', 'ssh2', 'cpu-features', 'esbuild']);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it('names each missing module and what it is for when the install lacks them', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'no-native-'));
    writeFileSync(path.join(empty, 'package.json'), '{"name":"empty","private":true}');
    const results = checkNativeModules(empty);
    expect(results.every((r) => !r.ok)).toBe(true);
    for (const [i, module] of nativeModules.entries()) {
      expect(results[i]?.detail).toContain(`${module.why}: not loadable (`);
    }
  });
});
