import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { z } from 'zod';
import { describeIssues, maxMessageBytes } from '../../agent/controlplane/protocol';

/** Largest request body accepted (same cap as the agent's messages). */
export const maxBodyBytes = maxMessageBytes;
/** After a 413 the rest of the body is drained up to this much, then the connection is cut. */
const maxDrainBytes = 16 * 1024 * 1024;

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, errorBody(code, message));
}

export function sendNoContent(res: ServerResponse): void {
  if (res.headersSent) return;
  res.writeHead(204, { 'cache-control': 'no-store' });
  res.end();
}

/** Answers an upgrade request that will not be upgraded, then closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, body: ErrorBody): void {
  const text = JSON.stringify(body);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(text)}`,
    'Connection: close',
  ];
  if (socket.writable) socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
  else socket.destroy();
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Constant-time check of the request's Bearer token against the accepted ones. */
export function hasToken(req: IncomingMessage, accepted: readonly string[]): boolean {
  const token = bearerToken(req);
  if (token === undefined) return false;
  const given = digest(token);
  let ok = false;
  for (const candidate of accepted) ok = timingSafeEqual(given, digest(candidate)) || ok;
  return ok;
}

function isJsonContentType(req: IncomingMessage): boolean {
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return type === 'application/json' || (type?.endsWith('+json') ?? false);
}

function drainAndCut(req: IncomingMessage): void {
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > maxDrainBytes) req.socket.destroy();
  });
  req.resume();
}

type BodyResult = { ok: true; body: Buffer } | { ok: false; status: 413 | 400; message: string };

/** Reads the whole body up to maxBodyBytes; never rejects. */
export async function readBody(req: IncomingMessage): Promise<BodyResult> {
  const tooLarge: BodyResult = { ok: false, status: 413, message: `request body exceeds ${maxBodyBytes} bytes` };
  if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
    drainAndCut(req);
    return tooLarge;
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBodyBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      drainAndCut(req);
      resolve(tooLarge);
    };
    req.on('data', onData);
    req.once('end', () => resolve({ ok: true, body: Buffer.concat(chunks) }));
    req.once('error', (error) => resolve({ ok: false, status: 400, message: `could not read body: ${error.message}` }));
  });
}

/**
 * Reads and validates a JSON body; on any problem answers 415, 413 or 400 (naming the field) itself and
 * returns undefined.
 */
export async function readJsonBody<T>(
  req: IncomingMessage,
  res: ServerResponse,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  if (!isJsonContentType(req)) {
    drainAndCut(req);
    sendError(res, 415, 'unsupported_media_type', 'the body must be JSON (content-type: application/json)');
    return undefined;
  }
  const read = await readBody(req);
  if (!read.ok) {
    sendError(res, read.status, read.status === 413 ? 'payload_too_large' : 'invalid_request', read.message);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(read.body.toString('utf8'));
  } catch (error) {
    sendError(res, 400, 'invalid_request', `the body is not valid JSON (${(error as Error).message})`);
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    sendError(res, 400, 'invalid_request', `invalid request body: ${describeIssues(parsed.error)}`);
    return undefined;
  }
  return parsed.data;
}
