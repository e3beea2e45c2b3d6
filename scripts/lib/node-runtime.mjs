// @ts-check
// The Node.js that `npm test`, `npm run demo` and everything they start run on. `.node-version` names the
// exact release (one source of truth: these scripts, the Dockerfile lint and the runtime guard read it);
// `package.json` `engines.node` is the supported range. When the running Node is outside that range, the
// chosen release is fetched once from the npm registry (the `node-<platform>-<arch>` package, checked
// against the registry's sha512 integrity), unpacked into the project's cache and the script re-executes
// itself under it, with that Node first on PATH so npm, npx, tsx, vitest, next and playwright children use
// it too. Plain Node only: this runs before any dependency is installed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { capture, repoRoot, runOrThrow, say } from './bootstrap.mjs';

/** Set in the re-executed process so a wrong download can never loop. */
const reexecMarker = 'PIPEOPS_NODE_REEXEC';

/**
 * @param {string} version like "24.22.3" or "v24.22.3"
 * @returns {[number, number, number]}
 */
export function parseVersion(version) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version.trim());
  if (!match) throw new Error(`"${version}" is not a Node.js version (expected MAJOR.MINOR.PATCH, e.g. 24.22.3)`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/**
 * The exact release in `.node-version`.
 * @param {string} [root]
 * @returns {string}
 */
export function chosenNodeVersion(root = repoRoot) {
  const file = path.join(root, '.node-version');
  const text = readFileSync(file, 'utf8').trim();
  try {
    parseVersion(text);
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return text.replace(/^v/, '');
}

/**
 * `engines.node` of package.json, which must be a caret range (`^24.11.0`): one LTS major from a minimum.
 * @param {string} [root]
 * @returns {{ range: string, major: number, minimum: [number, number, number] }}
 */
export function supportedNodeRange(root = repoRoot) {
  const range = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).engines?.node;
  if (typeof range !== 'string' || !/^\^\d+\.\d+\.\d+$/.test(range)) {
    throw new Error(`package.json engines.node must be a caret range like "^24.11.0", got ${JSON.stringify(range)}`);
  }
  const minimum = parseVersion(range.slice(1));
  return { range, major: minimum[0], minimum };
}

/**
 * @param {string} version
 * @param {{ major: number, minimum: [number, number, number] }} supported
 * @returns {boolean}
 */
export function satisfies(version, supported) {
  const [major, minor, patch] = parseVersion(version);
  if (major !== supported.major) return false;
  const [, minMinor, minPatch] = supported.minimum;
  return minor > minMinor || (minor === minMinor && patch >= minPatch);
}

/**
 * Where a fetched release lives: `$PIPEOPS_CACHE_DIR/node/<version>` (default `~/.cache/pipeops-agent`).
 * @param {string} version
 * @returns {string}
 */
export function nodeCacheDir(version) {
  const xdg = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  const cache = process.env.PIPEOPS_CACHE_DIR ?? path.join(xdg, 'pipeops-agent');
  return path.join(cache, 'node', version);
}

/** @returns {string} the registry package that carries a plain Node.js build for this machine */
function platformPackage() {
  const supported = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64'];
  const platform = `${process.platform}-${process.arch}`;
  if (!supported.includes(platform)) {
    throw new Error(
      `no Node.js package for ${platform} (supported: ${supported.join(', ')}); install Node.js yourself`,
    );
  }
  return `node-${platform}`;
}

/**
 * @param {string} file
 * @returns {string} sha512 in Subresource Integrity form, like the registry's `dist.integrity`
 */
export function sha512Integrity(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/**
 * Downloads `node-<platform>-<arch>@version` through npm (its configured registry, proxy and CA), checks the
 * tarball against the registry's integrity and unpacks it into `dir`, atomically (a rename), so a failed
 * or concurrent fetch never leaves a half-written release behind.
 * @param {string} version
 * @param {string} dir
 */
async function fetchNode(version, dir) {
  const spec = `${platformPackage()}@${version}`;
  say(`fetching Node.js ${version} from the npm registry (${spec}, once) into ${dir}`);
  const dist = JSON.parse(await capture('npm', ['view', spec, 'dist', '--json']));
  if (typeof dist?.integrity !== 'string' || !dist.integrity.startsWith('sha512-')) {
    throw new Error(`the registry gave no sha512 integrity for ${spec}`);
  }
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const packed = JSON.parse(await capture('npm', ['pack', spec, '--pack-destination', staging, '--json']));
    const tarball = path.join(staging, packed[0].filename);
    const actual = sha512Integrity(tarball);
    if (actual !== dist.integrity) {
      throw new Error(`${spec}: tarball integrity ${actual} does not match the registry's ${dist.integrity}`);
    }
    const tree = path.join(staging, 'tree');
    mkdirSync(tree);
    await runOrThrow('tar', ['-xzf', tarball, '-C', tree, '--strip-components=1']);
    const reported = (await capture(path.join(tree, 'bin', 'node'), ['--version'])).trim();
    if (reported !== `v${version}`) throw new Error(`${spec}: bin/node reports ${reported}, expected v${version}`);
    writeFileSync(path.join(tree, '.integrity'), `${dist.integrity}\n`);
    mkdirSync(path.dirname(dir), { recursive: true });
    try {
      renameSync(tree, dir);
    } catch (error) {
      // Another process finished the same fetch first; its copy passed the same checks.
      if (!existsSync(path.join(dir, '.integrity'))) throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The environment every child inherits: this Node first on PATH, and node-gyp pointed at its own headers
 * (the machine's npmrc may name another Node's; nodejs.org, where node-gyp would download them, is not
 * reachable here) so native modules build for the Node that loads them.
 * @param {string} nodeBinary
 * @returns {Record<string, string>}
 */
export function nodeEnvironment(nodeBinary) {
  const binDir = path.dirname(nodeBinary);
  const prefix = path.dirname(binDir);
  const paths = (process.env.PATH ?? '').split(path.delimiter).filter((p) => p && p !== binDir);
  /** @type {Record<string, string>} */
  const env = { PATH: [binDir, ...paths].join(path.delimiter), NODE: nodeBinary, npm_node_execpath: nodeBinary };
  if (existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) env.npm_config_nodedir = prefix;
  return env;
}

/**
 * Returns when this process runs on a supported Node (and makes sure its children do too); otherwise
 * fetches the chosen release if needed, re-runs this script under it and exits with its exit code.
 * @returns {Promise<void>}
 */
export async function ensureSupportedNode() {
  const supported = supportedNodeRange();
  if (satisfies(process.version, supported)) {
    Object.assign(process.env, nodeEnvironment(process.execPath));
    return;
  }
  const version = chosenNodeVersion();
  if (process.env[reexecMarker]) {
    throw new Error(
      `re-executed under Node.js ${version} but running ${process.version}, outside engines.node ${supported.range}`,
    );
  }
  const dir = nodeCacheDir(version);
  const nodeBinary = path.join(dir, 'bin', 'node');
  if (!existsSync(path.join(dir, '.integrity'))) {
    console.log(`Node.js ${process.version} is outside this project's engines.node ${supported.range}`);
    await fetchNode(version, dir);
  }
  const code = await reexec(nodeBinary, version);
  process.exit(code);
}

/**
 * @param {string} nodeBinary
 * @param {string} version
 * @returns {Promise<number>}
 */
function reexec(nodeBinary, version) {
  const script = process.argv[1];
  if (!script) throw new Error('cannot re-execute: no script path in process.argv');
  const env = { ...process.env, ...nodeEnvironment(nodeBinary), [reexecMarker]: version };
  const child = spawn(nodeBinary, [...process.execArgv, script, ...process.argv.slice(2)], { stdio: 'inherit', env });
  /** @type {NodeJS.Signals[]} */
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (/** @type {NodeJS.Signals} */ signal) => child.kill(signal);
  for (const signal of signals) process.on(signal, forward);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  });
}
