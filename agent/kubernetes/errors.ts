import { ApiException } from '@kubernetes/client-node';

/**
 * A refused WATCH in client-node 2.x: `Watch.watch` reports a non-200 answer as a plain Error carrying
 * `statusCode` (the API clients throw ApiException with `code` instead).
 */
function watchStatus(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  const statusCode = (error as Error & { statusCode?: unknown }).statusCode;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

/** The HTTP status of a Kubernetes API error, or undefined for network-level failures. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : watchStatus(error);
}

/**
 * What a failed Kubernetes call means for the caller, decided from the HTTP status alone (so a client
 * library upgrade only has to keep `statusOf` working):
 * - `not_found` (404) and `conflict` (409) are answers, not failures;
 * - `forbidden` (403) and `unauthorized` (401) need an operator (RBAC, token) and are retried slowly;
 * - `transient` is everything that may succeed on its own: no status at all (refused, reset, timed out,
 *   TLS), 429 and every 5xx (e.g. 503 `etcdserver: leader changed`);
 * - `invalid` is any other 4xx: the request itself is wrong.
 */
export type KubeErrorKind = 'not_found' | 'conflict' | 'forbidden' | 'unauthorized' | 'transient' | 'invalid';

export function classifyKubeError(error: unknown): KubeErrorKind {
  const status = statusOf(error);
  if (status === undefined || status === 429 || status >= 500) return 'transient';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 403) return 'forbidden';
  if (status === 401) return 'unauthorized';
  return 'invalid';
}

/** One line for logs and readiness reasons: the API server's own message when it sent one. */
export function describeKubeError(error: unknown): string {
  if (error instanceof ApiException) {
    const message = statusMessage(error.body);
    return message ? `HTTP ${error.code}: ${message}` : `HTTP ${error.code}`;
  }
  const watch = watchStatus(error);
  if (watch !== undefined) return `HTTP ${watch}: ${(error as Error).message}`;
  return error instanceof Error ? withCode(error) : String(error);
}

/**
 * Network errors: the system code (ECONNRESET…) when the message lacks it, and the cause — client-node 2.x
 * requests go through undici, whose network errors say only "fetch failed".
 */
function withCode(error: Error): string {
  const code = (error as Error & { code?: unknown }).code;
  const prefix = typeof code === 'string' && !error.message.includes(code) ? `${code} ` : '';
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  const suffix = cause && !error.message.includes(cause) ? `: ${cause}` : '';
  return `${prefix}${error.message}${suffix}`;
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    return (JSON.parse(body) as { message?: string }).message;
  } catch {
    return undefined;
  }
}
