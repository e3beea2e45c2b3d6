import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hashPasswordSync } from '../server/auth/password';

/** Logins of the end-to-end run; the users file is written like the production Secret. */
export const e2eUsers = {
  admin: { username: 'admin', password: 'e2e-admin-password' },
  viewer: { username: 'viewer', password: 'e2e-viewer-password' },
} as const;

export const e2ePort = Number(process.env.PIPEOPS_E2E_PORT ?? 3107);
export const e2eBaseUrl = `http://127.0.0.1:${e2ePort}`;
export const e2eStateConfigMap = 'pipeops-agent-state-e2e';
/** PIPEOPS_ACTIVITY_TOKEN of the app under test (tools record TTL activity with it). */
export const e2eActivityToken = 'e2e-activity-token-0123456789abcdef';

/** Writes a fresh users file (cheap scrypt cost: only test passwords) and returns its path. */
export function writeE2eUsersFile(): string {
  const cheap = { N: 1024, r: 8, p: 1 };
  const dir = mkdtempSync(path.join(tmpdir(), 'e2e-users-'));
  const file = path.join(dir, 'users.yaml');
  const lines = ['users:'];
  for (const [role, user] of Object.entries(e2eUsers)) {
    lines.push(
      `  - { username: ${user.username}, role: ${role}, password_hash: "${hashPasswordSync(user.password, cheap)}" }`,
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}
