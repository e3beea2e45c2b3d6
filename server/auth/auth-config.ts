import 'server-only';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '@/agent/config/load';
import { parseDuration } from '@/agent/config/duration';
import { dashboardLogger } from './logger';

export type Env = Record<string, string | undefined>;

export type UsersSource = { kind: 'file'; path: string } | { kind: 'inline'; text: string } | { kind: 'none' };

export interface AuthConfig {
  /** From NEXTAUTH_SECRET; undefined means a per-process random secret is used. */
  secret?: string;
  /** From NEXTAUTH_URL; undefined means the origin comes from each request's (X-Forwarded-)Host. */
  url?: string;
  users: UsersSource;
  readOnly: boolean;
  /** Absolute lifetime of a session, counted from sign-in and never extended. */
  sessionMaxAgeSeconds: number;
  /** A session with no authenticated request for this long is refused. */
  sessionIdleTimeoutSeconds: number;
}

const envNames = [
  'NEXTAUTH_SECRET',
  'NEXTAUTH_URL',
  'PIPEOPS_DASHBOARD_USERS_FILE',
  'PIPEOPS_DASHBOARD_USERS',
  'PIPEOPS_DASHBOARD_READ_ONLY',
  'PIPEOPS_DASHBOARD_SESSION_MAX_AGE',
  'PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT',
] as const;
const secretNames = new Set<string>(['NEXTAUTH_SECRET', 'PIPEOPS_DASHBOARD_USERS']);

const booleanLike = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** A duration env value from 1m to 720h, in whole seconds. */
function sessionDuration(example: string): z.ZodType<number, string> {
  return z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms < 60_000 || ms > 30 * 86_400_000) {
      ctx.addIssue({ code: 'custom', message: `must be a duration from 1m to 720h, e.g. ${example}` });
      return z.NEVER;
    }
    return Math.floor(ms / 1000);
  });
}

const envSchema = z.object({
  NEXTAUTH_SECRET: z
    .string()
    .min(32, { error: 'must be at least 32 characters (e.g. the output of: openssl rand -base64 32)' })
    .optional(),
  NEXTAUTH_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, or unset to use the request host' })
    .optional(),
  PIPEOPS_DASHBOARD_USERS_FILE: z.string().optional(),
  PIPEOPS_DASHBOARD_USERS: z.string().optional(),
  PIPEOPS_DASHBOARD_READ_ONLY: booleanLike.default(false),
  PIPEOPS_DASHBOARD_SESSION_MAX_AGE: sessionDuration('12h').default(12 * 3600),
  PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT: sessionDuration('30m').default(30 * 60),
});

function pickEnv(env: Env): Record<string, string> {
  // Helm renders unset values as "", which means "not set" here.
  const picked: Record<string, string> = {};
  for (const name of envNames) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') picked[name] = value.trim();
  }
  return picked;
}

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, string>): string {
  const name = String(issue.path[0]);
  const value = secretNames.has(name) ? '[redacted]' : JSON.stringify(raw[name]);
  return `config: env ${name} = ${value} is invalid: ${issue.message}`;
}

/** Validates the dashboard's auth environment; a bad value throws a one-line ConfigError like the agent's. */
export function loadAuthConfig(env: Env = process.env): AuthConfig {
  const raw = pickEnv(env);
  const result = envSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(describeIssue(result.error.issues[0]!, raw));
  const data = result.data;
  if (data.PIPEOPS_DASHBOARD_USERS_FILE && data.PIPEOPS_DASHBOARD_USERS) {
    throw new ConfigError(
      'config: env PIPEOPS_DASHBOARD_USERS_FILE and PIPEOPS_DASHBOARD_USERS are both set: set only one of them',
    );
  }
  const maxAge = data.PIPEOPS_DASHBOARD_SESSION_MAX_AGE;
  const idle = Math.min(data.PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT, maxAge);
  if (raw.PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT && data.PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT > maxAge) {
    throw new ConfigError(
      `config: env PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT = ${JSON.stringify(raw.PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT)} is invalid: ` +
        `must not be longer than the session's absolute lifetime PIPEOPS_DASHBOARD_SESSION_MAX_AGE (${maxAge}s)`,
    );
  }
  const users: UsersSource = data.PIPEOPS_DASHBOARD_USERS_FILE
    ? { kind: 'file', path: data.PIPEOPS_DASHBOARD_USERS_FILE }
    : data.PIPEOPS_DASHBOARD_USERS
      ? { kind: 'inline', text: data.PIPEOPS_DASHBOARD_USERS }
      : { kind: 'none' };
  return {
    secret: data.NEXTAUTH_SECRET,
    url: data.NEXTAUTH_URL,
    users,
    readOnly: data.PIPEOPS_DASHBOARD_READ_ONLY,
    sessionMaxAgeSeconds: maxAge,
    sessionIdleTimeoutSeconds: idle,
  };
}

const configKey = Symbol.for('pipeops.dashboardAuthConfig');
const secretKey = Symbol.for('pipeops.dashboardGeneratedSecret');
type GlobalWithConfig = typeof globalThis & {
  [configKey]?: { key: string; config: AuthConfig };
  [secretKey]?: string;
};

/** The process's auth config, re-validated only when one of its variables changes (tests stub env). */
export function authConfig(): AuthConfig {
  const store = globalThis as GlobalWithConfig;
  const key = JSON.stringify(envNames.map((name) => process.env[name] ?? null));
  if (store[configKey]?.key !== key) store[configKey] = { key, config: loadAuthConfig(process.env) };
  return store[configKey].config;
}

/** Global read-only mode: every mutation is refused and the page hides its action buttons. */
export function isReadOnly(): boolean {
  return authConfig().readOnly;
}

/**
 * NEXTAUTH_SECRET, or one random secret per process kept on globalThis so every Next module graph (pages,
 * route handlers) signs and reads sessions with the same key.
 */
export function authSecret(): string {
  const configured = authConfig().secret;
  if (configured) return configured;
  const store = globalThis as GlobalWithConfig;
  if (!store[secretKey]) {
    store[secretKey] = randomBytes(32).toString('base64url');
    dashboardLogger().warn(
      'NEXTAUTH_SECRET is not set: using a random secret for this process; sessions end when it restarts, and ' +
        'replicas > 1 need one shared NEXTAUTH_SECRET (a Secret) or users are signed out when requests change pods',
    );
  }
  return store[secretKey];
}
