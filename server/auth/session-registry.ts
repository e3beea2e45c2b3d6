/**
 * This replica's memory of sessions: revoked session ids (kept until their absolute expiry, then forgotten:
 * the token is refused by its age from then on) and the last authenticated request per session (for the idle
 * timeout). Both maps are bounded; when full, the entry that expires soonest goes first.
 */
export class SessionRegistry {
  private readonly revoked = new Map<string, number>();
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Refuses `sid` from now until `until` (epoch ms; the session's absolute expiry). */
  revoke(sid: string, until: number): void {
    this.seen.delete(sid);
    if (until <= this.now()) return;
    this.revoked.set(sid, until);
    this.bound(this.revoked);
  }

  isRevoked(sid: string): boolean {
    const until = this.revoked.get(sid);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.revoked.delete(sid);
    return false;
  }

  /** Records an authenticated request of `sid` now. */
  touch(sid: string): void {
    // Re-insert so the map's order is least recently seen first.
    this.seen.delete(sid);
    this.seen.set(sid, this.now());
    this.bound(this.seen);
  }

  lastSeen(sid: string): number | undefined {
    return this.seen.get(sid);
  }

  /** Entries held (for tests and the bound). */
  size(): { revoked: number; seen: number } {
    return { revoked: this.revoked.size, seen: this.seen.size };
  }

  private bound(map: Map<string, number>): void {
    if (map.size <= this.maxEntries) return;
    const now = this.now();
    if (map === this.revoked) for (const [sid, until] of map) if (until <= now) map.delete(sid);
    while (map.size > this.maxEntries) map.delete(smallestKey(map)!);
  }
}

/** The key whose value (an expiry, or a last-seen time) is the smallest: the first to lapse anyway. */
function smallestKey(map: Map<string, number>): string | undefined {
  let soonest: string | undefined;
  let soonestAt = Number.POSITIVE_INFINITY;
  for (const [key, value] of map) {
    if (value < soonestAt) [soonest, soonestAt] = [key, value];
  }
  return soonest;
}
