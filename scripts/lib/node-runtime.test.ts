import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chosenNodeVersion,
  nodeCacheDir,
  nodeEnvironment,
  parseVersion,
  satisfies,
  sha512Integrity,
  supportedNodeRange,
} from './node-runtime.mjs';

function projectWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'node-runtime-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('the Node.js every test run uses', () => {
  it('is the LTS line of .node-version, inside engines.node, for this process and its children', () => {
    const chosen = chosenNodeVersion();
    const supported = supportedNodeRange();
    expect(satisfies(chosen, supported)).toBe(true);
    expect(satisfies(process.version, supported)).toBe(true);
    expect(parseVersion(process.version)[0]).toBe(parseVersion(chosen)[0]);
    // A child started by name (npm, npx, tsx and vitest start theirs this way) finds the same Node on PATH.
    expect(execFileSync('node', ['--version'], { encoding: 'utf8' }).trim()).toBe(process.version);
  });

  it('is an LTS release (process.release.lts names its codename)', () => {
    expect(process.release.lts).toEqual(expect.any(String));
  });
});

describe('node-runtime', () => {
  it('accepts only the caret major of engines.node from its minimum', () => {
    const supported = { major: 24, minimum: [24, 11, 0] as [number, number, number] };
    expect(satisfies('v24.11.0', supported)).toBe(true);
    expect(satisfies('24.22.3', supported)).toBe(true);
    expect(satisfies('v24.10.9', supported)).toBe(false);
    expect(satisfies('v20.20.2', supported)).toBe(false);
    expect(satisfies('v26.12.1', supported)).toBe(false);
  });

  it('names the file and what is allowed when .node-version or engines.node is malformed', () => {
    expect(() => chosenNodeVersion(projectWith({ '.node-version': 'lts/krypton\n' }))).toThrow(
      /\.node-version: "lts\/krypton" is not a Node.js version \(expected MAJOR\.MINOR\.PATCH/,
    );
    expect(() => supportedNodeRange(projectWith({ 'package.json': '{"engines":{"node":">=20"}}' }))).toThrow(
      'package.json engines.node must be a caret range like "^24.11.0", got ">=20"',
    );
    expect(chosenNodeVersion(projectWith({ '.node-version': 'v24.22.3\n' }))).toBe('24.22.3');
  });

  it('keeps fetched releases in the project cache, honouring PIPEOPS_CACHE_DIR', () => {
    const saved = process.env.PIPEOPS_CACHE_DIR;
    process.env.PIPEOPS_CACHE_DIR = '/tmp/pipeops-cache';
    try {
      expect(nodeCacheDir('24.22.3')).toBe('/tmp/pipeops-cache/node/24.22.3');
    } finally {
      if (saved === undefined) delete process.env.PIPEOPS_CACHE_DIR;
      else process.env.PIPEOPS_CACHE_DIR = saved;
    }
  });

  it('computes integrity in the registry dist.integrity form', () => {
    const dir = projectWith({ 'x.txt': 'hello\n' });
    // sha512 of "hello\n", base64, as `npm view <pkg> dist.integrity` prints it.
    expect(sha512Integrity(path.join(dir, 'x.txt'))).toBe(
      'sha512-58IrmUxZ2c8rSOVJseJGZmNgRZMNPafBrLKZ0cO3+TH5Sq5B7dosKyB6NuEPi8uNRSI+VIePWzFufOO2vAGWKQ==',
    );
  });

  it('puts the chosen Node first on PATH (once) and points node-gyp at its own headers', () => {
    const prefix = mkdtempSync(path.join(tmpdir(), 'node-prefix-'));
    const nodeBinary = path.join(prefix, 'bin', 'node');
    const withoutHeaders = nodeEnvironment(nodeBinary);
    expect(withoutHeaders.PATH?.split(path.delimiter)[0]).toBe(path.join(prefix, 'bin'));
    expect(withoutHeaders.PATH?.split(path.delimiter).filter((p) => p === path.join(prefix, 'bin'))).toHaveLength(1);
    expect(withoutHeaders.npm_config_nodedir).toBeUndefined();
    mkdirSync(path.join(prefix, 'include', 'node'), { recursive: true });
    writeFileSync(path.join(prefix, 'include', 'node', 'common.gypi'), '{}');
    expect(nodeEnvironment(nodeBinary).npm_config_nodedir).toBe(prefix);
  });
});
