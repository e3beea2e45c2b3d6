import { fullJitterDelay, sleep, type BackoffPolicy } from '../controlplane/backoff';
import type { Logger } from '../logging/logger';
import type { AgentMetrics } from '../metrics/agent-metrics';

/** The loops a supervisor restarts; the metric label `loop` takes these values. */
export type LoopName = 'runtime' | 'leader' | 'registration' | 'link' | 'tunnel' | 'ttl';

export interface SuperviseOptions {
  logger: Logger;
  /** Where restarts are counted; a loop without one still restarts and logs. */
  metrics?: AgentMetrics;
  signal: AbortSignal;
  backoff?: BackoffPolicy;
  /** A run that lasted this long before failing counts as healthy: the next restart starts from the base delay. */
  healthyAfterMs?: number;
}

export const supervisorBackoff: BackoffPolicy = { baseMs: 500, capMs: 30_000 };
const defaultHealthyAfterMs = 60_000;

/**
 * Runs a long-running loop and keeps it running: an error escaping `body` is a bug or an input nobody
 * anticipated, so it is logged with its stack, counted in `pipeops_loop_restarts_total{loop}` and the loop
 * is started again after a capped full-jitter backoff. Resolves with the body's result when it returns,
 * or undefined once the signal aborts. Never rejects.
 */
export async function supervise<T>(
  loop: LoopName,
  body: (signal: AbortSignal) => Promise<T>,
  options: SuperviseOptions,
): Promise<T | undefined> {
  const { signal } = options;
  let failures = 0;
  while (!signal.aborted) {
    const startedAt = performance.now();
    try {
      return await body(signal);
    } catch (error) {
      if (signal.aborted) return undefined;
      if (performance.now() - startedAt >= (options.healthyAfterMs ?? defaultHealthyAfterMs)) failures = 0;
      const delay = fullJitterDelay(failures++, options.backoff ?? supervisorBackoff);
      options.metrics?.loopRestarts.inc({ loop });
      options.logger.error(
        { loop, err: asError(error), restarts: failures, retry_in_ms: delay },
        `${loop} loop failed unexpectedly; restarting it`,
      );
      await sleep(delay, signal);
    }
  }
  return undefined;
}

/** pino serialises an Error with its type, message and stack; anything else thrown is wrapped. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(`non-Error thrown: ${String(value)}`);
}
