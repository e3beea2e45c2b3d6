// @ts-check
// The native parts every install must end up with, the same on every machine and in the image: package.json
// "allowScripts" lets exactly these packages run their install scripts, and this check fails the install
// when one of them silently fell back to JavaScript (ssh2's install script and cpu-features are optional:
// a missing compiler or the wrong Node headers only print a line and exit 0).
//   node scripts/check-native-modules.mjs    prints one line per module, exits 1 when one is missing
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {{ name: string, why: string, load: (require: NodeJS.Require) => string }} NativeModule */

/** @type {NativeModule[]} */
export const nativeModules = [
  {
    name: 'bufferutil',
    why: 'WebSocket frame masking and unmasking for ws (the control link and the chisel tunnel)',
    // Its prebuilt N-API binary for this platform; index.js would fall back to JavaScript without saying so.
    load: (require) => {
      const dir = path.dirname(require.resolve('bufferutil/package.json'));
      const binding = createRequire(path.join(dir, 'index.js'))('node-gyp-build').path(dir);
      require(binding);
      return path.relative(dir, binding);
    },
  },
  {
    name: 'ssh2',
    why: "ssh2's crypto binding (AES-GCM and ChaCha20-Poly1305 for the tunnel's SSH transport)",
    load: (require) => {
      const file = path.join(
        path.dirname(require.resolve('ssh2/package.json')),
        'lib/protocol/crypto/build/Release/sshcrypto.node',
      );
      require(file);
      return 'lib/protocol/crypto/build/Release/sshcrypto.node (built by node-gyp)';
    },
  },
  {
    name: 'cpu-features',
    why: "lets ssh2 order its ciphers by the CPU's AES support",
    load: (require) => {
      const features = require('cpu-features')();
      return `build/Release/cpufeatures.node (built by node-gyp; ${features.arch}, aes=${Boolean(features.flags?.aes)})`;
    },
  },
  {
    name: 'esbuild',
    why: 'bundles the doctor and hash-password CLIs for the image (scripts/build-tools.mjs)',
    load: (require) => {
      const { version } = require('esbuild/package.json');
      const bin = path.join(path.dirname(require.resolve('esbuild/package.json')), 'bin', 'esbuild');
      const run = spawnSync(bin, ['--version'], { encoding: 'utf8' });
      if (run.status !== 0 || run.stdout.trim() !== version) {
        throw new Error(
          `bin/esbuild --version printed "${run.stdout.trim()}${run.stderr.trim()}", expected ${version}`,
        );
      }
      return `bin/esbuild ${version} (the platform binary its install script checked)`;
    },
  },
];

/**
 * @param {string} root the project whose node_modules is checked
 * @returns {{ name: string, ok: boolean, detail: string }[]}
 */
export function checkNativeModules(root) {
  const require = createRequire(path.join(root, 'package.json'));
  return nativeModules.map((module) => {
    try {
      return { name: module.name, ok: true, detail: module.load(require) };
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      return { name: module.name, ok: false, detail: `${module.why}: not loadable (${reason})` };
    }
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const results = checkNativeModules(root);
  for (const r of results) console.log(`${r.ok ? 'ok     ' : 'MISSING'} ${r.name}: ${r.detail}`);
  const missing = results.filter((r) => !r.ok).map((r) => r.name);
  if (missing.length > 0) {
    console.error(
      `native modules missing: ${missing.join(', ')}; their install scripts need python3, make and a C++ compiler, ` +
        'and node-gyp the headers of the running Node.js (npm_config_nodedir); reinstall with `npm ci`',
    );
    process.exit(1);
  }
}
