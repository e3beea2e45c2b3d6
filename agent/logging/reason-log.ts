import type { Logger } from './logger';

type Level = 'warn' | 'error' | 'info';

export interface ReasonLogOptions {
  logger: Logger;
  level: Level;
  message: string;
  /** While the reason stays the same, it is logged again (with its count) at most this often. */
  repeatEveryMs?: number;
  now?: () => number;
}

/**
 * "Once per change of reason": a failure that repeats (every heartbeat, every poll) is logged when its
 * reason changes, then only every `repeatEveryMs` with the number of repeats in between, so an operator
 * sees every distinct failure and how often it happens without a line per attempt.
 */
export class ReasonLog {
  readonly #options: ReasonLogOptions;
  #reason: string | undefined;
  #repeats = 0;
  #loggedAt = 0;

  constructor(options: ReasonLogOptions) {
    this.#options = options;
  }

  /** Records one occurrence; returns true when it was written to the log. */
  report(reason: string, fields: Record<string, unknown> = {}): boolean {
    const now = (this.#options.now ?? Date.now)();
    const every = this.#options.repeatEveryMs ?? 60_000;
    if (reason === this.#reason && now - this.#loggedAt < every) {
      this.#repeats += 1;
      return false;
    }
    const previous = reason === this.#reason ? {} : this.#previousFields();
    const repeats = reason === this.#reason ? { repeats: this.#repeats + 1 } : {};
    this.#options.logger[this.#options.level]({ ...fields, reason, ...repeats, ...previous }, this.#options.message);
    this.#reason = reason;
    this.#repeats = 0;
    this.#loggedAt = now;
    return true;
  }

  /** The failure is over: the next one is logged at once, whatever its reason. */
  clear(): void {
    this.#reason = undefined;
    this.#repeats = 0;
  }

  #previousFields(): Record<string, unknown> {
    if (this.#reason === undefined || this.#repeats === 0) return {};
    return { previous_reason: this.#reason, previous_reason_repeats: this.#repeats };
  }
}
