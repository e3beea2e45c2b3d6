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

/** One line for logs and readiness reasons: the API server's own message when it sent one. */
export function describeKubeError(error: unknown): string {
  if (error instanceof ApiException) {
    const message = statusMessage(error.body);
    return message ? `HTTP ${error.code}: ${message}` : `HTTP ${error.code}`;
  }
  const watch = watchStatus(error);
  if (watch !== undefined) return `HTTP ${watch}: ${(error as Error).message}`;
  return error instanceof Error ? withCause(error) : String(error);
}

/** client-node 2.x requests go through undici, whose network errors say only "fetch failed"; the cause says why. */
function withCause(error: Error): string {
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    return (JSON.parse(body) as { message?: string }).message;
  } catch {
    return undefined;
  }
}
