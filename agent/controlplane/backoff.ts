import { setTimeout as sleepTimer } from 'node:timers/promises';

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** "Full jitter": a uniformly random delay in [0, min(cap, base·2^attempt)], so reconnect storms spread out. */
export function fullJitterDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Sleeps unless aborted; resolves false when the signal aborted the wait. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await sleepTimer(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
