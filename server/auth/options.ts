import 'server-only';
import { randomUUID } from 'node:crypto';
import type { AuthOptions, User } from 'next-auth';
import type { JWT } from 'next-auth/jwt';
import CredentialsProvider from 'next-auth/providers/credentials';
import { authConfig, authSecret, type UsersSource } from './auth-config';
import { authorizeLogin } from './authorize';
import { LoginLimits } from './login-limiter';
import { dashboardLogger } from './logger';
import { isRole } from './roles';
import { decideSession, sessionClaimsOf, type SessionDecision, type SessionRefusal } from './session-policy';
import { SessionRegistry } from './session-registry';
import { UserStore } from './user-store';

// Sign-outs and last-seen times kept per replica: far more than a dashboard has sessions, a few MB at most.
const maxTrackedSessions = 20_000;

const stateKey = Symbol.for('pipeops.dashboardAuthState');
interface AuthState {
  sourceKey: string;
  store: UserStore;
  limiter: LoginLimits;
  sessions: SessionRegistry;
}
type GlobalWithState = typeof globalThis & { [stateKey]?: AuthState };

/** The users store and login limiter of this process (one across Next's module graphs). */
export function authState(): AuthState {
  const store = globalThis as GlobalWithState;
  const source: UsersSource = authConfig().users;
  const sourceKey = JSON.stringify(source);
  const current = store[stateKey];
  if (current?.sourceKey === sourceKey) return current;
  store[stateKey] = {
    sourceKey,
    store: new UserStore(source, dashboardLogger()),
    limiter: current?.limiter instanceof LoginLimits ? current.limiter : new LoginLimits(),
    sessions: current?.sessions instanceof SessionRegistry ? current.sessions : new SessionRegistry(maxTrackedSessions),
  };
  return store[stateKey];
}

/**
 * Without NEXTAUTH_URL, next-auth v4 only derives its origin from the request when AUTH_TRUST_HOST (or VERCEL)
 * is set (next-auth/utils/detect-origin.js): `${x-forwarded-proto === 'http' ? 'http' : 'https'}://${
 * x-forwarded-host ?? host}`. Next's server fills both headers from the socket when no proxy did, so the same
 * build works through `kubectl port-forward` on any port and behind an ingress on any host. NEXTAUTH_URL, when
 * set, still wins.
 */
function trustRequestHost(url: string | undefined): void {
  if (!url) process.env.AUTH_TRUST_HOST ??= 'true';
}

/** Only same-origin targets: a relative path, or an absolute URL on the origin next-auth derived. */
export function sameOriginRedirect({ url, baseUrl }: { url: string; baseUrl: string }): string {
  if (url.startsWith('/') && !url.startsWith('//') && !url.startsWith('/\\')) return `${baseUrl}${url}`;
  try {
    if (new URL(url).origin === new URL(baseUrl).origin) return url;
  } catch {
    // Not a URL: fall through to the dashboard.
  }
  return `${baseUrl}/dashboard`;
}

/** Thrown from the jwt callback: next-auth then treats the request as signed out and clears the cookie. */
export class SessionRefusedError extends Error {
  override readonly name = 'SessionRefusedError';
  constructor(readonly reason: SessionRefusal) {
    super(`session refused: ${reason}`);
  }
}

// By name: Next bundles this module into several graphs, so instanceof can see a different class.
function isSessionRefusal(value: unknown): value is SessionRefusedError {
  return value instanceof Error && value.name === 'SessionRefusedError';
}

/** Decides on a token now, against the current users file and this replica's revocations. */
export function checkSessionToken(token: Record<string, unknown> | null | undefined, now: number): SessionDecision {
  const config = authConfig();
  const { store, sessions } = authState();
  return decideSession(sessionClaimsOf(token), {
    now,
    limits: { absoluteMs: config.sessionMaxAgeSeconds * 1000, idleMs: config.sessionIdleTimeoutSeconds * 1000 },
    users: store.snapshot().users,
    isRevoked: (sid) => sessions.isRevoked(sid),
    lastSeen: (sid) => sessions.lastSeen(sid),
  });
}

function signInToken(token: JWT, user: User, now: number): JWT {
  return {
    ...token,
    name: user.name,
    role: user.role,
    sid: randomUUID(),
    signedInAt: now,
    sessionVersion: user.sessionVersion,
    lastSeenAt: now,
  };
}

/** Every session read goes through here: refuse an ended session, else record this request as activity. */
function continueSession(token: JWT, now: number): JWT {
  const decision = checkSessionToken(token, now);
  if (!decision.valid) throw new SessionRefusedError(decision.reason);
  authState().sessions.touch(token.sid!);
  return { ...token, role: decision.user.role, lastSeenAt: now };
}

/** Sign-out: the session id is refused until the session would have expired anyway. */
function revokeSession(token: JWT | null): void {
  const claims = sessionClaimsOf(token);
  if (!claims) return;
  authState().sessions.revoke(claims.sid, claims.signedInAt + authConfig().sessionMaxAgeSeconds * 1000);
  dashboardLogger().info({ username: claims.name }, 'dashboard sign-out: session revoked');
}

const optionsKey = Symbol.for('pipeops.dashboardAuthOptions');
type GlobalWithOptions = typeof globalThis & { [optionsKey]?: { key: string; options: AuthOptions } };

function buildAuthOptions(): AuthOptions {
  const config = authConfig();
  trustRequestHost(config.url);
  return {
    secret: authSecret(),
    session: { strategy: 'jwt', maxAge: config.sessionMaxAgeSeconds },
    jwt: { maxAge: config.sessionMaxAgeSeconds },
    pages: { signIn: '/login', error: '/login' },
    providers: [
      CredentialsProvider({
        name: 'Dashboard',
        credentials: {
          username: { label: 'Username', type: 'text' },
          password: { label: 'Password', type: 'password' },
        },
        authorize: (credentials, req) => {
          const { store, limiter } = authState();
          return authorizeLogin(credentials, req.headers, { store, limiter, log: dashboardLogger() });
        },
      }),
    ],
    callbacks: {
      jwt({ token, user }) {
        // `user` is only present on sign-in; every later read is checked (lifetime, idle, sign-out, version).
        return user ? signInToken(token, user, Date.now()) : continueSession(token, Date.now());
      },
      session({ session, token }) {
        session.user = { name: token.name ?? '', role: isRole(token.role) ? token.role : 'viewer' };
        session.claims = sessionClaimsOf(token);
        return session;
      },
      redirect: sameOriginRedirect,
    },
    events: { signOut: ({ token }) => revokeSession(token) },
    logger: {
      error: (code, metadata) => {
        // An ended session is an expected outcome, not a server error.
        if (isSessionRefusal(metadata)) {
          dashboardLogger().info({ reason: metadata.reason }, 'dashboard session refused');
          return;
        }
        dashboardLogger().error({ code, metadata }, 'next-auth error');
      },
      warn: (code) => dashboardLogger().warn({ code }, 'next-auth warning'),
      debug: () => undefined,
    },
  };
}

/** next-auth options for the route handler and getServerSession; rebuilt only when the auth env changes. */
export function authOptions(): AuthOptions {
  const store = globalThis as GlobalWithOptions;
  const config = authConfig();
  if (store[optionsKey]?.key !== JSON.stringify(config)) {
    store[optionsKey] = { key: JSON.stringify(config), options: buildAuthOptions() };
  }
  return store[optionsKey].options;
}
