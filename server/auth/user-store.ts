import 'server-only';
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '@/agent/logging/logger';
import type { UsersSource } from './auth-config';
import { parseUsers, UsersFileError, type DashboardUser } from './users-file';

export interface UsersSnapshot {
  users: ReadonlyMap<string, DashboardUser>;
  /** Why the current source could not be used (the users shown are then the last good ones, or none). */
  error?: string;
}

type LogSink = Pick<Logger, 'info' | 'error'>;

const noUsersMessage =
  'no dashboard users configured: set PIPEOPS_DASHBOARD_USERS_FILE (a mounted Secret) or PIPEOPS_DASHBOARD_USERS';

function toMap(users: DashboardUser[]): Map<string, DashboardUser> {
  return new Map(users.map((user) => [user.username, user]));
}

function fileVersion(path: string): string {
  // A Secret volume update swaps a symlink: the inode changes even when mtime has coarse resolution.
  const stats = statSync(/* turbopackIgnore: true */ path);
  return `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
}

/**
 * The dashboard's users. A file source is re-read whenever its mtime, size or inode changes, so rotating the
 * Secret needs no restart; a broken file keeps the last good users and records why.
 */
export class UserStore {
  private users: Map<string, DashboardUser> = new Map();
  private error: string | undefined;
  private version: string | undefined;

  constructor(
    private readonly source: UsersSource,
    private readonly log: LogSink,
  ) {
    if (source.kind === 'inline') this.load(() => source.text, 'env PIPEOPS_DASHBOARD_USERS');
    if (source.kind === 'none') this.error = noUsersMessage;
  }

  snapshot(): UsersSnapshot {
    if (this.source.kind === 'file') this.refresh(this.source.path);
    return { users: this.users, error: this.error };
  }

  private refresh(path: string): void {
    let version: string;
    try {
      version = fileVersion(path);
    } catch (error) {
      this.version = undefined;
      this.fail(`dashboard users (file ${path}): cannot read: ${(error as Error).message}`);
      return;
    }
    if (version === this.version) return;
    this.version = version;
    this.load(() => readFileSync(/* turbopackIgnore: true */ path, 'utf8'), `file ${path}`);
  }

  private load(read: () => string, source: string): void {
    try {
      const users = parseUsers(read(), source);
      this.users = toMap(users);
      this.error = undefined;
      this.log.info({ users: users.length, source }, 'dashboard users loaded');
    } catch (error) {
      const message =
        error instanceof UsersFileError ? error.message : `dashboard users (${source}): ${(error as Error).message}`;
      this.fail(message);
    }
  }

  private fail(message: string): void {
    // Log each distinct problem once, not on every login attempt.
    if (this.error === message) return;
    this.error = message;
    const kept = this.users.size;
    this.log.error(
      { kept_users: kept },
      `${message}; ${kept > 0 ? 'keeping the last good users' : 'nobody can sign in'}`,
    );
  }
}
