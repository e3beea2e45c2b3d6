import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { distinctFreePorts, withTimeout } from './tunnel';

const procs = fileURLToPath(new URL('./tunnel-procs.ts', import.meta.url));

/** Running (not gone, and not a zombie waiting for a PID 1 that never reaps in a container). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Runs a node script that registers a long-lived child and then dies by `how`; returns the child's pid. */
function runAndDie(how: 'throw' | 'reject' | 'SIGINT'): Promise<number> {
  const script = `
    import { spawn } from 'node:child_process';
    const { registerChild } = await import(${JSON.stringify(procs)});
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    registerChild(child);
    // Not console.log: with FORCE_COLOR (set by npm test) it wraps a number in colour codes.
    process.stdout.write(String(child.pid) + '\\n');
    ${how === 'throw' ? "setTimeout(() => { throw new Error('boom'); }, 10);" : ''}
    ${how === 'reject' ? "setTimeout(() => Promise.reject(new Error('boom')), 10);" : ''}
    ${how === 'SIGINT' ? "setTimeout(() => process.kill(process.pid, 'SIGINT'), 10);" : ''}
    setInterval(() => undefined, 1000);
  `;
  const bench = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  bench.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    bench.once('error', reject);
    bench.once('exit', () => resolve(Number(output.trim())));
  });
}

describe('tunnel benchmark robustness', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands out ports that are all different', async () => {
    const ports = await distinctFreePorts(50);
    expect(new Set(ports).size).toBe(50);
    expect(ports.every((port) => port > 0)).toBe(true);
  });

  it('fails a step that never finishes with its label', async () => {
    vi.useFakeTimers();
    const never = new Promise<never>(() => undefined);
    const step = withTimeout(never, 5_000, 'run 2, bulk transfers, our client');
    const assertion = expect(step).rejects.toThrow('run 2, bulk transfers, our client: no result within 5 s');
    await vi.advanceTimersByTimeAsync(5_000);
    await assertion;
  });

  it.each(['throw', 'reject', 'SIGINT'] as const)(
    'kills registered children when the bench dies by %s',
    async (how) => {
      const pid = await runAndDie(how);
      expect(pid).toBeGreaterThan(0);
      await vi.waitFor(() => expect(alive(pid)).toBe(false));
    },
  );
});
