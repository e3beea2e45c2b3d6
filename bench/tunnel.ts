import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
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
  registerChild,
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
  /** [min, max] over the runs, when the row has one sample per run. */
  goRange?: [number, number];
  oursRange?: [number, number];
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

/**
 * `count` loopback ports that are free and distinct: all are held open at once before any is released,
 * so (unlike calling freePort() repeatedly) no two can be the same. Two remotes on one port make the
 * Go server drop the session and refuse every retry, which wedged earlier runs.
 */
export async function distinctFreePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** Rejects with `label` if `promise` takes longer than `ms`, so no step of the benchmark can hang. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no result within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const probeTimeoutMs = 3_000;
const readyDeadlineMs = 30_000;
/** The longest any one measurement (one side, one step) may take on a slow, loaded machine. */
const stepTimeoutMs = 300_000;

/**
 * The server binds reverse ports only after the config reply, so readiness means a working round trip.
 * Each try has its own timeout and the whole wait a deadline; failure names the port and the last error.
 */
async function waitUntilWorking(label: string, check: () => Promise<unknown>): Promise<void> {
  const deadline = performance.now() + readyDeadlineMs;
  let lastError = 'no attempt finished';
  while (performance.now() < deadline) {
    try {
      await withTimeout(check(), probeTimeoutMs, label);
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(50);
  }
  throw new Error(`${label} never worked within ${readyDeadlineMs / 1000} s (last error: ${lastError})`);
}

async function startSide(
  start: (spec: ClientSpec) => Promise<Child>,
  server: GoChiselServer,
  target: TargetPorts,
  ports: TargetPorts,
): Promise<Side> {
  const child = await start({
    serverPort: server.port,
    fingerprint: server.fingerprint,
    remotes: [
      [ports.echo, target.echo],
      [ports.sink, target.sink],
      [ports.source, target.source],
    ],
  });
  try {
    await waitUntilWorking(`echo through port ${ports.echo}`, () => probe(ports.echo));
    await waitUntilWorking(`sink through port ${ports.sink}`, () => uploadToSink(ports.sink, 1));
    await waitUntilWorking(`source through port ${ports.source}`, () => downloadFromSource(ports.source, 1));
  } catch (error) {
    await child.stop();
    throw error;
  }
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
async function interleaved(
  sides: [Side, Side],
  run: number,
  label: string,
  step: (side: Side) => Promise<void>,
): Promise<void> {
  const order = run % 2 === 0 ? sides : ([sides[1], sides[0]] as const);
  for (const side of order) {
    const who = side === sides[0] ? 'Go client' : 'our client';
    await withTimeout(step(side), stepTimeoutMs, `run ${run + 1}, ${label}, ${who}`);
  }
}

/** A short pass over every path first, so JIT warm-up is not measured for either side. */
async function warmUp(sides: [Side, Side], o: TunnelBenchOptions): Promise<void> {
  const light: TunnelBenchOptions = { ...o, singleMiB: 16, streamMiB: 1, persistentRequests: 500, connectRequests: 50 };
  for (const side of sides) await withTimeout(warmUpSide(side, light), stepTimeoutMs, 'warm-up');
}

async function warmUpSide(side: Side, light: TunnelBenchOptions): Promise<void> {
  await uploadToSink(side.ports.sink, light.singleMiB * mebibyte);
  await parallelUpload(side.ports.sink, light.streams, light.streamMiB * mebibyte);
  await downloadFromSource(side.ports.source, light.singleMiB * mebibyte);
  await parallelDownload(side.ports.source, light.streams, light.streamMiB * mebibyte);
  await persistentLatency(side.ports.echo, light.persistentRequests, light.requestBytes);
  await connectLatency(side.ports.echo, light.connectRequests, light.requestBytes);
}

function median(samples: number[]): number {
  return stats(samples).median;
}

function range(samples: number[]): [number, number] | undefined {
  if (samples.length < 2) return undefined;
  const { min, max } = stats(samples);
  return [min, max];
}

function rowsOf(go: Samples, ours: Samples, o: TunnelBenchOptions, payloadMiB: number): TunnelRow[] {
  const row = (label: string, unit: string, metric: Metric, higherIsBetter: boolean): TunnelRow => ({
    label,
    unit,
    goClient: median(go[metric]),
    ours: median(ours[metric]),
    goRange: range(go[metric]),
    oursRange: range(ours[metric]),
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
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-chisel-'));
  const children: Child[] = [];
  let server: GoChiselServer | undefined;
  try {
    const keyfile = path.join(dir, 'server.key');
    await generateKey(keyfile);
    // The target listens first, so the ports picked next cannot be handed to it.
    const target = await startTarget();
    children.push(target.child);
    const [serverPort = 0, ...remotePorts] = await distinctFreePorts(7);
    const sidePorts = (offset: number): TargetPorts => ({
      echo: remotePorts[offset] ?? 0,
      sink: remotePorts[offset + 1] ?? 0,
      source: remotePorts[offset + 2] ?? 0,
    });
    server = await startGoChisel(serverPort, keyfile, 'user:pass', registerChild);
    const go = await startSide(startGoClient, server, target.ports, sidePorts(0));
    children.push(go.child);
    const ours = await startSide(startOurClient, server, target.ports, sidePorts(3));
    children.push(ours.child);
    const sides: [Side, Side] = [go, ours];
    for (const side of sides) side.samples.idleRssMiB.push(sampleProcess(pidOf(side)).rssMiB);
    await warmUp(sides, options);
    for (let run = 0; run < runs; run++) {
      await interleaved(sides, run, 'bulk transfers', (side) => measureBulk(side, options));
      await interleaved(sides, run, `${payloadMiB} MiB echo`, (side) => measureEcho(side, payload));
      await interleaved(sides, run, 'latency', (side) => measureLatency(side, options));
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
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function formatValue(value: number, unit: string, spread?: [number, number]): string {
  const digits = unit === 'ms' ? 3 : unit === 'MB/s' ? 0 : 2;
  const span = spread ? ` (${spread[0].toFixed(digits)}–${spread[1].toFixed(digits)})` : '';
  return `${value.toFixed(digits)} ${unit}${span}`;
}

/** The tunnel section as a markdown table, ratios b/a (throughput: higher is better; the rest: lower). */
export function formatTunnelTable(r: TunnelBench): string {
  const lines = [
    `| tunnel via Go chisel server, median (min–max) of ${r.runs} interleaved runs | (a) Go chisel client | (b) ours | b/a |`,
    '|---|---|---|---|',
  ];
  for (const row of r.rows) {
    const ratio = row.goClient > 0 ? `${(row.ours / row.goClient).toFixed(2)}×` : 'n/a';
    lines.push(
      `| ${row.label} | ${formatValue(row.goClient, row.unit, row.goRange)} | ${formatValue(row.ours, row.unit, row.oursRange)} | ${ratio} |`,
    );
  }
  return lines.join('\n');
}
