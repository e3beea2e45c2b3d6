import type { SessionUser } from './roles';
import type { DashboardUser } from './users-file';

/**
 * The claims this dashboard puts in its session JWT at sign-in. next-auth gives the JWT a fresh `jti` every
 * time it re-encodes the cookie, so the stable id of one sign-in is `sid`; `signedInAt` is never refreshed.
 */
export interface SessionClaims {
  sid: string;
  name: string;
  /** Epoch ms of the sign-in; the absolute lifetime counts from here. */
  signedInAt: number;
  /** The user's `session_version` at sign-in. */
  sessionVersion: number;
  /** Epoch ms of the last request the cookie itself records (set when next-auth re-issues it). */
  lastSeenAt: number;
}

export interface SessionLimits {
  absoluteMs: number;
  idleMs: number;
}

export type SessionRefusal =
  'malformed' | 'revoked' | 'absolute_lifetime' | 'idle_timeout' | 'unknown_user' | 'session_version';

export type SessionDecision = { valid: true; user: SessionUser } | { valid: false; reason: SessionRefusal };

export interface SessionFacts {
  now: number;
  limits: SessionLimits;
  users: ReadonlyMap<string, Pick<DashboardUser, 'username' | 'role' | 'sessionVersion'>>;
  isRevoked: (sid: string) => boolean;
  /** The last authenticated request this replica saw for `sid`, if any. */
  lastSeen: (sid: string) => number | undefined;
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Reads the dashboard's claims from a decoded token; undefined when any is missing (a token of old code). */
export function sessionClaimsOf(token: Record<string, unknown> | null | undefined): SessionClaims | undefined {
  if (!token) return undefined;
  const { sid, name, signedInAt, sessionVersion, lastSeenAt } = token;
  if (typeof sid !== 'string' || sid === '' || typeof name !== 'string' || name === '') return undefined;
  if (!finite(signedInAt) || !finite(sessionVersion) || !finite(lastSeenAt)) return undefined;
  return { sid, name, signedInAt, sessionVersion, lastSeenAt };
}

/**
 * Whether a session may be used now, and if not why. Pure: the clock, the users file, the revocations and
 * the last-seen times are all given.
 */
export function decideSession(claims: SessionClaims | undefined, facts: SessionFacts): SessionDecision {
  if (!claims) return { valid: false, reason: 'malformed' };
  if (facts.isRevoked(claims.sid)) return { valid: false, reason: 'revoked' };
  if (facts.now - claims.signedInAt >= facts.limits.absoluteMs) return { valid: false, reason: 'absolute_lifetime' };
  const lastSeen = Math.max(claims.lastSeenAt, facts.lastSeen(claims.sid) ?? claims.lastSeenAt);
  if (facts.now - lastSeen >= facts.limits.idleMs) return { valid: false, reason: 'idle_timeout' };
  const user = facts.users.get(claims.name);
  if (!user) return { valid: false, reason: 'unknown_user' };
  if (user.sessionVersion !== claims.sessionVersion) return { valid: false, reason: 'session_version' };
  return { valid: true, user: { name: user.username, role: user.role } };
}
