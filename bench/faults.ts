import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { kubeConfigFromFile } from '../agent/kubernetes/kubeconfig';
import { up } from '../sandbox/cluster/cluster';
import { freePort } from '../sandbox/cluster/processes';
import type { FaultsInput, ReplyOverride } from '../sandbox/control-plane/faults';
import { startControlPlane, type ControlPlaneHandle } from '../sandbox/control-plane/server';

/**
 * Fault runs of the headless agent against the sandbox API server and the reference control plane:
 *   chaos   — kill -9 the agent at random moments (identity load, registration, link) and count identities,
 *             clusters and registrations;
 *   hostile — feed it malformed, oversized, wrong-typed, trickled and mislabelled replies on every route,
 *             a ping flood it cannot answer, and count replies, crashes, /health answers and max RSS.
 * `npx tsx bench/faults.ts chaos --kills 20` / `npx tsx bench/faults.ts hostile --seconds 60`.
 */

const token = 'faults-agent-token';
const adminToken = 'faults-admin-token';
const sandboxName = process.env.PIPEOPS_SANDBOX_NAME ?? 'faults';
const namespace = 'pipeops-system';

interface Agent {
  child: ChildProcess;
  port: number;
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startAgent(cp: ControlPlaneHandle, kubeconfig: string, configMap: string): Promise<Agent> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts'], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      PIPEOPS_API_URL: cp.url,
      PIPEOPS_TOKEN: token,
      PIPEOPS_CLUSTER_NAME: 'faults',
      PIPEOPS_PORT: String(port),
      PIPEOPS_STATE_NAMESPACE: namespace,
      PIPEOPS_STATE_CONFIGMAP_NAME: configMap,
      PIPEOPS_LEADER_ELECTION: 'false',
      PIPEOPS_HEARTBEAT_INTERVAL: '500ms',
      PIPEOPS_TIMEOUT: '2s',
      PIPEOPS_TUNNEL_ENABLED: 'true',
      PIPEOPS_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        lines.push({ msg: part });
      }
    }
  });
  child.stderr?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, port, lines, exited };
}

async function httpStatus(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.status,
    () => 0,
  );
}

async function waitHealthy(agent: Agent): Promise<void> {
  while ((await httpStatus(`http://127.0.0.1:${agent.port}/health`)) !== 200) await sleep(20);
}

async function waitReady(agent: Agent, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if ((await httpStatus(`http://127.0.0.1:${agent.port}/ready`)) === 200) return performance.now() - started;
    await sleep(50);
  }
  throw new Error('the agent did not become ready');
}

