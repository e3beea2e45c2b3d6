import 'server-only';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { parsePasswordHash, passwordHashFormat, type PasswordHash } from './password';
import { roles, type Role } from './roles';

export interface DashboardUser {
  username: string;
  role: Role;
  password: PasswordHash;
  /** `session_version` (default 0): raising it ends every session signed in with a lower one. */
  sessionVersion: number;
}

/** A users file (or inline value) that cannot be used; the message is one line naming the entry and field. */
export class UsersFileError extends Error {
  override readonly name = 'UsersFileError';
}

const usernamePattern = /^[A-Za-z0-9._@-]{1,64}$/;
const usernameRule = 'must be 1 to 64 letters, digits or . _ @ -';
const roleRule = `must be ${roles.join(' or ')}`;
const hashRule = `must be ${passwordHashFormat} (print one with server/auth/hash-password-cli.ts)`;
const entryKeys = ['username', 'role', 'password_hash', 'session_version'] as const;
const sessionVersionRule = 'must be a whole number from 0 (raise it to end every session of this user)';

const entrySchema = z
  .object({
    username: z.string({ error: usernameRule }).regex(usernamePattern, usernameRule),
    role: z.enum(roles, { error: roleRule }),
    password_hash: z.string({ error: hashRule }).transform((text, ctx) => {
      const parsed = parsePasswordHash(text);
      if (!parsed) ctx.addIssue({ code: 'custom', message: hashRule });
      return parsed as PasswordHash;
    }),
    session_version: z
      .number({ error: sessionVersionRule })
      .int(sessionVersionRule)
      .min(0, sessionVersionRule)
      .max(Number.MAX_SAFE_INTEGER, sessionVersionRule)
      .default(0),
  })
  .strict();

const example = 'users: [{username: admin, role: admin, password_hash: "scrypt$..."}]';

function parseText(text: string, prefix: string): unknown {
  try {
    return parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    throw new UsersFileError(`${prefix}: not valid YAML or JSON${where}: ${(error as Error).message.split('\n')[0]}`);
  }
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeEntryIssue(issue: z.core.$ZodIssue, entry: Record<string, unknown>, label: string): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => `"${key}"`).join(', ');
    return `${label}: unknown key ${keys}: allowed keys are ${entryKeys.join(', ')}`;
  }
  const field = String(issue.path[0] ?? 'entry');
  const value = entry[field];
  if (value === undefined || value === null) return `${label}: ${field} is missing: ${issue.message}`;
  // Never echo a password hash back into logs.
  const shown = field === 'password_hash' ? '' : ` = ${describeValue(value)}`;
  return `${label}: ${field}${shown} is invalid: ${issue.message}`;
}

function parseEntry(raw: unknown, index: number, prefix: string): DashboardUser {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UsersFileError(`${prefix}: users[${index}] must be a mapping with ${entryKeys.slice(0, 3).join(', ')}`);
  }
  const entry = raw as Record<string, unknown>;
  const name = typeof entry.username === 'string' ? ` "${entry.username}"` : '';
  const label = `${prefix}: users[${index}]${name}`;
  const result = entrySchema.safeParse(entry);
  if (!result.success) throw new UsersFileError(describeEntryIssue(result.error.issues[0]!, entry, label));
  return {
    username: result.data.username,
    role: result.data.role,
    password: result.data.password_hash,
    sessionVersion: result.data.session_version,
  };
}

/**
 * Parses `users: [{username, role, password_hash}]` from YAML or JSON text. `source` names where the text
 * came from (`file /etc/...` or `env PIPEOPS_DASHBOARD_USERS`) in every error message.
 */
export function parseUsers(text: string, source: string): DashboardUser[] {
  const prefix = `dashboard users (${source})`;
  const document = parseText(text, prefix);
  const list = document && typeof document === 'object' ? (document as Record<string, unknown>).users : undefined;
  if (!Array.isArray(list))
    throw new UsersFileError(`${prefix}: must be a mapping with a "users" list, e.g. ${example}`);
  const extra = Object.keys(document as object).filter((key) => key !== 'users');
  if (extra.length > 0)
    throw new UsersFileError(`${prefix}: unknown top-level key "${extra[0]}": only "users" is allowed`);
  const seen = new Map<string, number>();
  return list.map((raw, index) => {
    const user = parseEntry(raw, index, prefix);
    const first = seen.get(user.username);
    if (first !== undefined) {
      throw new UsersFileError(
        `${prefix}: users[${index}] "${user.username}": username is a duplicate of users[${first}]: usernames must be unique`,
      );
    }
    seen.set(user.username, index);
    return user;
  });
}
