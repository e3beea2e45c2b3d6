import type { Logger } from '../logging/logger';
import { ReasonLog } from '../logging/reason-log';
import type { AgentMetrics } from '../metrics/agent-metrics';
import { fullJitterDelay, sleep, type BackoffPolicy } from './backoff';
import { describeIssues, registerResponseSchema, type RegisterRequest, type RegisterResponse } from './protocol';
import { TransportError, type ControlPlaneTransport } from './transport';

export const registerPath = '/api/v1/clusters/agent/register';

export type RegisterOutcome =
  | { kind: 'registered'; response: RegisterResponse }
  | { kind: 'rejected'; reason: string }
  | { kind: 'retry'; reason: string };

export type RegistrationStatus =
  | { state: 'pending'; attempts: number; lastError?: string; nextAttemptAt?: string }
  | { state: 'registered'; attempts: number; clusterId: string; clusterUuid: string; registeredAt: string }
  | { state: 'rejected'; attempts: number; reason: string; nextAttemptAt?: string };

/** The message of a control-plane error body, cut to 200 characters and scrubbed of secrets it may echo. */
export function errorMessage(transport: ControlPlaneTransport, body: string): string {
  let message: unknown;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const error = parsed.error;
    message = (typeof error === 'string' ? error : error?.message) ?? parsed.message;
  } catch {
    message = undefined;
  }
  return transport.scrub((typeof message === 'string' ? message : body).slice(0, 200));
}

/** One registration request, classified: registered, rejected (bad token) or worth retrying. */
export async function registerCluster(
  transport: ControlPlaneTransport,
  body: RegisterRequest,
): Promise<RegisterOutcome> {
  let reply;
  try {
    reply = await transport.request('POST', registerPath, body);
  } catch (error) {
    if (error instanceof TransportError) return { kind: 'retry', reason: error.message };
    throw error;
  }
  if (reply.status === 401 || reply.status === 403) {
    return { kind: 'rejected', reason: `invalid token (HTTP ${reply.status}: ${errorMessage(transport, reply.body)})` };
  }
  if (reply.status < 200 || reply.status >= 300) {
    return { kind: 'retry', reason: `HTTP ${reply.status}: ${errorMessage(transport, reply.body)}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(reply.body);
  } catch {
    return { kind: 'retry', reason: 'malformed reply: not JSON' };
  }
  const parsed = registerResponseSchema.safeParse(json);
  if (!parsed.success) return { kind: 'retry', reason: `malformed reply: ${describeIssues(parsed.error)}` };
  return { kind: 'registered', response: parsed.data };
}

export interface RegistrationLoopOptions {
  transport: ControlPlaneTransport;
  buildRequest: () => Promise<RegisterRequest>;
  backoff: BackoffPolicy;
  rejectedRetryMs: number;
  logger: Logger;
  metrics: AgentMetrics;
  onStatus?: (status: RegistrationStatus) => void;
}

/**
 * Registers until the control plane answers with a cluster_id: network errors and 5xx back off with
 * full jitter (capped) forever; 401/403 means the token is wrong, so it waits the slow rejected interval
 * instead of hammering. Nothing else in the runtime starts before this resolves.
 */
export class RegistrationLoop {
  #status: RegistrationStatus = { state: 'pending', attempts: 0 };
  readonly #options: RegistrationLoopOptions;
  readonly #logger: Logger;
  readonly #pendingLog: ReasonLog;

  constructor(options: RegistrationLoopOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'registration' });
    this.#pendingLog = new ReasonLog({
      logger: this.#logger,
      level: 'warn',
      message: 'Registration pending - control plane not reachable yet',
    });
  }

  get status(): RegistrationStatus {
    return this.#status;
  }

  #setStatus(status: RegistrationStatus): void {
    this.#status = status;
    this.#options.onStatus?.(status);
  }

  /** Resolves with the registration, or undefined when aborted first. */
  async run(signal: AbortSignal): Promise<RegisterResponse | undefined> {
    let failures = 0;
    while (!signal.aborted) {
      const attempts = this.#status.attempts + 1;
      const outcome = await registerCluster(this.#options.transport, await this.#options.buildRequest());
      this.#options.metrics.registrationAttempts.inc({ result: outcome.kind });
      if (outcome.kind === 'registered') {
        this.#pendingLog.clear();
        this.#registered(outcome.response, attempts);
        return outcome.response;
      }
      const delay =
        outcome.kind === 'rejected' ? this.#rejectedDelay() : fullJitterDelay(failures++, this.#options.backoff);
      const nextAttemptAt = new Date(Date.now() + delay).toISOString();
      if (outcome.kind === 'rejected') {
        this.#logger.error(
          { reason: outcome.reason, next_attempt_at: nextAttemptAt },
          'Registration rejected by the control plane - check PIPEOPS_TOKEN',
        );
        this.#setStatus({ state: 'rejected', attempts, reason: outcome.reason, nextAttemptAt });
      } else {
        this.#pendingLog.report(outcome.reason, { retry_in_ms: delay, attempts });
        this.#setStatus({ state: 'pending', attempts, lastError: outcome.reason, nextAttemptAt });
      }
      await sleep(delay, signal);
    }
    return undefined;
  }

  #rejectedDelay(): number {
    const base = this.#options.rejectedRetryMs;
    return Math.floor(base * (0.9 + Math.random() * 0.2));
  }

  #registered(response: RegisterResponse, attempts: number): void {
    this.#logger.info(
      { cluster_id: response.cluster_id, status: response.status, attempts },
      'Registered with the control plane',
    );
    this.#setStatus({
      state: 'registered',
      attempts,
      clusterId: response.cluster_id,
      clusterUuid: response.cluster_uuid,
      registeredAt: new Date().toISOString(),
    });
  }
}
