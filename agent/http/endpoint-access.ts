import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Who may read the internals of /metrics and /api/health/detailed. They are served without a session
 * (Prometheus and probes have none), so by default they show states only; with PIPEOPS_METRICS_TOKEN
 * set they demand `Authorization: Bearer <token>` and then show everything, addresses included.
 */
export type EndpointAccess = 'full' | 'redacted' | 'refused';

export const metricsTokenEnv = 'PIPEOPS_METRICS_TOKEN';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The bearer credential of an Authorization header, or undefined when there is none. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** No token configured: redacted; a token configured: full with the right Bearer token, refused otherwise. */
export function endpointAccess(
  authorization: string | null | undefined,
  configuredToken: string | undefined = process.env[metricsTokenEnv],
): EndpointAccess {
  const expected = configuredToken?.trim();
  if (!expected) return 'redacted';
  const given = bearerToken(authorization);
  // Compared as digests so neither the length nor a prefix of the token leaks through timing.
  return given !== undefined && timingSafeEqual(digest(given), digest(expected)) ? 'full' : 'refused';
}
