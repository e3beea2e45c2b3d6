import 'server-only';
import type { AuthOptions } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { authConfig, authSecret, type UsersSource } from './auth-config';
import { authorizeLogin } from './authorize';
import { LoginLimits } from './login-limiter';
import { dashboardLogger } from './logger';
import { isRole } from './roles';
import { UserStore } from './user-store';

const stateKey = Symbol.for('pipeops.dashboardAuthState');
interface AuthState {
  sourceKey: string;
  store: UserStore;
  limiter: LoginLimits;
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
        // `user` is only present on sign-in; later calls keep what the token already carries.
        if (user) {
          token.name = user.name;
          token.role = user.role;
        }
        return token;
      },
      session({ session, token }) {
        session.user = { name: token.name ?? '', role: isRole(token.role) ? token.role : 'viewer' };
        return session;
      },
      redirect: sameOriginRedirect,
    },
    logger: {
      error: (code, metadata) => dashboardLogger().error({ code, metadata }, 'next-auth error'),
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
