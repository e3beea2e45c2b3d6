// @ts-check
// `npm test`: everything CI runs, in order — install what is missing, lint, format, typecheck, unit
// tests, then the sandbox cluster comes up once for the integration and end-to-end suites and goes down
// at the end. Ends with one plain line "N passed, N failed" summing every suite.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureDebianPackages, ensureGoBinaries, ensureNodeModules, repoRoot, run, say } from './lib/bootstrap.mjs';
import { ensureSupportedNode } from './lib/node-runtime.mjs';

// Re-runs this script under the project's Node.js (.node-version) when the machine's is outside engines.
await ensureSupportedNode();

const resultsDir = path.join(repoRoot, '.test-results');
const sandboxName = process.env.PIPEOPS_SANDBOX_NAME ?? 'test';
const bin = (/** @type {string} */ name) => path.join(repoRoot, 'node_modules', '.bin', name);
const env = { NEXT_TELEMETRY_DISABLED: '1', PIPEOPS_SANDBOX_NAME: sandboxName, FORCE_COLOR: '1' };

/** @typedef {{ name: string, passed: number, failed: number, skipped: number, seconds: number, note?: string }} SuiteResult */
/** @type {SuiteResult[]} */
const results = [];

/**
 * @param {string} file
 * @returns {{ passed: number, failed: number, skipped: number } | undefined}
 */
function vitestCounts(file) {
  if (!existsSync(file)) return undefined;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  return {
    passed: report.numPassedTests ?? 0,
    failed: (report.numFailedTests ?? 0) + (report.numRuntimeErrors ?? 0),
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  };
}

/**
 * @param {string} file
 * @returns {{ passed: number, failed: number, skipped: number } | undefined}
 */
function playwrightCounts(file) {
  if (!existsSync(file)) return undefined;
  const { stats } = JSON.parse(readFileSync(file, 'utf8'));
  return {
    passed: stats.expected ?? 0,
    failed: (stats.unexpected ?? 0) + (stats.flaky ?? 0),
    skipped: stats.skipped ?? 0,
  };
}

/**
 * Runs one step. A check (lint, typecheck…) counts as one test; a suite reports its own counts.
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: Record<string, string>, counts?: () => ({ passed: number, failed: number, skipped: number } | undefined) }} [options]
 * @returns {Promise<boolean>}
 */
async function step(name, command, args, options = {}) {
  say(name);
  const started = Date.now();
  const code = await run(command, args, { env: { ...env, ...options.env } });
  const seconds = (Date.now() - started) / 1000;
  const counts = options.counts?.();
  if (counts) {
    // A runner that crashed before reporting a failure still failed.
    const failed = code !== 0 && counts.failed === 0 ? 1 : counts.failed;
    results.push({
      name,
      ...counts,
      failed,
      seconds,
      note: code !== 0 && counts.failed === 0 ? `exit ${code}` : undefined,
    });
  } else {
    results.push({ name, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0, seconds });
  }
  return code === 0;
}

/** @param {string} name @param {string} reason */
function skipped(name, reason) {
  results.push({ name, passed: 0, failed: 1, skipped: 0, seconds: 0, note: `not run: ${reason}` });
}

async function main() {
  const started = Date.now();
  rmSync(resultsDir, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });

  await ensureNodeModules();
  await ensureDebianPackages();
  await ensureGoBinaries();

  await step('lint (eslint)', bin('eslint'), ['--max-warnings=0', '.']);
  await step('format (prettier --check)', bin('prettier'), ['--check', '--log-level=warn', '.']);
  await step('typecheck (tsc --noEmit)', bin('tsc'), ['--noEmit']);
  await step('Dockerfile lint (scripts/lint-dockerfile.mjs)', process.execPath, ['scripts/lint-dockerfile.mjs']);
  const unitReport = path.join(resultsDir, 'unit.json');
  await step(
    'unit tests (vitest)',
    bin('vitest'),
    ['run', '--project', 'unit', '--reporter=default', '--reporter=json', `--outputFile.json=${unitReport}`],
    {
      counts: () => vitestCounts(unitReport),
    },
  );

  const sandboxUp = await step(`sandbox up (${sandboxName})`, bin('tsx'), [
    'sandbox/cli.ts',
    'up',
    '--name',
    sandboxName,
  ]);
  try {
    if (sandboxUp) {
      const integrationReport = path.join(resultsDir, 'integration.json');
      await step(
        'integration tests (vitest, sandbox API server)',
        bin('vitest'),
        [
          'run',
          '--project',
          'integration',
          '--reporter=default',
          '--reporter=json',
          `--outputFile.json=${integrationReport}`,
        ],
        {
          counts: () => vitestCounts(integrationReport),
        },
      );
    } else {
      skipped('integration tests (vitest, sandbox API server)', 'the sandbox did not come up');
    }
    const built = await step('production build (next build, standalone)', 'npm', ['run', '--silent', 'build']);
    if (built && sandboxUp) {
      const e2eReport = path.join(resultsDir, 'e2e.json');
      await step('end-to-end tests (Playwright, Debian Chromium)', bin('playwright'), ['test'], {
        env: { PLAYWRIGHT_JSON_OUTPUT_NAME: e2eReport },
        counts: () => playwrightCounts(e2eReport),
      });
    } else {
      skipped(
        'end-to-end tests (Playwright, Debian Chromium)',
        built ? 'the sandbox did not come up' : 'the build failed',
      );
    }
    if (built) {
      // `npm run demo` on an empty cache with its own sandbox; reuses the build above (sources unchanged).
      const demoReport = path.join(resultsDir, 'demo.json');
      await step(
        'demo on a fresh cache (vitest, npm run demo)',
        bin('vitest'),
        ['run', '--project', 'demo', '--reporter=default', '--reporter=json', `--outputFile.json=${demoReport}`],
        { counts: () => vitestCounts(demoReport) },
      );
    } else {
      skipped('demo on a fresh cache (vitest, npm run demo)', 'the build failed');
    }
  } finally {
    await step(`sandbox down (${sandboxName}, no listener left)`, bin('tsx'), [
      'sandbox/cli.ts',
      'down',
      '--name',
      sandboxName,
      '--purge',
    ]);
  }

  console.log('\nsummary');
  for (const r of results) {
    const counts = `${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}`;
    console.log(
      `  ${r.failed ? '✗' : '✓'} ${r.name.padEnd(52)} ${counts.padEnd(30)} ${r.seconds.toFixed(1)}s${r.note ? `  (${r.note})` : ''}`,
    );
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const skippedCount = results.reduce((n, r) => n + r.skipped, 0);
  console.log(`  total time ${((Date.now() - started) / 1000).toFixed(0)}s\n`);
  console.log(`${passed} passed, ${failed} failed${skippedCount ? `, ${skippedCount} skipped` : ''}`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`npm test: ${error instanceof Error ? error.message : String(error)}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
