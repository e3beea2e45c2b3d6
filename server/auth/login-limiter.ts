import 'server-only';

export interface LimiterOptions {
  /** Failures allowed before the first lockout. */
  maxFailures: number;
  /** First lockout; each further failure doubles it up to maxLockMs. */
  baseLockMs: number;
  maxLockMs: number;
  /** A key with no failure for this long starts again from zero. */
  forgetAfterMs: number;
  /** Memory bound: the least recently failed keys are dropped first. */
  maxEntries: number;
  now: () => number;
}

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

export const defaultLimiterOptions: LimiterOptions = {
  maxFailures: 5,
  baseLockMs: 30_000,
  maxLockMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
  maxEntries: 10_000,
  now: () => Date.now(),
};

/** In-memory failed-login counter with growing lockouts. Per process: each replica counts on its own. */
export class LoginLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly options: LimiterOptions;

  constructor(options: Partial<LimiterOptions> = {}) {
    this.options = { ...defaultLimiterOptions, ...options };
  }

  check(key: string): LimitDecision {
    const entry = this.current(key);
    const now = this.options.now();
    if (!entry || entry.lockedUntil <= now) return { allowed: true };
    return { allowed: false, retryAfterMs: entry.lockedUntil - now };
  }

  /** Records a failure; returns the lockout it started, if any. */
  recordFailure(key: string): LimitDecision {
    const now = this.options.now();
    const entry = this.current(key) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    entry.failures += 1;
    entry.lastFailure = now;
    const over = entry.failures - this.options.maxFailures;
    if (over >= 0) {
      entry.lockedUntil = now + Math.min(this.options.baseLockMs * 2 ** Math.min(over, 20), this.options.maxLockMs);
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.evict();
    return this.check(key);
  }

  recordSuccess(key: string): void {
    this.entries.delete(key);
  }

  private current(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.options.now() - entry.lastFailure > this.options.forgetAfterMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries) return;
      this.entries.delete(key);
    }
  }
}

/** "30 s", "2 min": how long a locked-out user waits, rounded up. */
export function describeWait(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return seconds < 120 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`;
}

/**
 * The three limits of a sign-in: username+address (a user mistyping), address across usernames (one
 * client spraying many accounts) and username across addresses (many clients guessing one account).
 * An attempt is refused while any of them is locked. Per process and in memory: a restart forgets the
 * counters, and each replica counts on its own (README, "Security").
 */
export class LoginLimits {
  constructor(
    readonly pair = new LoginLimiter(),
    readonly address = new LoginLimiter({ maxFailures: 20 }),
    readonly user = new LoginLimiter({ maxFailures: 50 }),
  ) {}

  private keys(username: string, address: string): [LoginLimiter, string][] {
    const user = username.toLowerCase();
    return [
      [this.pair, `${user}\n${address}`],
      [this.address, address],
      [this.user, user],
    ];
  }

  private longest(decisions: LimitDecision[]): LimitDecision {
    const waits = decisions.flatMap((d) => (d.allowed ? [] : [d.retryAfterMs]));
    return waits.length === 0 ? { allowed: true } : { allowed: false, retryAfterMs: Math.max(...waits) };
  }

  check(username: string, address: string): LimitDecision {
    return this.longest(this.keys(username, address).map(([limiter, key]) => limiter.check(key)));
  }

  recordFailure(username: string, address: string): LimitDecision {
    return this.longest(this.keys(username, address).map(([limiter, key]) => limiter.recordFailure(key)));
  }

  /** Only the pair is forgiven: a user's own success must not reset a spray from their address. */
  recordSuccess(username: string, address: string): void {
    this.pair.recordSuccess(`${username.toLowerCase()}\n${address}`);
  }
}