async function admin<T>(cp: ControlPlaneHandle, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${cp.url}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`admin ${route}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

function agentIds(lines: Record<string, unknown>[]): string[] {
  return lines.flatMap((line) => (typeof line.agent_id === 'string' && line.agent_id ? [line.agent_id] : []));
}

async function controlPlane(): Promise<ControlPlaneHandle> {
  const stateFile = path.join(await mkdtemp(path.join(tmpdir(), 'faults-cp-')), 'state.json');
  return startControlPlane({ tokens: [token], adminToken, stateFile, enableTestFaults: true, pingIntervalMs: 2_000 });
}

async function chaos(kills: number): Promise<void> {
  const sandbox = await up({ name: sandboxName, log: () => undefined });
  const cp = await controlPlane();
  const configMap = `chaos-${Date.now().toString(36)}`;
  const seen = new Set<string>();
  let ownExits = 0;
  try {
    for (let kill = 1; kill <= kills; kill++) {
      const agent = await startAgent(cp, sandbox.agentKubeconfig, configMap);
      // From the moment the process serves HTTP (tsx has compiled it): identity, registration, link.
      await waitHealthy(agent);
      const at = Math.floor(Math.random() * 3_000);
      const exitedFirst = await Promise.race([sleep(at).then(() => false), agent.exited.then(() => true)]);
      if (exitedFirst) ownExits += 1;
      agent.child.kill('SIGKILL');
      await agent.exited;
      for (const id of agentIds(agent.lines)) seen.add(id);
      const phase = agent.lines.some((l) => l.msg === 'Control link connected (WebSocket)')
        ? 'link up'
        : agent.lines.some((l) => l.msg === 'Registered with the control plane')
          ? 'registered'
          : agent.lines.some((l) => typeof l.agent_id === 'string')
            ? 'identity loaded'
            : 'loading identity';
      console.log(`kill ${kill}/${kills} ${at} ms after /health (${phase}); agent_ids so far: ${seen.size}`);
    }
    const last = await startAgent(cp, sandbox.agentKubeconfig, configMap);
    await waitReady(last);
    for (const id of agentIds(last.lines)) seen.add(id);
    last.child.kill('SIGTERM');
    await last.exited;
    const core = kubeConfigFromFile(sandbox.adminKubeconfig).makeApiClient(CoreV1Api);
    const stored = await core.readNamespacedConfigMap({ name: configMap, namespace });
    const clusters = await admin<{ agent_id: string; registrations: number }[]>(cp, '/admin/clusters');
    const registrations = clusters.reduce((sum, cluster) => sum + cluster.registrations, 0);
    console.log(
      JSON.stringify({
        kills,
        distinct_agent_ids: seen.size,
        stored_agent_id: stored.data?.agent_id,
        clusters: clusters.length,
        registrations,
        exits_on_its_own: ownExits,
      }),
    );
  } finally {
    await cp.stop();
  }
}

/** Replies no sane control plane sends: the corpus every route is fed in turn. */
function hostileBodies(): { status: number; body: string; headers?: Record<string, string>; trickle?: true }[] {
  const id = '"cluster_id":"c","cluster_uuid":"\\ud800","name":"x","status":"ok"';
  const tunnel = (addr: string): string =>
    JSON.stringify({
      status: 'REQUIRED',
      forwards: [{ name: 'kubernetes-api', remote_port: 40000 }],
      credentials: Buffer.from('u:p').toString('base64'),
      poll_frequency: 1,
      tunnel_server_addr: addr,
      server_fingerprint: 'x'.repeat(43) + '=',
    });
  return [
    { status: 200, body: 'not json {' },
    { status: 200, body: '{"cluster_id":' },
    { status: 200, body: `{${id}}` },
    { status: 200, body: '{"cluster_id":42,"cluster_uuid":[],"name":null}' },
    { status: 200, body: JSON.stringify({ cluster_id: 'x'.repeat(250_000) }) },
    { status: 200, body: '{"a":1}', headers: { 'content-encoding': 'gzip' } },
    { status: 200, body: '{"a":1}', headers: { 'content-encoding': 'br' } },
    { status: 200, body: tunnel('http://127.0.0.1:70000') },
    { status: 200, body: tunnel('ftp://evil') },
    { status: 200, body: tunnel('user:pw@host:1') },
    { status: 500, body: '{"error":{"message":"echo Authorization: {{authorization}}"}}' },
    { status: 503, body: '<html>gateway</html>' },
    { status: 301, body: '', headers: { location: 'http://127.0.0.1:1/' } },
    { status: 404, body: '{}' },
    { status: 418, body: '{"error":"teapot"}' },
    { status: 200, body: `{${id}}`, trickle: true },
  ];
}

const hostileRoutes: ReplyOverride['route'][] = ['register', 'heartbeat_http', 'tunnel_status', 'websocket_upgrade'];

/** Round n: the next route with the next hostile reply, plus what makes the agent use that route. */
function roundFaults(round: number, corpus: ReturnType<typeof hostileBodies>): FaultsInput {
  const route = hostileRoutes[round % hostileRoutes.length] ?? 'register';
  const reply = corpus[Math.floor(round / hostileRoutes.length) % corpus.length] ?? { status: 200, body: '' };
  return {
    reply_override: {
      route,
      status: reply.status,
      body: reply.body,
      headers: reply.headers ?? {},
      ...(reply.trickle ? { trickle_ms: 50, trickle_chunk_bytes: 4 } : {}),
    },
    ws_cluster_not_found: route === 'register',
    refuse_websocket: route === 'heartbeat_http',
    ...(route === 'websocket_upgrade' ? { drop_sockets: true as const } : {}),
  };
}

/** One-shot WebSocket abuse layered on some rounds: oversized frames, unknown acks, a ping flood unread. */
function oneShots(round: number): FaultsInput | undefined {
  if (round % 16 === 0) return { stop_reading: true, ping_flood: 100_000 };
  if (round % 8 === 0) return { send_malformed: 'oversized' };
  if (round % 8 === 4) return { unknown_acks: 100 };
  return undefined;
}

interface Sampler {
  health: { ok: number; total: number };
  maxRss: number;
  stop: () => Promise<void>;
}

/** Polls /health and the RSS every 250 ms while the run lasts. */
function sample(agent: Agent): Sampler {
  const state: Sampler = { health: { ok: 0, total: 0 }, maxRss: 0, stop: () => Promise.resolve() };
  let running = true;
  const loop = (async (): Promise<void> => {
    while (running) {
      state.health.total += 1;
      if ((await httpStatus(`http://127.0.0.1:${agent.port}/health`)) === 200) state.health.ok += 1;
      state.maxRss = Math.max(state.maxRss, await rssMiB(agent.child.pid ?? 0));
      await sleep(250);
    }
  })();
  state.stop = async () => {
    running = false;
    await loop;
  };
  return state;
}

