import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { binaryPaths } from '../../sandbox/cluster/versions';

export const chiselBinary = binaryPaths().chisel;

export { freePort } from '../../sandbox/cluster/processes';

export async function generateKey(path: string): Promise<void> {
  await promisify(execFile)(chiselBinary, ['server', '--keygen', path], { timeout: 30_000 });
}

export interface GoChiselServer {
  port: number;
  fingerprint: string;
  log: () => string;
  /** SIGSTOP/SIGCONT simulate a peer that goes silent without closing its socket. */
  signal: (signal: NodeJS.Signals) => void;
  stop: () => Promise<void>;
}

const listenTimeoutMs = 30_000;

function waitForListening(child: ChildProcess, output: { text: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chisel server not listening within ${listenTimeoutMs / 1000} s: ${output.text}`));
    }, listenTimeoutMs);
    const onData = (chunk: Buffer): void => {
      output.text += chunk.toString();
      const fingerprint = /Fingerprint (\S+)/.exec(output.text)?.[1];
      if (!fingerprint || !output.text.includes('Listening on')) return;
      clearTimeout(timer);
      resolve(fingerprint);
    };
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`chisel server could not start: ${error.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chisel server exited (${code}): ${output.text}`));
    });
  });
}

/**
 * Spawns the real Go chisel server on loopback with reverse forwarding and one user (or an authfile).
 * `onSpawn` sees the child before anything can fail, so a caller can register it for cleanup.
 */
export async function startGoChisel(
  port: number,
  keyfile: string,
  auth: string | { authFile: string } = 'user:pass',
  onSpawn?: (child: ChildProcess) => void,
): Promise<GoChiselServer> {
  const users = typeof auth === 'string' ? ['--auth', auth] : ['--authfile', auth.authFile];
  const args = ['server', '--host', '127.0.0.1', '--port', String(port), '--reverse', ...users];
  const child = spawn(chiselBinary, [...args, '--keyfile', keyfile, '--keepalive', '2s'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  onSpawn?.(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output = { text: '' };
  const fingerprint = await waitForListening(child, output);
  return {
    port,
    fingerprint,
    log: () => output.text,
    signal: (signal): void => {
      child.kill(signal);
    },
    stop: async (): Promise<void> => {
      if (child.signalCode === null) child.kill('SIGCONT');
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface EchoTarget {
  port: number;
  /** SHA-256 (hex) of everything each finished connection received, in close order. */
  received: string[];
  connections: () => number;
  close: () => Promise<void>;
}

/** A TCP echo server that also hashes what it receives. */
export async function startEchoTarget(): Promise<EchoTarget> {
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((socket) => {
    count += 1;
    sockets.add(socket);
    const hash = createHash('sha256');
    socket.on('data', (chunk) => hash.update(chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      sockets.delete(socket);
      received.push(hash.digest('hex'));
    });
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    connections: () => count,
    close: async (): Promise<void> => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Sends `data` to the port and hashes the same number of bytes coming back. */
export function roundTrip(port: number, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const hash = createHash('sha256');
    let got = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      got += chunk.length;
      if (got >= data.length) {
        socket.destroy();
        resolve(hash.digest('hex'));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${got}/${data.length} bytes`)));
    socket.write(data);
  });
}

/** One small echo through the tunnel; throws until the remote port works. */
export async function probe(port: number): Promise<void> {
  const data = randomBytes(64);
  const digest = await roundTrip(port, data);
  if (digest !== sha256(data)) throw new Error('probe corrupted');
}

/** Whether something accepts TCP connections on a loopback port right now. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
