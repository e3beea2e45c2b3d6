import { mkdtemp } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort,
  generateKey,
  probe,
  roundTrip,
  sha256,
  startGoChisel,
  type GoChiselServer,
} from '../agent/tunnel/chisel-test-helpers';
import { percentile, stats, type Stats } from './machine';
import {
  connectLatency,
  downloadFromSource,
  parallelDownload,
  parallelUpload,
  persistentLatency,
  uploadToSink,
} from './tunnel-load';
import {
  sampleProcess,
  startGoClient,
  startOurClient,
  startTarget,
  type Child,
  type ClientSpec,
  type TargetPorts,
} from './tunnel-procs';

export interface TunnelBenchOptions {
  /** One stream uploaded into the sink. */
  singleMiB: number;
  streams: number;
  /** Uploaded by each of the parallel streams. */
  streamMiB: number;
  requestBytes: number;
  /** Sequential request/response pairs on one persistent connection, per run. */
  persistentRequests: number;
  /** connect + request + close, per run. */
  connectRequests: number;
}

export const defaultTunnelOptions: TunnelBenchOptions = {
  singleMiB: 256,
  streams: 32,
  streamMiB: 8,
  requestBytes: 64,
  persistentRequests: 10_000,
  connectRequests: 1_000,
};

/** One table row: the median over runs for (a) the Go client and (b) ours. */
export interface TunnelRow {
  label: string;
  unit: string;
  goClient: number;
  ours: number;
  higherIsBetter: boolean;
}

export interface TunnelBench {
  payloadMiB: number;
  /** Echo round-trip seconds of payloadMiB (kept for the older table in bench/run.ts). */
  ours: Stats;
  goClient: Stats;
  runs: number;
  options: TunnelBenchOptions;
  rows: TunnelRow[];
}

type Metric =
  | 'singleMBps'
  | 'parallelMBps'
  | 'singleDownMBps'
  | 'parallelDownMBps'
  | 'echoSeconds'
  | 'persistentP50'
  | 'persistentP99'
  | 'connectP50'
  | 'connectP99'
  | 'cpuSecondsPerGiB'
  | 'idleRssMiB'
  | 'peakRssMiB';

type Samples = Record<Metric, number[]>;

interface Side {
  child: Child;
  ports: TargetPorts;
  samples: Samples;
}

const megabyte = 1e6;
const mebibyte = 1024 * 1024;

function emptySamples(): Samples {
  return {
    singleMBps: [],
    parallelMBps: [],
    singleDownMBps: [],
    parallelDownMBps: [],
    echoSeconds: [],
    persistentP50: [],
    persistentP99: [],
    connectP50: [],
    connectP99: [],
    cpuSecondsPerGiB: [],
    idleRssMiB: [],
    peakRssMiB: [],
  };
}

/** The server binds reverse ports only after the config reply, so readiness means a working round trip. */
async function waitUntilWorking(check: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await check().then(
      () => true,
      () => false,
    );
    if (ok) return;
    await sleep(50);
  }
  throw new Error('a reverse port never worked');
}

async function startSide(
  start: (spec: ClientSpec) => Promise<Child>,
  server: GoChiselServer,
  target: TargetPorts,
): Promise<Side> {
  const ports = { echo: await freePort(), sink: await freePort(), source: await freePort() };
  const child = await start({
    serverPort: server.port,
    fingerprint: server.fingerprint,
    remotes: [
      [ports.echo, target.echo],
      [ports.sink, target.sink],
      [ports.source, target.source],
    ],
  });
  await waitUntilWorking(() => probe(ports.echo));
  await waitUntilWorking(() => uploadToSink(ports.sink, 1));
  await waitUntilWorking(() => downloadFromSource(ports.source, 1));
  return { child, ports, samples: emptySamples() };
}

function pidOf(side: Side): number {
  const pid = side.child.process.pid;
  if (pid === undefined) throw new Error('client process has no pid');
  return pid;
}

