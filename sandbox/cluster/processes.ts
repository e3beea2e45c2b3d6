import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessSpec {
  name: string;
  bin: string;
  args: string[];
  logFile: string;
  env?: Record<string, string>;
}

/** Asks the kernel for a free loopback port; the caller binds it right after. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function isPortListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (listening: boolean): void => {
      socket.destroy();
      resolve(listening);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}

/**
 * Starts a detached process (its own process group, so `down` can stop it and its children) whose
 * output goes to a log file; it outlives the CLI that started it.
 */
export function startProcess(spec: ProcessSpec): number {
  const log = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.bin, spec.args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...spec.env },
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.bin})`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** True when `pid` is alive and still runs `bin` (guards against a recycled pid). */
export function isRunning(pid: number, bin: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.split('\0')[0] === bin;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(pid: number, bin: string, graceMs = 10_000): Promise<void> {
  if (!isRunning(pid, bin)) return;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isRunning(pid, bin) && Date.now() < deadline) await sleep(100);
  if (isRunning(pid, bin)) {
    signal(pid, 'SIGKILL');
    while (isRunning(pid, bin)) await sleep(50);
  }
}
