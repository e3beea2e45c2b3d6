import { describe, expect, it } from 'vitest';
import { resolveSessionUser } from './session';
import type { UsersSnapshot } from './user-store';
import type { DashboardUser } from './users-file';

const user = (username: string, role: DashboardUser['role']): DashboardUser =>
  ({ username, role, password: {} }) as DashboardUser;
const snapshot: UsersSnapshot = { users: new Map([['alice', user('alice', 'viewer')]]) };
const session = (name: string, role: 'admin' | 'viewer') => ({ user: { name, role }, expires: '' });

describe('resolveSessionUser', () => {
  it('applies the current role from the users file, not the one in the cookie', () => {
    expect(resolveSessionUser(session('alice', 'admin'), snapshot)).toEqual({ name: 'alice', role: 'viewer' });
  });

  it('drops sessions of users removed from the file, and missing sessions', () => {
    expect(resolveSessionUser(session('bob', 'admin'), snapshot)).toBeNull();
    expect(resolveSessionUser(null, snapshot)).toBeNull();
  });
});
