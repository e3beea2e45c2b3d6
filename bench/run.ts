import { parseArgs } from 'node:util';
import { describeMachine, type Stats } from './machine';
import { benchSandbox } from './sandbox';

const suites = ['sandbox'] as const;
type Suite = (typeof suites)[number];

const seconds = (s: Stats): string => `${s.median.toFixed(1)} s (${s.min.toFixed(1)}–${s.max.toFixed(1)}, n=${s.runs})`;

async function runSandbox(runs: number): Promise<void> {
  const result = await benchSandbox(runs);
  console.log('\n| sandbox step | median (min–max, runs) |');
  console.log('|---|---|');
  console.log(`| \`sandbox up\` from nothing to ready (binaries cached) | ${seconds(result.freshUp)} |`);
  console.log(`| \`sandbox up\` when already running (idempotent check) | ${seconds(result.reuseUp)} |`);
  console.log(`| \`sandbox down --purge\` (all processes stopped, no listener) | ${seconds(result.down)} |`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, runs: { type: 'string', default: '3' } },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
    throw new Error(`--runs must be an integer from 1 to 50, got "${values.runs}"`);
  }
  if (values.only !== undefined && !suites.includes(values.only as Suite)) {
    throw new Error(`--only must be one of ${suites.join(', ')}, got "${values.only}"`);
  }
  console.log(`# benchmark run ${new Date().toISOString()}\n# machine: ${describeMachine()}`);
  await runSandbox(runs);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