/** Bulk transfer both ways: into the sink (server → client → target) and from the source (the reverse). */
async function measureBulk(side: Side, o: TunnelBenchOptions): Promise<void> {
  const before = sampleProcess(pidOf(side)).cpuSeconds;
  const single = o.singleMiB * mebibyte;
  const each = o.streamMiB * mebibyte;
  const rate = (bytes: number, seconds: number): number => bytes / megabyte / seconds;
  side.samples.singleMBps.push(rate(single, await uploadToSink(side.ports.sink, single)));
  side.samples.parallelMBps.push(rate(o.streams * each, await parallelUpload(side.ports.sink, o.streams, each)));
  side.samples.singleDownMBps.push(rate(single, await downloadFromSource(side.ports.source, single)));
  const down = await parallelDownload(side.ports.source, o.streams, each);
  side.samples.parallelDownMBps.push(rate(o.streams * each, down));
  const cpu = sampleProcess(pidOf(side)).cpuSeconds - before;
  side.samples.cpuSecondsPerGiB.push(cpu / ((2 * (single + o.streams * each)) / 1024 / mebibyte));
}

async function measureEcho(side: Side, payload: Buffer): Promise<void> {
  const started = performance.now();
  const digest = await roundTrip(side.ports.echo, payload);
  side.samples.echoSeconds.push((performance.now() - started) / 1000);
  if (digest !== sha256(payload)) throw new Error('payload corrupted through the tunnel');
}

async function measureLatency(side: Side, o: TunnelBenchOptions): Promise<void> {
  const persistent = await persistentLatency(side.ports.echo, o.persistentRequests, o.requestBytes);
  side.samples.persistentP50.push(percentile(persistent, 50));
  side.samples.persistentP99.push(percentile(persistent, 99));
  const perConnection = await connectLatency(side.ports.echo, o.connectRequests, o.requestBytes);
  side.samples.connectP50.push(percentile(perConnection, 50));
  side.samples.connectP99.push(percentile(perConnection, 99));
}

/** Runs `step` for both sides, alternating who goes first so both see the same machine conditions. */
async function interleaved(sides: [Side, Side], run: number, step: (side: Side) => Promise<void>): Promise<void> {
  const order = run % 2 === 0 ? sides : ([sides[1], sides[0]] as const);
  for (const side of order) await step(side);
}

/** A short pass over every path first, so JIT warm-up is not measured for either side. */
async function warmUp(sides: [Side, Side], o: TunnelBenchOptions): Promise<void> {
  const light: TunnelBenchOptions = { ...o, singleMiB: 16, streamMiB: 1, persistentRequests: 500, connectRequests: 50 };
  for (const side of sides) {
    await uploadToSink(side.ports.sink, light.singleMiB * mebibyte);
    await parallelUpload(side.ports.sink, light.streams, light.streamMiB * mebibyte);
    await downloadFromSource(side.ports.source, light.singleMiB * mebibyte);
    await parallelDownload(side.ports.source, light.streams, light.streamMiB * mebibyte);
    await persistentLatency(side.ports.echo, light.persistentRequests, light.requestBytes);
    await connectLatency(side.ports.echo, light.connectRequests, light.requestBytes);
  }
}

function median(samples: number[]): number {
  return stats(samples).median;
}

