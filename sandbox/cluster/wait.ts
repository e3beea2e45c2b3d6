import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` every 250 ms until it returns true; a check that throws counts as "not yet" unless it
 * throws through `abort` (a component that died should fail fast, not time out).
 */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof FatalWaitError) throw error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(250);
  }
}

/** Thrown from a `waitFor` check to stop waiting at once. */
export class FatalWaitError extends Error {}
