import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { envelope } from '../agent/controlplane/protocol';
import { readAudit } from '../sandbox/cluster/audit';
import { down, up } from '../sandbox/cluster/cluster';
import { freePort } from '../sandbox/cluster/processes';
import { startControlPlane } from '../sandbox/control-plane/server';
import { percentile } from './machine';

export interface AgentBench {
  minutes: number;
  apiRequestsPerMinute: number;
  apiRequestsByVerb: Record<string, number>;
  controlPlaneHttpPerMinute: number;
  heartbeatsPerMinute: number;
  heartbeatRtt: { p50: number; p95: number; count: number };
  bareWebSocketRtt: { p50: number; p95: number; count: number };
  rssMiB: number;
}

const token = 'bench-agent-token';
const adminToken = 'bench-admin-token';
const sandboxName = 'bench';
const quiet = (): void => undefined;

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const status = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(100);
  }
  throw new Error('the agent did not become ready within 60 s');
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** The floor for heartbeat RTT: a bare `ws` client sending the same heartbeat to the same server. */
async function bareWebSocketRtt(url: string, payload: Record<string, unknown>, samples: number): Promise<number[]> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/v1/clusters/agent/ws`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const rtts: number[] = [];
  for (let i = 0; i < samples; i++) {
    const id = `bare-${i}`;
    const started = performance.now();
    const acked = new Promise<void>((resolve) => {
      const onMessage = (data: WebSocket.RawData): void => {
        if ((JSON.parse(String(data)) as { request_id?: string }).request_id !== id) return;
        ws.off('message', onMessage);
        resolve();
      };
      ws.on('message', onMessage);
    });
    ws.send(JSON.stringify(envelope('heartbeat', payload, id)));
    await acked;
    rtts.push(performance.now() - started);
  }
  ws.close();
  return rtts;
}

interface Detailed {
  hops: { control_plane: { link: { rtt_15m: { count: number; p50_ms: number; p95_ms: number } } } };
}

/**
 * Runs the headless agent against the sandbox and the reference control plane for `minutes`, then reports
 * its steady-state Kubernetes API requests (from the API server's audit log; watches excluded), its
 * control-plane traffic, heartbeat RTT against a bare WebSocket client on the same server, and its RSS.
 */
export async function benchAgent(minutes: number, log: (line: string) => void): Promise<AgentBench> {
  const sandbox = await up({ name: sandboxName, log: quiet });
  const stateFile = path.join(await mkdtemp(path.join(tmpdir(), 'bench-cp-')), 'state.json');
  const cp = await startControlPlane({ tokens: [token], adminToken, stateFile });
  const port = await freePort();
  const agent = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts'], {
    env: {
      ...process.env,
      KUBECONFIG: sandbox.agentKubeconfig,
      PIPEOPS_API_URL: cp.url,
      PIPEOPS_TOKEN: token,
      PIPEOPS_CLUSTER_NAME: 'bench',
      PIPEOPS_PORT: String(port),
      PIPEOPS_STATE_NAMESPACE: 'pipeops-system',
      PIPEOPS_LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
  });
  try {
    await waitReady(port);
    const warmupMs = 30_000;
    log(`agent ready; warming up ${warmupMs / 1000}s, then measuring until ${minutes} min`);
    await sleep(warmupMs);
    const windowStart = Date.now();
    const cpBefore = await adminRequests(cp.url);
    await sleep(minutes * 60_000 - warmupMs);
    const windowMinutes = (Date.now() - windowStart) / 60_000;
    const cpAfter = await adminRequests(cp.url);
    const audit = readAudit(sandbox.layout).filter(
      (e) => e.at >= windowStart && e.user.endsWith(':pipeops-agent') && e.verb !== 'watch',
    );
    const byVerb: Record<string, number> = {};
    for (const entry of audit) byVerb[entry.verb] = (byVerb[entry.verb] ?? 0) + 1;
    const detailed = (await (await fetch(`http://127.0.0.1:${port}/api/health/detailed`)).json()) as Detailed;
    const rss = await rssMiB(agent.pid ?? 0);
    const clusters = (await (
      await fetch(`${cp.url}/admin/clusters`, { headers: { Authorization: `Bearer ${adminToken}` } })
    ).json()) as { last_heartbeat: Record<string, unknown> }[];
    const bare = await bareWebSocketRtt(cp.url, clusters[0]?.last_heartbeat ?? {}, 200);
    return {
      minutes,
      apiRequestsPerMinute: audit.length / windowMinutes,
      apiRequestsByVerb: byVerb,
      controlPlaneHttpPerMinute: (cpAfter.http - cpBefore.http) / windowMinutes,
      heartbeatsPerMinute: (cpAfter.heartbeats - cpBefore.heartbeats) / windowMinutes,
      heartbeatRtt: {
        p50: detailed.hops.control_plane.link.rtt_15m.p50_ms,
        p95: detailed.hops.control_plane.link.rtt_15m.p95_ms,
        count: detailed.hops.control_plane.link.rtt_15m.count,
      },
      bareWebSocketRtt: { p50: percentile(bare, 50), p95: percentile(bare, 95), count: bare.length },
      rssMiB: rss,
    };
  } finally {
    agent.kill('SIGTERM');
    await cp.stop();
    await down({ name: sandboxName, purge: true, log: quiet });
  }
}

async function adminRequests(url: string): Promise<{ http: number; heartbeats: number }> {
  const body = (await (
    await fetch(`${url}/admin/requests`, { headers: { Authorization: `Bearer ${adminToken}` } })
  ).json()) as {
    counts: Record<string, number>;
    ws_messages: Record<string, number>;
  };
  const http = Object.entries(body.counts)
    .filter(([route]) => !route.startsWith('GET /admin') && !route.startsWith('POST /admin'))
    .reduce((n, [, count]) => n + count, 0);
  return { http, heartbeats: body.ws_messages.heartbeat ?? 0 };
}
