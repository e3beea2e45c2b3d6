import { clockSleep, type Clock } from './clock';

/**
 * A token bucket for the controller's own Kubernetes writes: at most `ratePerSecond` on average, bursts
 * up to `burst`. Background writes (scale-downs, activity flushes, Events) wait for a token; a wake, which
 * a user is waiting on, takes one without waiting and may leave the bucket in debt, so the background
 * work that follows slows down instead of the user.
 */
export class TokenBucket {
  readonly #clock: Clock;
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;

  constructor(clock: Clock, ratePerSecond: number, burst = Math.max(1, Math.ceil(ratePerSecond))) {
    if (!(ratePerSecond > 0)) throw new Error(`rate must be positive, got ${ratePerSecond}`);
    this.#clock = clock;
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedAt = clock.now();
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.#rate);
    this.#updatedAt = now;
  }

  /** Milliseconds until a token is available (0 when one is). */
  waitMs(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.#rate) * 1000);
  }

  /** Takes a token now if one is available. */
  tryTake(): boolean {
    if (this.waitMs() > 0) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Takes a token regardless (urgent writes); the debt delays later `take()` calls. */
  takeNow(): void {
    this.#refill();
    this.#tokens -= 1;
  }

  /** Waits (on the clock) until a token is available and takes it. */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.waitMs();
      if (wait === 0) {
        this.#tokens -= 1;
        return;
      }
      await clockSleep(this.#clock, wait, signal);
    }
  }
}
