import 'server-only';
import { NextRequest } from 'next/server';
import { ApiError } from './api-error';
import { readBodyText } from './route';

/**
 * next-auth's routes are unauthenticated: a sign-in form (csrf token, username, password, callback URL)
 * is well under 1 KiB, so anything over 8 KiB is refused with 413 before next-auth reads it.
 */
export const authBodyLimitBytes = 8 * 1024;

/**
 * The same request with its body read under `limit` (413 before reading when Content-Length says more,
 * and as soon as a chunked body passes it): for handlers we do not own, such as next-auth's, which would
 * otherwise read a body of any size.
 */
export async function boundedRequest(req: NextRequest, limit: number): Promise<NextRequest> {
  if (req.method === 'GET' || req.method === 'HEAD') return req;
  const text = await readBodyText(req, limit);
  const headers = new Headers(req.headers);
  // The body is now a string of known length; the framing headers of the original no longer apply.
  headers.delete('content-length');
  headers.delete('transfer-encoding');
  return new NextRequest(req.url, { method: req.method, headers, body: text });
}

/** The error as the JSON response every API route gives; anything unexpected is rethrown. */
export function boundedBodyError(error: unknown): Response {
  if (error instanceof ApiError) return error.toResponse();
  throw error;
}
