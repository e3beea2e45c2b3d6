import 'server-only';
import type { User } from 'next-auth';
import { z } from 'zod';
import type { Logger } from '@/agent/logging/logger';
import { clientAddress } from '@/server/http/client-address';
import { describeWait, type LoginLimits } from './login-limiter';
import { defaultScryptParams, spendPasswordTime, verifyPassword, type ScryptParams } from './password';
import type { UserStore, UsersSnapshot } from './user-store';

/** Thrown from authorize: next-auth passes the message to the login form as `error`. */
export class LoginError extends Error {
  override readonly name = 'LoginError';
}

export const invalidCredentialsMessage = 'Invalid username or password';

const credentialsSchema = z.object({
  username: z.string().trim().min(1).max(64),
  password: z.string().min(1).max(1024),
});

export interface AuthorizeDeps {
  store: Pick<UserStore, 'snapshot'>;
  limiter: LoginLimits;
  log: Pick<Logger, 'info' | 'warn'>;
}

function unavailableMessage(snapshot: UsersSnapshot): string {
  return snapshot.error?.startsWith('no dashboard users configured')
    ? 'Sign-in is unavailable: no dashboard users are configured on the server'
    : 'Sign-in is unavailable: the dashboard users file on the server is invalid (see the server log)';
}

function firstParams(snapshot: UsersSnapshot): ScryptParams {
  // Unknown users cost the same as the configured ones when the file uses one cost setting.
  const first = snapshot.users.values().next().value;
  return first ? first.password : defaultScryptParams;
}

async function checkPassword(snapshot: UsersSnapshot, username: string, password: string): Promise<boolean> {
  const user = snapshot.users.get(username);
  if (!user) {
    await spendPasswordTime(password, firstParams(snapshot));
    return false;
  }
  return verifyPassword(password, user.password);
}

/** The Credentials provider's authorize: limiter, users snapshot, constant-time check, audit log line. */
export async function authorizeLogin(
  credentials: unknown,
  headers: Record<string, unknown> | undefined,
  deps: AuthorizeDeps,
): Promise<User> {
  const parsed = credentialsSchema.safeParse(credentials);
  if (!parsed.success) throw new LoginError('Enter a username and a password');
  const { username, password } = parsed.data;
  const address = clientAddress(headers);
  const limit = deps.limiter.check(username, address);
  if (!limit.allowed) {
    throw new LoginError(`Too many failed sign-in attempts: try again in ${describeWait(limit.retryAfterMs)}`);
  }
  const snapshot = deps.store.snapshot();
  if (snapshot.users.size === 0) throw new LoginError(unavailableMessage(snapshot));
  if (!(await checkPassword(snapshot, username, password))) {
    const after = deps.limiter.recordFailure(username, address);
    deps.log.warn({ username, address }, 'dashboard sign-in failed');
    if (!after.allowed) {
      throw new LoginError(
        `${invalidCredentialsMessage}. Too many failed attempts: try again in ${describeWait(after.retryAfterMs)}`,
      );
    }
    throw new LoginError(invalidCredentialsMessage);
  }
  deps.limiter.recordSuccess(username, address);
  const user = snapshot.users.get(username)!;
  deps.log.info({ username, role: user.role, address }, 'dashboard sign-in');
  return { id: user.username, name: user.username, role: user.role, sessionVersion: user.sessionVersion };
}
