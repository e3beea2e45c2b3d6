import type { Clock, TimerHandle } from './clock';

export interface Activity {
  at: number;
  source: string;
}

export interface ActivityTrackerOptions {
  clock: Clock;
  /** At most one annotation write per workload per this window. */
  debounceMs: number;
  /** Writes the activity to the workload (the `last-activity` annotations). */
  flush: (key: string, activity: Activity) => Promise<void>;
  onError?: (key: string, error: unknown) => void;
}

interface Entry {
  latest: Activity;
  written?: Activity;
  writtenAt?: number;
  timer?: TimerHandle;
  writing?: Promise<void>;
}

/**
 * Activity per workload (`namespace/name`), kept in memory at full rate and written to the workload's
 * annotations debounced: the first activity after a quiet window is written at once (so an agent restart
 * right after it loses nothing), later ones at most once per window, the newest winning. The controller
 * reads `latest()` as well as the annotation, so a debounced write never lets a busy workload sleep.
 */
export class ActivityTracker {
  readonly #options: ActivityTrackerOptions;
  readonly #entries = new Map<string, Entry>();
  #stopped = false;

  constructor(options: ActivityTrackerOptions) {
    this.#options = options;
  }

  /** Records activity now; returns it. */
  touch(key: string, source: string): Activity {
    const activity = { at: this.#options.clock.now(), source };
    const entry = this.#entries.get(key);
    if (!entry) {
      this.#entries.set(key, { latest: activity });
    } else if (activity.at >= entry.latest.at) {
      entry.latest = activity;
    }
    this.#schedule(key);
    return activity;
  }

  latest(key: string): Activity | undefined {
    return this.#entries.get(key)?.latest;
  }

  /** Marks activity as already written by someone else (a wake writes it with its own patch). */
  written(key: string, activity: Activity): void {
    const entry = this.#entries.get(key) ?? { latest: activity };
    if (activity.at >= entry.latest.at) entry.latest = activity;
    entry.written = activity;
    entry.writtenAt = this.#options.clock.now();
    this.#entries.set(key, entry);
  }

  forget(key: string): void {
    this.#options.clock.clearTimer(this.#entries.get(key)?.timer);
    this.#entries.delete(key);
  }

  /** Resolves when no write is in flight (tests). */
  async idle(): Promise<void> {
    const writes = [...this.#entries.values()].flatMap((entry) => (entry.writing ? [entry.writing] : []));
    await Promise.all(writes);
  }

  stop(): void {
    this.#stopped = true;
    for (const entry of this.#entries.values()) this.#options.clock.clearTimer(entry.timer);
  }

  #schedule(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry || entry.timer || entry.writing || this.#stopped) return;
    if (entry.written && entry.written.at >= entry.latest.at) return;
    const since = entry.writtenAt === undefined ? Infinity : this.#options.clock.now() - entry.writtenAt;
    const wait = since >= this.#options.debounceMs ? 0 : this.#options.debounceMs - since;
    if (wait === 0) {
      this.#write(key, entry);
      return;
    }
    entry.timer = this.#options.clock.setTimer(() => {
      entry.timer = undefined;
      this.#write(key, entry);
    }, wait);
  }

  #write(key: string, entry: Entry): void {
    if (this.#stopped) return;
    const activity = entry.latest;
    entry.writtenAt = this.#options.clock.now();
    entry.writing = this.#options.flush(key, activity).then(
      () => {
        if (!entry.written || activity.at > entry.written.at) entry.written = activity;
      },
      (error: unknown) => this.#options.onError?.(key, error),
    );
    void entry.writing.finally(() => {
      entry.writing = undefined;
      // Newer activity arrived while writing: it goes out at the end of this window.
      this.#schedule(key);
    });
  }
}
