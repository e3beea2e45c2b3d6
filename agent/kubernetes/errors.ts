import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a Kubernetes API error, or undefined for network-level failures. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
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
  if (!(error instanceof Error)) return String(error);
  const code = (error as Error & { code?: unknown }).code;
  const cause = (error as Error & { cause?: unknown }).cause;
  const causeText = cause instanceof Error && !error.message.includes(cause.message) ? ` (${cause.message})` : '';
  return `${typeof code === 'string' && !error.message.includes(code) ? `${code} ` : ''}${error.message}${causeText}`;
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    return (JSON.parse(body) as { message?: string }).message;
  } catch {
    return undefined;
  }
}
