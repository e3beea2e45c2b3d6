/**
 * The tunnel benchmark's target, in its own process so that neither the load generator nor a tunnel
 * client shares an event loop with it. Prints one JSON line `{"echo":port,"sink":port}` when listening.
 * - echo: every byte comes back;
 * - sink: the client sends an 8-byte big-endian length N, then N bytes; the sink answers one byte `k`
 *   once it has them all. chisel v1.11 tears both directions down on the first EOF, so a half-close
 *   cannot mark the end of the upload;
 * - source: the client sends an 8-byte big-endian length N and gets N bytes back (download).
 */
import net from 'node:net';

const headerBytes = 8;

function onSinkConnection(socket: net.Socket): void {
  let expected = -1;
  let got = 0;
  let header = Buffer.alloc(0);
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    if (expected < 0) {
      header = Buffer.concat([header, chunk]);
      if (header.length < headerBytes) return;
      expected = Number(header.readBigUInt64BE(0));
      got = header.length - headerBytes;
    } else {
      got += chunk.length;
    }
    if (got >= expected) socket.write('k');
  });
}

const block = Buffer.alloc(256 * 1024, 0x5a);

async function sendFiller(socket: net.Socket, bytes: number): Promise<void> {
  let left = bytes;
  while (left > 0 && !socket.destroyed) {
    const chunk = left >= block.length ? block : block.subarray(0, left);
    left -= chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
}

function onSourceConnection(socket: net.Socket): void {
  let header = Buffer.alloc(0);
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  const onData = (chunk: Buffer): void => {
    header = Buffer.concat([header, chunk]);
    if (header.length < headerBytes) return;
    socket.off('data', onData);
    socket.resume();
    // A peer that goes away mid-send only ends this connection's loop.
    sendFiller(socket, Number(header.readBigUInt64BE(0))).catch(() => socket.destroy());
  };
  socket.on('data', onData);
}

function onEchoConnection(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.pipe(socket);
}

async function listen(handler: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function main(): Promise<void> {
  const echo = await listen(onEchoConnection);
  const sink = await listen(onSinkConnection);
  const source = await listen(onSourceConnection);
  process.stdout.write(`${JSON.stringify({ echo, sink, source })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(`tunnel-target: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
