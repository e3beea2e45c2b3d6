import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

const tsx = path.resolve('node_modules/.bin/tsx');
const cli = path.resolve('sandbox/control-plane/cli.ts');

function run(args: string[], env: Record<string, string> = {}) {
  const base = { ...process.env };
  delete base.PIPEOPS_CONTROL_PLANE_TOKENS;
  delete base.PIPEOPS_CONTROL_PLANE_ADMIN_TOKEN;
  const child = spawn(tsx, [cli, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, stderr: () => stderr };
}

describe('control-plane CLI', () => {
  it('names the option, the bad value and what is allowed, and exits 2', { timeout: 30_000 }, async () => {
    const { exited, stderr } = run(['--port', 'abc', '--token', 't']);
    const [code] = await exited;
    expect(code).toBe(2);
    const lines = stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('--port "abc"');
    expect(lines[0]).toContain('integer from 0 to 65535');
  });

  it('exits 2 without any agent token and on an unknown option', { timeout: 30_000 }, async () => {
    const noToken = run(['--port', '0']);
    expect((await noToken.exited)[0]).toBe(2);
    expect(noToken.stderr()).toContain('PIPEOPS_CONTROL_PLANE_TOKENS');
    const range = run(['--tunnel-port-range', '40000-x', '--token', 't']);
    expect((await range.exited)[0]).toBe(2);
    expect(range.stderr()).toContain('--tunnel-port-range "40000-x" is invalid: expected LOW-HIGH');
    expect(range.stderr()).toContain('or "os"');
    const unknown = run(['--bogus', '--token', 't']);
    expect((await unknown.exited)[0]).toBe(2);
    expect(unknown.stderr()).toContain('--bogus');
  });

  it('starts, serves, and stops cleanly on SIGTERM', { timeout: 30_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'control-plane-cli-'));
    try {
      const stateFile = path.join(dir, 'state.json');
      const { child, exited } = run(['--port', '0', '--admin-token', 'adm', '--state-file', stateFile], {
        PIPEOPS_CONTROL_PLANE_TOKENS: 'a, b',
      });
      const lines = createInterface({ input: child.stdout });
      let url: string | undefined;
      for await (const line of lines) {
        url = /listening on (\S+)/.exec(line)?.[1];
        if (url) break;
      }
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${url}/admin/health`, { headers: { authorization: 'Bearer adm' } });
      expect(health.status).toBe(200);
      const tunnel = await fetch(`${url}/api/v1/tunnel/status?agent_id=x`, { headers: { authorization: 'Bearer b' } });
      expect(tunnel.status).toBe(404);
      child.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
