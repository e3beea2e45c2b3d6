// First: one clear line and exit on an unsupported Node.js, before any dependency loads.
import '../agent/node-guard';
import { parseArgs } from 'node:util';
import { describeMachine, type Stats } from './machine';
import { benchAgent } from './agent';
import { benchDashboard, type Latency } from './dashboard';
import { benchSandbox } from './sandbox';
import { benchTtl } from './ttl';
import { benchTunnel, formatTunnelTable } from './tunnel';

const suites = ['sandbox', 'agent', 'tunnel', 'dashboard', 'ttl'] as const;
type Suite = (typeof suites)[number];

const seconds = (s: Stats): string => `${s.median.toFixed(2)} s (${s.min.toFixed(2)}–${s.max.toFixed(2)}, n=${s.runs})`;

async function runSandbox(runs: number): Promise<void> {
  const result = await benchSandbox(runs);
  console.log('\n| sandbox step | median (min–max, runs) |');
  console.log('|---|---|');
  console.log(`| \`sandbox up\` from nothing to ready (binaries cached) | ${seconds(result.freshUp)} |`);
  console.log(`| \`sandbox up\` when already running (idempotent check) | ${seconds(result.reuseUp)} |`);
  console.log(`| \`sandbox down --purge\` (all processes stopped, no listener) | ${seconds(result.down)} |`);
}

async function runAgent(minutes: number): Promise<void> {
  const r = await benchAgent(minutes, (line) => console.log(`# ${line}`));
  const verbs = Object.entries(r.apiRequestsByVerb)
    .map(([verb, n]) => `${verb} ${n}`)
    .join(', ');
  const ratio = (ours: number, peer: number): string => (peer > 0 ? `${(ours / peer).toFixed(2)}×` : 'n/a');
  console.log(`\n| headless agent, steady state (${minutes} min run, heartbeat every 5 s) | value |`);
  console.log('|---|---|');
  console.log(
    `| Kubernetes API requests per minute, watches excluded (audit log) | ${r.apiRequestsPerMinute.toFixed(1)} (${verbs || 'none'}) |`,
  );
  console.log(`| control-plane HTTP requests per minute | ${r.controlPlaneHttpPerMinute.toFixed(1)} |`);
  console.log(`| heartbeats per minute over the WebSocket | ${r.heartbeatsPerMinute.toFixed(1)} |`);
  console.log(
    `| heartbeat RTT p50 / p95 (agent, n=${r.heartbeatRtt.count}) | ${r.heartbeatRtt.p50} ms / ${r.heartbeatRtt.p95} ms |`,
  );
  console.log(
    `| heartbeat RTT p50 / p95 (bare \`ws\` client, same server, n=${r.bareWebSocketRtt.count}) | ${r.bareWebSocketRtt.p50.toFixed(2)} ms / ${r.bareWebSocketRtt.p95.toFixed(2)} ms |`,
  );
  console.log(`| agent p95 RTT ÷ bare-client p95 RTT | ${ratio(r.heartbeatRtt.p95, r.bareWebSocketRtt.p95)} |`);
  console.log(`| RSS of the headless agent after ${minutes} min | ${r.rssMiB.toFixed(1)} MiB |`);
}

async function runTunnel(runs: number): Promise<void> {
  // At least 5 interleaved pairs: fewer make the medians too noisy on a shared machine.
  const r = await benchTunnel(64, Math.max(runs, 5));
  console.log(`\n${formatTunnelTable(r)}`);
}

async function runDashboard(): Promise<void> {
  const r = await benchDashboard((line) => console.log(`# ${line}`));
  const ms = (l: Latency): string => `${l.p50.toFixed(0)} ms / ${l.p95.toFixed(0)} ms (n=${l.count})`;
  console.log('\n| dashboard (production build, signed in as admin, sandbox cluster) | p50 / p95 |');
  console.log('|---|---|');
  console.log(`| \`GET /dashboard\` (server-rendered page with the full view) | ${ms(r.page)} |`);
  console.log(`| \`GET /api/dashboard\` (the same view as JSON) | ${ms(r.api)} |`);
  console.log(
    '\n| SSE fan-out: scale a managed Deployment 10 times | change → event received p50 / p95 | server CPU per change |',
  );
  console.log('|---|---|---|');
  for (const row of r.sse) {
    console.log(
      `| ${row.streams} open stream${row.streams === 1 ? '' : 's'} | ${ms(row.delivery)} | ${row.cpuMsPerChange.toFixed(0)} ms |`,
    );
  }
}

async function runTtl(runs: number): Promise<void> {
  const r = await benchTtl(Math.max(runs, 10));
  const verbs = Object.entries(r.byVerb)
    .map(([verb, n]) => `${verb} ${n}`)
    .join(', ');
  console.log('\n| TTL scale-to-zero (KWOK pods) | value |');
  console.log('|---|---|');
  console.log(
    `| wake through the tunnel, connect → first byte, p50 / p95 (n=${r.wakes}) | ${r.firstByteMs.p50.toFixed(0)} ms / ${r.firstByteMs.p95.toFixed(0)} ms |`,
  );
  console.log(
    `| wake, scale-up → first ready replica, p50 / p95 | ${r.scaleUpToReadyMs.p50.toFixed(0)} ms / ${r.scaleUpToReadyMs.p95.toFixed(0)} ms |`,
  );
  console.log(
    `| controller with ${r.deployments} managed Deployments: Kubernetes API requests per minute, watches excluded (audit log, ${r.windowMinutes.toFixed(1)} min) | ${r.apiRequestsPerMinute.toFixed(1)} (${verbs || 'none'}) |`,
  );
  console.log(
    `| … of which on the managed workloads (scale-downs, annotations, Events; ${r.scaleDowns} scale-downs in the window) | ${r.ttlRequestsPerMinute.toFixed(1)} |`,
  );
  console.log(`| CPU of the agent process over the window | ${r.cpuPercent.toFixed(1)} % of one core |`);
  console.log(`| reconcile (loop) duration p95 | ≤ ${r.reconcileP95Ms} ms |`);
}

interface BenchOptions {
  only?: Suite;
  runs: number;
  agentMinutes: number;
}

function parseOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      runs: { type: 'string', default: '3' },
      'agent-minutes': { type: 'string', default: '5' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
    throw new Error(`--runs must be an integer from 1 to 50, got "${values.runs}"`);
  }
  const agentMinutes = Number(values['agent-minutes']);
  if (!Number.isFinite(agentMinutes) || agentMinutes < 1 || agentMinutes > 60) {
    throw new Error(`--agent-minutes must be a number from 1 to 60, got "${values['agent-minutes']}"`);
  }
  if (values.only !== undefined && !suites.includes(values.only as Suite)) {
    throw new Error(`--only must be one of ${suites.join(', ')}, got "${values.only}"`);
  }
  return { only: values.only as Suite | undefined, runs, agentMinutes };
}

async function main(): Promise<void> {
  const options = parseOptions();
  console.log(`# benchmark run ${new Date().toISOString()}\n# machine: ${describeMachine()}`);
  if (!options.only || options.only === 'sandbox') await runSandbox(options.runs);
  if (!options.only || options.only === 'tunnel') await runTunnel(options.runs);
  if (!options.only || options.only === 'agent') await runAgent(options.agentMinutes);
  if (!options.only || options.only === 'ttl') await runTtl(options.runs);
  if (!options.only || options.only === 'dashboard') await runDashboard();
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
