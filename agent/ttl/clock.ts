/**
 * Time as the TTL code sees it. Production uses the system clock; tests inject a FakeClock so a
 * 30-minute TTL scenario runs in seconds and every deadline fires at an exact, reproducible instant.
 */
export interface Clock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle | undefined): void;
}

export interface TimerHandle {
  readonly id: number;
}

interface SystemHandle extends TimerHandle {
  timeout: NodeJS.Timeout;
}

let nextId = 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, delayMs): TimerHandle {
    // Node caps timers at 2^31-1 ms; a longer TTL deadline is simply re-checked after that.
    const timeout = setTimeout(callback, Math.min(Math.max(delayMs, 0), 2_147_483_647));
    timeout.unref();
    return { id: nextId++, timeout } as SystemHandle;
  },
  clearTimer(handle): void {
    if (handle) clearTimeout((handle as SystemHandle).timeout);
  },
};

interface FakeTimer {
  id: number;
  at: number;
  callback: () => void;
}

/** A manual clock: `advance` moves time forward and runs due timers in deadline order. */
export class FakeClock implements Clock {
  #now: number;
  #timers: FakeTimer[] = [];

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: nextId++, at: this.#now + Math.max(delayMs, 0), callback };
    this.#timers.push(timer);
    return { id: timer.id };
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (handle) this.#timers = this.#timers.filter((timer) => timer.id !== handle.id);
  }

  /** Pending timers (for tests that assert nothing is scheduled). */
  get pending(): number {
    return this.#timers.length;
  }

  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((timer) => timer.at <= end).sort((x, y) => x.at - y.at || x.id - y.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((timer) => timer !== due);
      this.#now = Math.max(this.#now, due.at);
      due.callback();
    }
    this.#now = end;
  }
}

/** Resolves after `ms` of the given clock's time, or rejects when the signal aborts. */
export function clockSleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      clock.clearTimer(handle);
      reject(new Error('aborted'));
    };
    const handle = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
