import { mkdtemp, readFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, isPortListening, isRunning, startProcess, stopProcess } from './processes';

describe('sandbox process control', () => {
  it('starts a detached process with its output in a log file and stops it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'proc-'));
    const logFile = path.join(dir, 'sleep.log');
    const pid = startProcess({ name: 'sh', bin: '/bin/sh', args: ['-c', 'echo started; exec sleep 60'], logFile });
    expect(isRunning(pid, '/bin/sh') || isRunning(pid, '/bin/sleep') || isRunning(pid, '/usr/bin/sleep')).toBe(true);
    await stopProcess(pid, (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')[0] ?? '');
    expect(isRunning(pid, '/bin/sh')).toBe(false);
    expect(await readFile(logFile, 'utf8')).toContain('started');
  });

  it('does not mistake a recycled pid running another program for the component', () => {
    expect(isRunning(process.pid, '/definitely/not/node')).toBe(false);
    expect(isRunning(process.pid, process.execPath)).toBe(true);
  });

  it('finds free loopback ports and detects listeners', async () => {
    const port = await freePort();
    expect(await isPortListening(port)).toBe(false);
    const server = net.createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    expect(await isPortListening(port)).toBe(true);
    await new Promise((resolve) => server.close(resolve));
  });
});