function agentRequests(counts: Record<string, number>): number {
  return Object.entries(counts)
    .filter(([route]) => !route.includes('/admin'))
    .reduce((sum, [, count]) => sum + count, 0);
}

function countLines(agent: Agent, test: (msg: string) => boolean): number {
  return agent.lines.filter((line) => test(String(line.msg))).length;
}

async function hostile(seconds: number): Promise<void> {
  const sandbox = await up({ name: sandboxName, log: () => undefined });
  const cp = await controlPlane();
  const agent = await startAgent(cp, sandbox.agentKubeconfig, `hostile-${Date.now().toString(36)}`);
  await waitHealthy(agent);
  const sampler = sample(agent);
  try {
    await waitReady(agent);
    const baselineRss = await rssMiB(agent.child.pid ?? 0);
    const startId = agentIds(agent.lines)[0] ?? '';
    const corpus = hostileBodies();
    const before = await admin<{ counts: Record<string, number> }>(cp, '/admin/requests');
    const deadline = Date.now() + seconds * 1000;
    let round = 0;
    for (; Date.now() < deadline; round++) {
      await admin(cp, '/admin/faults', roundFaults(round, corpus));
      const extra = oneShots(round);
      if (extra) await admin(cp, '/admin/faults', extra);
      await sleep(1_000);
      await admin(cp, '/admin/faults', { stop_reading: false });
    }
    const after = await admin<{ counts: Record<string, number> }>(cp, '/admin/requests');
    await admin(cp, '/admin/faults', {
      reply_override: null,
      ws_cluster_not_found: false,
      refuse_websocket: false,
      stop_reading: false,
    });
    const recoveryMs = await waitReady(agent);
    const settledRss = await rssMiB(agent.child.pid ?? 0);
    await sampler.stop();
    const ids = new Set(agentIds(agent.lines));
    console.log(
      JSON.stringify({
        seconds,
        rounds: round,
        control_plane_replies: agentRequests(after.counts) - agentRequests(before.counts),
        crashes: agent.child.exitCode === null ? 0 : 1,
        health: `${sampler.health.ok}/${sampler.health.total}`,
        rss_mib: { baseline: baselineRss, max: sampler.maxRss, after_recovery: settledRss },
        recovery_ms: Math.round(recoveryMs),
        agent_ids: [...ids],
        identity_unchanged: ids.size === 1 && ids.has(startId),
        loop_restarts: countLines(agent, (m) => m.endsWith('loop failed unexpectedly; restarting it')),
        unhandled: countLines(agent, (m) => m.startsWith('unhandled') || m.startsWith('uncaught')),
        registrations: (await admin<{ registrations: number }[]>(cp, '/admin/clusters'))[0]?.registrations,
      }),
    );
  } finally {
    await sampler.stop();
    agent.child.kill('SIGTERM');
    await agent.exited;
    await cp.stop();
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { kills: { type: 'string', default: '20' }, seconds: { type: 'string', default: '60' } },
  });
  if (positionals[0] === 'chaos') await chaos(Number(values.kills));
  else if (positionals[0] === 'hostile') await hostile(Number(values.seconds));
  else throw new Error('usage: bench/faults.ts chaos [--kills N] | hostile [--seconds N]');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
