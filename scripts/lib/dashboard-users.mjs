// The dashboard logins `npm run demo` (and the end-to-end tests) run with: an admin and a viewer whose
// scrypt hashes go into a users file shaped like the production Secret, plus a NEXTAUTH_SECRET. Kept in
// a 0700 directory outside the repository so a restarted demo keeps its logins and sessions.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { capture, repoRoot } from './bootstrap.mjs';

/** @param {string} password */
async function hash(password) {
  const cli = path.join(repoRoot, 'server', 'auth', 'hash-password-cli.ts');
  try {
    return (await capture(process.execPath, ['--import', 'tsx', cli, password])).trim();
  } catch {
    // The error would repeat the command line, password included.
    throw new Error('server/auth/hash-password-cli.ts failed to hash a dashboard password');
  }
}

/**
 * @param {string} dir
 * @param {{ admin?: string, viewer?: string }} [fixed] passwords to use instead of random ones
 * @returns {Promise<{ usersFile: string, secret: string, admin: { username: string, password: string }, viewer: { username: string, password: string } }>}
 */
export async function ensureDashboardUsers(dir, fixed = {}) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const credentialsFile = path.join(dir, 'credentials.json');
  const usersFile = path.join(dir, 'users.yaml');
  if (existsSync(credentialsFile) && existsSync(usersFile) && !fixed.admin && !fixed.viewer) {
    return { usersFile, ...JSON.parse(readFileSync(credentialsFile, 'utf8')) };
  }
  const admin = { username: 'admin', password: fixed.admin ?? randomBytes(12).toString('base64url') };
  const viewer = { username: 'viewer', password: fixed.viewer ?? randomBytes(12).toString('base64url') };
  const secret = randomBytes(32).toString('base64url');
  const lines = [
    '# Dashboard users, shaped like the production Secret (PIPEOPS_DASHBOARD_USERS_FILE).',
    'users:',
    `  - { username: admin, role: admin, password_hash: "${await hash(admin.password)}" }`,
    `  - { username: viewer, role: viewer, password_hash: "${await hash(viewer.password)}" }`,
  ];
  writeFileSync(usersFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(credentialsFile, JSON.stringify({ secret, admin, viewer }, null, 2), { mode: 0o600 });
  return { usersFile, secret, admin, viewer };
}
