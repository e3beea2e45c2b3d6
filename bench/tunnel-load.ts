/** Load generators for the tunnel benchmark; each talks to a reverse port that leads to bench/tunnel-target.ts. */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

const block = randomBytes(256 * 1024);

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Writes `bytes` of filler honouring backpressure. */
async function writeFiller(socket: net.Socket, bytes: number): Promise<void> {
  let left = bytes;
  while (left > 0) {
    const chunk = left >= block.length ? block : block.subarray(0, left);
    left -= chunk.length;
    if (!socket.write(chunk)) await drained(socket);
  }
}

function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      socket.off('drain', onDrain);
      reject(new Error('closed while waiting for drain'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

function lengthHeader(bytes: number): Buffer {
  const header = Buffer.alloc(8);
  header.writeBigUInt64BE(BigInt(bytes));
  return header;
}

function waitForBytes(socket: net.Socket, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (chunk: Buffer): void => {
      got += chunk.length;
      if (got < count) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve();
    };
    const onClose = (): void => reject(new Error(`closed after ${got}/${count} bytes`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** Seconds from connect to the sink's acknowledgement of `bytes` uploaded through the port. */
export async function uploadToSink(port: number, bytes: number): Promise<number> {
  const started = performance.now();
  const socket = await connect(port);
  try {
    const acked = waitForBytes(socket, 1);
    socket.write(lengthHeader(bytes));
    await Promise.all([writeFiller(socket, bytes), acked]);
    return (performance.now() - started) / 1000;
  } finally {
    socket.destroy();
  }
}

/** Seconds from connect until `bytes` downloaded from the source have all arrived. */
export async function downloadFromSource(port: number, bytes: number): Promise<number> {
  const started = performance.now();
  const socket = await connect(port);
  try {
    const received = waitForBytes(socket, bytes);
    socket.write(lengthHeader(bytes));
    await received;
    return (performance.now() - started) / 1000;
  } finally {
    socket.destroy();
  }
}

/** Seconds for `streams` concurrent downloads of `bytesEach` to all arrive. */
export async function parallelDownload(port: number, streams: number, bytesEach: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: streams }, () => downloadFromSource(port, bytesEach)));
  return (performance.now() - started) / 1000;
}

/** Seconds for `streams` concurrent uploads of `bytesEach` to all be acknowledged. */
export async function parallelUpload(port: number, streams: number, bytesEach: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: streams }, () => uploadToSink(port, bytesEach)));
  return (performance.now() - started) / 1000;
}

/** Milliseconds per request/response of `size` bytes, sequential on one persistent echo connection. */
export async function persistentLatency(port: number, count: number, size: number): Promise<number[]> {
  const socket = await connect(port);
  const request = randomBytes(size);
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const reply = waitForBytes(socket, size);
      socket.write(request);
      await reply;
      samples.push(performance.now() - started);
    }
  } finally {
    socket.destroy();
  }
  return samples;
}

/** Milliseconds per connect + one `size`-byte echo + close, each on a new connection (a new SSH channel). */
export async function connectLatency(port: number, count: number, size: number): Promise<number[]> {
  const request = randomBytes(size);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const socket = await connect(port);
    try {
      const reply = waitForBytes(socket, size);
      socket.write(request);
      await reply;
      samples.push(performance.now() - started);
    } finally {
      socket.destroy();
    }
  }
  return samples;
}
