import { describe, expect, it } from 'vitest';
import { parseUsers } from './users-file';

const hash = `scrypt$1024$8$1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32, 2).toString('base64')}`;
const src = 'file /etc/pipeops/users.yaml';
const prefix = 'dashboard users (file /etc/pipeops/users.yaml)';

function yaml(...entries: string[]): string {
  return `users:\n${entries.map((entry) => `  - ${entry}`).join('\n')}\n`;
}

describe('parseUsers', () => {
  it('reads YAML and JSON', () => {
    const fromYaml = parseUsers(yaml(`{username: alice, role: admin, password_hash: "${hash}"}`), src);
    expect(fromYaml).toMatchObject([{ username: 'alice', role: 'admin' }]);
    expect(fromYaml[0]!.password.N).toBe(1024);
    const json = JSON.stringify({ users: [{ username: 'bob', role: 'viewer', password_hash: hash }] });
    expect(parseUsers(json, 'env PIPEOPS_DASHBOARD_USERS')).toMatchObject([{ username: 'bob', role: 'viewer' }]);
    expect(parseUsers('users: []', src)).toEqual([]);
  });

  it('reads session_version (0 when absent) and names a bad one', () => {
    expect(parseUsers(yaml(`{username: a, role: admin, password_hash: "${hash}"}`), src)[0]!.sessionVersion).toBe(0);
    const bumped = yaml(`{username: a, role: admin, password_hash: "${hash}", session_version: 3}`);
    expect(parseUsers(bumped, src)[0]!.sessionVersion).toBe(3);
    expect(() =>
      parseUsers(yaml(`{username: a, role: admin, password_hash: "${hash}", session_version: 1.5}`), src),
    ).toThrow(
      `${prefix}: users[0] "a": session_version = 1.5 is invalid: must be a whole number from 0 (raise it to end every session of this user)`,
    );
  });

  it('names a missing role', () => {
    expect(() => parseUsers(yaml(`{username: alice, password_hash: "${hash}"}`), src)).toThrow(
      `${prefix}: users[0] "alice": role is missing: must be viewer or admin`,
    );
  });

  it('names an unknown role and its value', () => {
    expect(() => parseUsers(yaml(`{username: alice, role: root, password_hash: "${hash}"}`), src)).toThrow(
      `${prefix}: users[0] "alice": role = "root" is invalid: must be viewer or admin`,
    );
  });

  it('rejects a hash that is not in the scrypt format, without echoing it', () => {
    const run = (): unknown => parseUsers(yaml(`{username: alice, role: admin, password_hash: "hunter2"}`), src);
    expect(run).toThrow(
      `${prefix}: users[0] "alice": password_hash is invalid: must be scrypt$N$r$p$<salt base64>$<hash base64> ` +
        '(print one with server/auth/hash-password-cli.ts)',
    );
    expect(run).not.toThrow(/hunter2/);
  });

  it('rejects a duplicate username', () => {
    const text = yaml(
      `{username: alice, role: admin, password_hash: "${hash}"}`,
      `{username: bob, role: viewer, password_hash: "${hash}"}`,
      `{username: alice, role: viewer, password_hash: "${hash}"}`,
    );
    expect(() => parseUsers(text, src)).toThrow(
      `${prefix}: users[2] "alice": username is a duplicate of users[0]: usernames must be unique`,
    );
  });

  it('rejects unknown keys, bad usernames and documents without a users list', () => {
    expect(() => parseUsers(yaml(`{username: a, role: admin, password: x, password_hash: "${hash}"}`), src)).toThrow(
      `${prefix}: users[0] "a": unknown key "password": allowed keys are username, role, password_hash`,
    );
    expect(() => parseUsers(yaml(`{username: "a b", role: admin, password_hash: "${hash}"}`), src)).toThrow(
      `${prefix}: users[0] "a b": username = "a b" is invalid: must be 1 to 64 letters, digits or . _ @ -`,
    );
    expect(() => parseUsers('admin: secret', src)).toThrow(`${prefix}: must be a mapping with a "users" list`);
    expect(() => parseUsers('users: [oops', src)).toThrow(`${prefix}: not valid YAML or JSON`);
  });
});
