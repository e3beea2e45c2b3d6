/**
 * The tunnel section alone, with knobs for profiling runs: `npx tsx bench/tunnel-cli.ts --runs 3 [--quick]`.
 * Our client's node flags come from TUNNEL_BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { parseArgs } from 'node:util';
import { describeMachine } from './machine';
import { benchTunnel, defaultTunnelOptions, formatTunnelTable, type TunnelBenchOptions } from './tunnel';

const quickOptions: TunnelBenchOptions = {
  ...defaultTunnelOptions,
  singleMiB: 128,
  streamMiB: 4,
  persistentRequests: 3_000,
  connectRequests: 300,
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, quick: { type: 'boolean', default: false } },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got "${values.runs}"`);
  console.log(`# ${new Date().toISOString()} — ${describeMachine()}`);
  const result = await benchTunnel(64, runs, values.quick ? quickOptions : defaultTunnelOptions);
  console.log(formatTunnelTable(result));
}

main().catch((error: unknown) => {
  console.error(`tunnel bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
