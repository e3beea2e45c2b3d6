// @ts-check
// Bundles the small CLIs that ship inside the image next to the standalone server, as plain CommonJS
// with every dependency inlined: the runtime image has no tsx, no TypeScript and no devDependencies, so
// `node tools/doctor.cjs` must run from one file. esbuild (a devDependency) is only
// used here, in the image's build stage (Dockerfile) and in the test that proves the bundle runs.
//   node scripts/build-tools.mjs [outDir]     (default: .next/standalone/tools)
import path from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from './lib/bootstrap.mjs';
import { chosenNodeVersion } from './lib/node-runtime.mjs';

export const tools = {
  doctor: 'agent/doctor/cli.ts',
  'hash-password': 'server/auth/hash-password-cli.ts',
};

/** @param {string} outDir */
export async function buildTools(outDir) {
  for (const [name, entry] of Object.entries(tools)) {
    await build({
      entryPoints: [path.join(repoRoot, entry)],
      outfile: path.join(outDir, `${name}.cjs`),
      bundle: true,
      platform: 'node',
      target: `node${chosenNodeVersion()}`,
      format: 'cjs',
      // Optional native speed-ups of ssh2 (pulled in through the tunnel code): never loaded by these tools.
      external: ['cpu-features', './crypto/build/Release/sshcrypto.node'],
      alias: { '@': repoRoot },
      logLevel: 'warning',
      legalComments: 'none',
      banner: { js: `// ${name}: bundled by scripts/build-tools.mjs; see ${entry}` },
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outDir = path.resolve(process.argv[2] ?? path.join(repoRoot, '.next', 'standalone', 'tools'));
  buildTools(outDir).then(
    () => console.log(`tools bundled into ${outDir}: ${Object.keys(tools).join(', ')}`),
    (error) => {
      console.error(`build-tools: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
