import 'server-only';
import { getServerSession, type Session } from 'next-auth';
import { redirect } from 'next/navigation';
import { safeCallbackPath } from './callback-url';
import { authOptions, authState, checkSessionToken } from './options';
import type { SessionUser } from './roles';
import type { UsersSnapshot } from './user-store';

/**
 * The session's user checked against the current users file: a user removed from the Secret loses access on
 * the next request, and a changed role applies at once, although the JWT cookie lives on until it expires.
 */
export function resolveSessionUser(session: Session | null, snapshot: UsersSnapshot): SessionUser | null {
  const name = session?.user?.name;
  if (!name) return null;
  const user = snapshot.users.get(name);
  return user ? { name: user.username, role: user.role } : null;
}

/** The signed-in user of the current request (route handler or server component), or null. */
export async function currentSessionUser(): Promise<SessionUser | null> {
  const session = await getServerSession(authOptions());
  return resolveSessionUser(session, authState().store.snapshot());
}

/** For pages: the signed-in user, or a redirect to /login that comes back to `path` afterwards. */
export async function requireSession(path: string): Promise<SessionUser> {
  const user = await currentSessionUser();
  if (!user) redirect(`/login?${new URLSearchParams({ callbackUrl: safeCallbackPath(path) })}`);
  return user;
}

/** How often an open SSE stream re-checks its session (sign-out, lifetime, idle, session_version). */
export const streamSessionCheckMs = 5_000;

/**
 * A signal for a long-lived response (the SSE stream) of the current request: aborted when the request is,
 * or at the first periodic check that finds the session ended. The stream itself does not count as activity,
 * so a tab left open is signed out after the idle timeout like any other.
 */
export async function sessionBoundSignal(requestSignal: AbortSignal): Promise<AbortSignal> {
  const session = await getServerSession(authOptions());
  const ended = new AbortController();
  if (!session?.claims) {
    ended.abort();
    return ended.signal;
  }
  const claims = session.claims;
  const timer = setInterval(() => {
    // The claims as of this request: a later cookie refresh only moves lastSeenAt, which the registry has too.
    if (!checkSessionToken({ ...claims }, Date.now()).valid) ended.abort();
  }, streamSessionCheckMs);
  timer.unref();
  const stop = (): void => clearInterval(timer);
  ended.signal.addEventListener('abort', stop, { once: true });
  if (requestSignal.aborted) ended.abort();
  else requestSignal.addEventListener('abort', () => ended.abort(), { once: true });
  return ended.signal;
}
