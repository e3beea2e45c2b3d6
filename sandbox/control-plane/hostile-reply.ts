import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReplyOverride } from './faults';

/** The override's body with `{{authorization}}` replaced by what the request carried. */
function bodyFor(override: ReplyOverride, req: IncomingMessage): Buffer {
  return Buffer.from(override.body.split('{{authorization}}').join(req.headers.authorization ?? ''), 'utf8');
}

function head(override: ReplyOverride, length: number): string {
  const headers = { 'content-type': 'application/json', ...override.headers, 'content-length': String(length) };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${override.status} ${STATUS_CODES[override.status] ?? 'Unknown'}\r\n${lines.join('\r\n')}\r\nconnection: close\r\n\r\n`;
}

/** Writes `data` in chunks, waiting `delayMs` before each, until done or the peer goes away. */
async function trickle(out: Writable, data: Buffer, chunkBytes: number, delayMs: number): Promise<void> {
  for (let offset = 0; offset < data.length && !out.destroyed; offset += chunkBytes) {
    await sleep(delayMs);
    if (!out.destroyed) out.write(data.subarray(offset, offset + chunkBytes));
  }
}

/** Answers an HTTP request with the override, raw on the socket so nothing normalises it. */
export async function writeOverride(req: IncomingMessage, res: ServerResponse, override: ReplyOverride): Promise<void> {
  req.resume();
  const socket = res.socket;
  if (!socket) return;
  res.statusCode = override.status;
  await writeRaw(socket, req, override);
  res.destroy();
}

/** Answers a WebSocket upgrade request with the override instead of a handshake. */
export async function writeUpgradeOverride(
  socket: Duplex,
  req: IncomingMessage,
  override: ReplyOverride,
): Promise<void> {
  await writeRaw(socket, req, override);
  socket.destroy();
}

async function writeRaw(socket: Duplex, req: IncomingMessage, override: ReplyOverride): Promise<void> {
  const body = bodyFor(override, req);
  const data = Buffer.concat([Buffer.from(head(override, body.length), 'latin1'), body]);
  if (override.trickle_ms === undefined) {
    await new Promise<void>((resolve) => socket.end(data, () => resolve()));
    return;
  }
  await trickle(socket, data, override.trickle_chunk_bytes, override.trickle_ms);
  socket.end();
}
