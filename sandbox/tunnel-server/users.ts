/**
 * chisel's users and ACLs (reference doc §1.4, §4.4): an authfile is `{"user:pass": ["regex", …]}`,
 * `""` or `"*"` allows everything, and each regex is matched unanchored against the remote's
 * UserAddr (`R:<LocalHost>:<LocalPort>` for reverse remotes).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** The authfile shape: `user:pass` → address regexes. */
export type Authfile = Record<string, string[]>;

export interface TunnelUser {
  name: string;
  password: string;
  /** The regex sources as configured, for display and round-tripping. */
  patterns: string[];
  addrs: RegExp[];
}

const authfileSchema = z.record(z.string(), z.array(z.string(), { error: 'must be an array of regex strings' }), {
  error: 'must be a JSON object of "user:pass": ["regex", …]',
});

/** Splits `user:pass` at the first colon (the password may contain colons), as chisel's ParseAuth. */
export function parseAuth(auth: string): { name: string; password: string } {
  const colon = auth.indexOf(':');
  if (colon < 0) return { name: '', password: '' };
  return { name: auth.slice(0, colon), password: auth.slice(colon + 1) };
}

/** Compiles one Go RE2 pattern; a leading `(?i)` (RE2's whole-pattern flag; JavaScript has only the scoped `(?i:…)`) becomes the `i` flag. */
export function compilePattern(pattern: string): RegExp {
  if (pattern === '' || pattern === '*') return /(?:)/;
  const insensitive = pattern.startsWith('(?i)');
  const source = insensitive ? pattern.slice(4) : pattern;
  try {
    return new RegExp(source, insensitive ? 'i' : '');
  } catch (err) {
    throw new Error(`invalid address regex "${pattern}": ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function compileUser(auth: string, patterns: readonly string[]): TunnelUser {
  const { name, password } = parseAuth(auth);
  if (name === '') throw new Error(`invalid user "${auth}": expected "user:pass"`);
  return { name, password, patterns: [...patterns], addrs: patterns.map(compilePattern) };
}

/** Validates an authfile-shaped object; every problem names the offending key. */
export function compileAuthfile(authfile: unknown): Map<string, TunnelUser> {
  const parsed = authfileSchema.safeParse(authfile);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at "${issue.path.join('.')}"` : '';
    throw new Error(`authfile${where}: ${issue?.message ?? 'invalid'}`);
  }
  const users = new Map<string, TunnelUser>();
  for (const [auth, patterns] of Object.entries(parsed.data)) {
    const user = compileUser(auth, patterns);
    if (users.has(user.name)) throw new Error(`authfile: user "${user.name}" appears more than once`);
    users.set(user.name, user);
  }
  return users;
}

/** Parses authfile JSON text (e.g. the contents of chisel's --authfile). */
export function parseAuthfile(text: string): Map<string, TunnelUser> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`authfile: invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return compileAuthfile(json);
}

/** chisel's User.HasAccess: any regex matching anywhere in the address. */
export function hasAccess(user: TunnelUser, addr: string): boolean {
  return user.addrs.some((re) => re.test(addr));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The live user table; the control plane mutates it to issue and revoke per-cluster credentials. */
export class UserTable {
  #users = new Map<string, TunnelUser>();

  constructor(authfile: Authfile = {}) {
    this.set(authfile);
  }

  get size(): number {
    return this.#users.size;
  }

  /** Replaces every user; on error the table is left unchanged. */
  set(authfile: Authfile): void {
    this.#users = compileAuthfile(authfile);
  }

  /** Adds or replaces one user, e.g. `add('cluster-1:secret', ['^R:127\\.0\\.0\\.1:4000$'])`. */
  add(auth: string, patterns: readonly string[] = ['']): TunnelUser {
    const user = compileUser(auth, patterns);
    this.#users.set(user.name, user);
    return user;
  }

  remove(name: string): boolean {
    return this.#users.delete(name);
  }

  /** The user if the name exists and the password matches (compared in constant time). */
  authenticate(name: string, password: string): TunnelUser | undefined {
    const user = this.#users.get(name);
    if (!user) return undefined;
    return timingSafeEqual(digest(user.password), digest(password)) ? user : undefined;
  }

  toAuthfile(): Authfile {
    return Object.fromEntries([...this.#users.values()].map((u) => [`${u.name}:${u.password}`, [...u.patterns]]));
  }
}
