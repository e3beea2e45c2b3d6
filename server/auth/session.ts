import 'server-only';
import { getServerSession, type Session } from 'next-auth';
import { redirect } from 'next/navigation';
import { safeCallbackPath } from './callback-url';
import { authOptions, authState } from './options';
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