function rowsOf(go: Samples, ours: Samples, o: TunnelBenchOptions, payloadMiB: number): TunnelRow[] {
  const row = (label: string, unit: string, metric: Metric, higherIsBetter: boolean): TunnelRow => ({
    label,
    unit,
    goClient: median(go[metric]),
    ours: median(ours[metric]),
    higherIsBetter,
  });
  const echoMBps = (s: number): number => (2 * payloadMiB * mebibyte) / megabyte / s;
  const request = `${o.requestBytes} B`;
  return [
    row(`single stream to the target, ${o.singleMiB} MiB into a sink`, 'MB/s', 'singleMBps', true),
    row(`${o.streams} parallel streams to the target × ${o.streamMiB} MiB, aggregate`, 'MB/s', 'parallelMBps', true),
    row(`single stream from the target, ${o.singleMiB} MiB from a source`, 'MB/s', 'singleDownMBps', true),
    row(`${o.streams} parallel streams from the target × ${o.streamMiB} MiB`, 'MB/s', 'parallelDownMBps', true),
    {
      label: `${payloadMiB} MiB echo round trip (both directions counted)`,
      unit: 'MB/s',
      goClient: echoMBps(median(go.echoSeconds)),
      ours: echoMBps(median(ours.echoSeconds)),
      higherIsBetter: true,
    },
    row(`${request} request/response on one connection, p50 (n=${o.persistentRequests})`, 'ms', 'persistentP50', false),
    row(`${request} request/response on one connection, p99`, 'ms', 'persistentP99', false),
    row(`connect + ${request} request + close, p50 (n=${o.connectRequests})`, 'ms', 'connectP50', false),
    row(`connect + ${request} request + close, p99`, 'ms', 'connectP99', false),
    row('client CPU (user+sys) per GiB of bulk transfer', 's', 'cpuSecondsPerGiB', false),
    row('client RSS when connected, before any load', 'MiB', 'idleRssMiB', false),
    row('client peak RSS (VmHWM) at the end', 'MiB', 'peakRssMiB', false),
  ];
}

/**
 * The Go chisel client (a) and ours (b), each alone in its own process, through the same real Go chisel
 * server to the same echo/sink target process on loopback; the load generator is this process.
 * Every measurement alternates a and b within a run; rows are medians over runs.
 */
export async function benchTunnel(
  payloadMiB: number,
  runs: number,
  options: TunnelBenchOptions = defaultTunnelOptions,
): Promise<TunnelBench> {
  const payload = randomBytes(payloadMiB * mebibyte);
  const keyfile = path.join(await mkdtemp(path.join(tmpdir(), 'bench-chisel-')), 'server.key');
  await generateKey(keyfile);
  const server = await startGoChisel(await freePort(), keyfile);
  const children: Child[] = [];
  try {
    const target = await startTarget();
    children.push(target.child);
    const go = await startSide(startGoClient, server, target.ports);
    children.push(go.child);
    const ours = await startSide(startOurClient, server, target.ports);
    children.push(ours.child);
    const sides: [Side, Side] = [go, ours];
    for (const side of sides) side.samples.idleRssMiB.push(sampleProcess(pidOf(side)).rssMiB);
    await warmUp(sides, options);
    for (let run = 0; run < runs; run++) {
      await interleaved(sides, run, (side) => measureBulk(side, options));
      await interleaved(sides, run, (side) => measureEcho(side, payload));
      await interleaved(sides, run, (side) => measureLatency(side, options));
    }
    for (const side of sides) side.samples.peakRssMiB.push(sampleProcess(pidOf(side)).peakRssMiB);
    return {
      payloadMiB,
      ours: stats(ours.samples.echoSeconds),
      goClient: stats(go.samples.echoSeconds),
      runs,
      options,
      rows: rowsOf(go.samples, ours.samples, options, payloadMiB),
    };
  } finally {
    for (const child of children.reverse()) await child.stop();
    await server.stop();
  }
}

function formatValue(value: number, unit: string): string {
  const digits = unit === 'ms' ? 3 : unit === 'MB/s' ? 0 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** The tunnel section as a markdown table, ratios b/a (throughput: higher is better; the rest: lower). */
export function formatTunnelTable(r: TunnelBench): string {
  const lines = [
    `| tunnel via Go chisel server, median of ${r.runs} interleaved runs | (a) Go chisel client | (b) ours | b/a |`,
    '|---|---|---|---|',
  ];
  for (const row of r.rows) {
    const ratio = row.goClient > 0 ? `${(row.ours / row.goClient).toFixed(2)}×` : 'n/a';
    lines.push(
      `| ${row.label} | ${formatValue(row.goClient, row.unit)} | ${formatValue(row.ours, row.unit)} | ${ratio} |`,
    );
  }
  return lines.join('\n');
}
