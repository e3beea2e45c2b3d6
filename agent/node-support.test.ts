import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeSupportProblem, supportedNodeRange } from './node-support';

describe('nodeSupportProblem', () => {
  it('reads the supported line from package.json engines.node', () => {
    expect(supportedNodeRange).toMatch(/^\^24\.\d+\.\d+$/);
    expect(nodeSupportProblem(process.version)).toBeUndefined();
  });

  it('names the running and the required Node.js in one line', () => {
    const line = nodeSupportProblem('v20.20.2', '^24.11.0');
    expect(line).toBe(
      'pipeops-agent needs Node.js ^24.11.0 (the 24.x LTS line), but runs on v20.20.2; ' +
        'install Node.js 24 or use `npm run demo` / `npm test`, which fetch it',
    );
    expect(line).not.toContain('\n');
    expect(nodeSupportProblem('v24.10.0', '^24.11.0')).toContain('runs on v24.10.0');
    expect(nodeSupportProblem('v26.12.1', '^24.11.0')).toContain('runs on v26.12.1');
    expect(nodeSupportProblem('v24.11.0', '^24.11.0')).toBeUndefined();
  });

  it('refuses an engines.node it cannot check', () => {
    expect(() => nodeSupportProblem('v24.22.3', '>=24')).toThrow(
      'package.json engines.node must be a caret range like "^24.11.0", got ">=24"',
    );
  });
});

// The machines this project runs on have NodeSource's Node 20 as /usr/bin/node; where that is absent there is
// no unsupported Node to start the agent with.
const oldNode = '/usr/bin/node';
const oldNodeVersion = existsSync(oldNode)
  ? spawnSync(oldNode, ['--version'], { encoding: 'utf8' }).stdout.trim()
  : undefined;

describe.skipIf(!oldNodeVersion || nodeSupportProblem(oldNodeVersion) === undefined)(
  'the headless agent on an unsupported Node.js',
  () => {
    it('prints one line saying what it needs and exits 1 before loading anything else', () => {
      const run = spawnSync(oldNode, ['--import', 'tsx', 'agent/main.ts'], {
        encoding: 'utf8',
        env: { ...process.env, PIPEOPS_API_URL: 'http://127.0.0.1:9', PIPEOPS_TOKEN: 't' },
      });
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim()).toBe(nodeSupportProblem(oldNodeVersion ?? ''));
      // A ceiling, not a measurement: tsx compiling on a loaded 2-core machine took 22 s.
    }, 180_000);
  },
);
