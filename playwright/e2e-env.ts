import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hashPasswordSync } from '../server/auth/password';

/** Logins of the end-to-end run; the users file is written like the production Secret. */
export const e2eUsers = {
  admin: { username: 'admin', password: 'e2e-admin-password' },
  viewer: { username: 'viewer', password: 'e2e-viewer-password' },
} as const;

const printFreePort =
  "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => { process.stdout.write(String(s.address().port)); s.close(); });";

/**
 * A port from $name, else one the OS says is free, stored back into the environment: Playwright loads
 * this module in the runner and again in each worker, and the workers inherit the runner's choice.
 */
function portFromEnv(name: string): number {
  process.env[name] ??= execFileSync(process.execPath, ['-e', printFreePort], { encoding: 'utf8' }).trim();
  const port = Number(process.env[name]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name} must be a port number from 1 to 65535, got "${process.env[name]}"`);
  }
  return port;
}

export const e2ePort = portFromEnv('PIPEOPS_E2E_PORT');
/** The reference control plane the app's agent registers with. */
export const e2eControlPlanePort = portFromEnv('PIPEOPS_E2E_CONTROL_PLANE_PORT');
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

/**
 * The users file and NEXTAUTH_SECRET of the app under test, chosen once in the runner and inherited by the
 * workers through the environment (like the ports): the session specs edit the file and forge cookies.
 */
export function e2eUsersFile(): string {
  process.env.PIPEOPS_E2E_USERS_FILE ??= writeE2eUsersFile();
  return process.env.PIPEOPS_E2E_USERS_FILE;
}

export function e2eSessionSecret(): string {
  process.env.PIPEOPS_E2E_NEXTAUTH_SECRET ??= randomBytes(32).toString('base64url');
  return process.env.PIPEOPS_E2E_NEXTAUTH_SECRET;
}
