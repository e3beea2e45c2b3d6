import { describe, expect, it } from 'vitest';
import { decideSession, sessionClaimsOf, type SessionClaims, type SessionFacts } from './session-policy';
import { SessionRegistry } from './session-registry';

const minute = 60_000;
const signedInAt = Date.UTC(2026, 0, 1, 8, 0, 0);
const claims: SessionClaims = { sid: 's-1', name: 'alice', signedInAt, sessionVersion: 2, lastSeenAt: signedInAt };

function facts(overrides: Partial<SessionFacts> = {}): SessionFacts {
  return {
    now: signedInAt + minute,
    limits: { absoluteMs: 12 * 60 * minute, idleMs: 30 * minute },
    users: new Map([['alice', { username: 'alice', role: 'admin', sessionVersion: 2 }]]),
    isRevoked: () => false,
    lastSeen: () => undefined,
    ...overrides,
  };
}

describe('decideSession', () => {
  it('accepts a fresh session and takes the role from the users file', () => {
    expect(decideSession(claims, facts())).toEqual({ valid: true, user: { name: 'alice', role: 'admin' } });
  });

  it('refuses a token without the sign-in claims (one issued before them)', () => {
    expect(decideSession(sessionClaimsOf({ name: 'alice', role: 'admin' }), facts())).toEqual({
      valid: false,
      reason: 'malformed',
    });
  });

  it('refuses a revoked session id', () => {
    expect(decideSession(claims, facts({ isRevoked: (sid) => sid === 's-1' }))).toMatchObject({ reason: 'revoked' });
  });

  it('ends at the absolute lifetime however recent the activity', () => {
    const now = signedInAt + 12 * 60 * minute;
    const active = { ...claims, lastSeenAt: now - 1 };
    expect(decideSession(active, facts({ now: now - 1, lastSeen: () => now - 2 })).valid).toBe(true);
    expect(decideSession(active, facts({ now, lastSeen: () => now - 1 }))).toMatchObject({
      reason: 'absolute_lifetime',
    });
  });

  it('ends after the idle timeout since the latest of the cookie and this replica', () => {
    const now = signedInAt + 40 * minute;
    expect(decideSession(claims, facts({ now }))).toMatchObject({ reason: 'idle_timeout' });
    expect(decideSession(claims, facts({ now, lastSeen: () => now - 29 * minute })).valid).toBe(true);
    expect(decideSession({ ...claims, lastSeenAt: now - 29 * minute }, facts({ now })).valid).toBe(true);
  });

  it('refuses a removed user and a session_version other than the current one', () => {
    expect(decideSession({ ...claims, name: 'bob' }, facts())).toMatchObject({ reason: 'unknown_user' });
    expect(decideSession({ ...claims, sessionVersion: 1 }, facts())).toMatchObject({ reason: 'session_version' });
  });
});

describe('SessionRegistry', () => {
  it('keeps a revocation until the given expiry, then forgets it', () => {
    let now = 1000;
    const registry = new SessionRegistry(10, () => now);
    registry.revoke('a', 2000);
    expect(registry.isRevoked('a')).toBe(true);
    now = 2000;
    expect(registry.isRevoked('a')).toBe(false);
    expect(registry.size().revoked).toBe(0);
  });

  it('stays within its bound: expired revocations go first, then the one expiring soonest', () => {
    let now = 0;
    const registry = new SessionRegistry(2, () => now);
    registry.revoke('short', 10);
    registry.revoke('long', 1000);
    now = 20;
    registry.revoke('new', 500);
    expect(registry.size().revoked).toBe(2);
    expect([registry.isRevoked('long'), registry.isRevoked('new')]).toEqual([true, true]);
    registry.revoke('newest', 2000);
    expect([registry.isRevoked('new'), registry.isRevoked('long'), registry.isRevoked('newest')]).toEqual([
      false,
      true,
      true,
    ]);
  });

  it('records last-seen times within its bound, dropping the least recently seen', () => {
    let now = 0;
    const registry = new SessionRegistry(2, () => now);
    for (const sid of ['a', 'b', 'c']) {
      now += 1;
      registry.touch(sid);
    }
    expect([registry.lastSeen('a'), registry.lastSeen('b'), registry.lastSeen('c')]).toEqual([undefined, 2, 3]);
    registry.revoke('b', 100);
    expect(registry.lastSeen('b')).toBeUndefined();
  });
});
