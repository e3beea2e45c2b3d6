import { mkdtemp, readFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { freePort, isPortListening, isRunning, startProcess, stopProcess } from './processes';

describe('sandbox process control', () => {
  it('starts a detached process with its output in a log file and stops it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'proc-'));
    const logFile = path.join(dir, 'child.log');
    const script = "console.log('started'); setInterval(() => {}, 1000)";
    const pid = startProcess({ name: 'child', bin: process.execPath, args: ['-e', script], logFile });
    expect(isRunning(pid, process.execPath)).toBe(true);
    await vi.waitFor(async () => expect(await readFile(logFile, 'utf8')).toContain('started'));
    await stopProcess(pid, process.execPath);
    expect(isRunning(pid, process.execPath)).toBe(false);
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
