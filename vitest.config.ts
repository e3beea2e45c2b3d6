import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { nodeSupportProblem } from './agent/node-support';

// Every test run is on the project's Node.js (`npm test` fetches it; see scripts/lib/node-runtime.mjs).
const unsupportedNode = nodeSupportProblem(process.version);
if (unsupportedNode) throw new Error(unsupportedNode);

const root = path.dirname(fileURLToPath(import.meta.url));
const resolve = {
  alias: {
    '@': root,
    // `server-only` throws outside React's server condition; in tests it only marks the module.
    'server-only': path.join(root, 'sandbox/testing/empty-module.ts'),
  },
};
const exclude = ['node_modules/**', '.next/**', 'playwright/**'];

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...exclude, '**/*.int.test.ts', '**/*.demo.test.ts'],
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude,
          globalSetup: ['sandbox/testing/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // `npm run demo` end to end on an empty cache (its own sandbox; needs the production build).
        resolve,
        test: { name: 'demo', include: ['**/*.demo.test.ts'], exclude, testTimeout: 600_000, hookTimeout: 120_000 },
      },
    ],
  },
});
