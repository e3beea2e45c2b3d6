// @ts-check
// Installs what `npm test` and `npm run demo` need on a fresh machine. Plain Node only: it runs before
// `npm ci`, so it cannot import any dependency.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Runs a command with inherited output; resolves with its exit code.
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: Record<string, string>, cwd?: string, quiet?: boolean }} [options]
 * @returns {Promise<number>}
 */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: options.quiet ? 'ignore' : 'inherit',
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: Record<string, string>, cwd?: string }} [options]
 */
export async function runOrThrow(command, args, options = {}) {
  const code = await run(command, args, options);
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed with exit code ${code}`);
}

/**
 * Runs a command and returns its standard output; throws with its output when it fails.
 * @param {string} command
 * @param {string[]} args
 * @returns {Promise<string>}
 */
export function capture(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')}: ${err || out}`)),
    );
  });
}

/** @param {string} message */
export function say(message) {
  console.log(`\x1b[1m▶ ${message}\x1b[0m`);
}

/**
 * Installs exactly the locked dependencies (`npm ci`) when node_modules is missing, older than
 * package-lock.json or was installed by another Node.js (native modules are built for one Node), then
 * checks that the native modules package.json "allowScripts" approves were built
 * (scripts/check-native-modules.mjs). Runs under the project's Node (scripts/lib/node-runtime.mjs), whose
 * headers node-gyp builds against.
 */
export async function ensureNodeModules() {
  const marker = path.join(repoRoot, 'node_modules', '.package-lock.json');
  const installedBy = path.join(repoRoot, 'node_modules', '.pipeops-node-version');
  const lock = path.join(repoRoot, 'package-lock.json');
  const fresh =
    existsSync(marker) &&
    statSync(marker).mtimeMs >= statSync(lock).mtimeMs &&
    existsSync(installedBy) &&
    readFileSync(installedBy, 'utf8').trim() === process.version;
  if (!fresh) {
    say(`installing npm dependencies (npm ci: exactly the locked versions, for Node.js ${process.version})`);
    await runOrThrow('npm', ['ci', '--no-audit', '--no-fund'], {
      env: { PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
    });
    writeFileSync(installedBy, `${process.version}\n`);
  }
  await runOrThrow(process.execPath, [path.join(repoRoot, 'scripts', 'check-native-modules.mjs')]);
}

/** Debian packages the tests drive for real: Chromium for Playwright (never Playwright's own download), tinyproxy as the HTTPS proxy. */
const debianPackages = [
  { name: 'chromium', binary: chromiumPath, extra: ['fonts-dejavu-core'] },
  { name: 'tinyproxy', binary: '/usr/bin/tinyproxy', extra: [] },
];

export async function ensureDebianPackages() {
  const missing = debianPackages.filter((p) => !existsSync(p.binary));
  if (missing.length === 0) return;
  const names = missing.flatMap((p) => [p.name, ...p.extra]);
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${missing.map((p) => p.binary).join(', ')}; install with: sudo apt-get install -y ${names.join(' ')}`,
    );
  }
  say(`installing Debian packages: ${names.join(' ')}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await runOrThrow('apt-get', ['update', '-q'], { env });
  await runOrThrow('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...names], { env });
}

/**
 * The Go-built test peers (etcd, Kubernetes, KWOK, chisel, and helm for the chart tests), cached outside
 * the repo by version; each is rebuilt only when its `.complete` marker for the pinned version is missing.
 * @param {string[]} [targets] build-binaries.sh targets; default all of them
 */
export async function ensureGoBinaries(targets = ['k8s', 'kwok', 'chisel', 'helm']) {
  say('checking the sandbox binaries (built once from the Go module proxy, then cached)');
  await runOrThrow('bash', [path.join(repoRoot, 'sandbox', 'cluster', 'build-binaries.sh'), ...targets]);
}

/** @returns {string} */
export function packageVersion() {
  return JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;
}
