import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { freePort } from '../../sandbox/cluster/processes';
import { agentToken, startTestControlPlane, uniqueNames, type TestControlPlane } from '../testing/harness';

const sandbox = inject('sandbox');
const leaseDurationMs = 4000;
const retryPeriodMs = 500;

interface AgentProcess {
  child: ChildProcess;
  port: number;
  output: string[];
}

interface Detailed {
  status: string;
  agent: { agent_id?: string; leader: { identity: string; leader: boolean; holder?: string } };
}

async function spawnAgent(cp: TestControlPlane, names: { configMap: string; lease: string }): Promise<AgentProcess> {
  const port = await freePort();
  const output: string[] = [];
  // One process (no tsx wrapper), so SIGKILL really kills the agent.
  const child = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      KUBECONFIG: sandbox.agentKubeconfig,
      PIPEOPS_API_URL: cp.url,
      PIPEOPS_TOKEN: agentToken,
      PIPEOPS_CLUSTER_NAME: 'failover',
      PIPEOPS_PORT: String(port),
      PIPEOPS_STATE_NAMESPACE: 'pipeops-system',
      PIPEOPS_STATE_CONFIGMAP_NAME: names.configMap,
      PIPEOPS_LEASE_NAME: names.lease,
      PIPEOPS_LEASE_DURATION: `${leaseDurationMs}ms`,
      PIPEOPS_HEARTBEAT_INTERVAL: '500ms',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, port, output };
}

async function detailed(agent: AgentProcess): Promise<Detailed | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${agent.port}/api/health/detailed`);
    return (await response.json()) as Detailed;
  } catch {
    return undefined;
  }
}

describe('leader election across two agent processes', () => {
  let cp: TestControlPlane;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    for (const agent of agents) agent.child.kill('SIGKILL');
    await cp.stop();
  });

  it('runs one leader and one ready standby; a killed leader is replaced within the lease duration', async () => {
    const names = uniqueNames();
    agents.push(await spawnAgent(cp, names), await spawnAgent(cp, names));
    await vi.waitFor(
      async () => {
        const states = await Promise.all(agents.map(detailed));
        expect(states.map((s) => s?.status).sort()).toEqual(['ready', 'standby']);
      },
      { timeout: 60_000, interval: 200 },
    );
    const states = await Promise.all(agents.map(detailed));
    expect(states[0]?.agent.agent_id).toBe(states[1]?.agent.agent_id);
    const leaderIndex = states.findIndex((s) => s?.agent.leader.leader);
    const leader = agents[leaderIndex] as AgentProcess;
    const standby = agents[1 - leaderIndex] as AgentProcess;
    const readyResponse = await fetch(`http://127.0.0.1:${standby.port}/ready`);
    expect(readyResponse.status).toBe(200);
    expect(await readyResponse.json()).toMatchObject({ status: 'standby' });
    // A standby can only time the leader out from when it has seen the leader's Lease (client-go's rule);
    // kill only once it has.
    const leaderIdentity = states[leaderIndex]?.agent.leader.identity;
    await vi.waitFor(async () => expect((await detailed(standby))?.agent.leader.holder).toBe(leaderIdentity), {
      timeout: 10_000,
      interval: 50,
    });

    leader.child.kill('SIGKILL');
    const killedAt = Date.now();
    await vi.waitFor(async () => expect((await detailed(standby))?.agent.leader.leader).toBe(true), {
      timeout: 20_000,
      interval: 50,
    });
    const takeoverMs = Date.now() - killedAt;
    console.log(`leader takeover after SIGKILL: ${takeoverMs} ms (lease ${leaseDurationMs} ms)`);
    // Expiry is judged from when the standby last saw the Lease change (immune to clock skew), polled every
    // retry period (+20% jitter): the bound is the lease plus two polls, plus 500 ms for API latency.
    expect(takeoverMs).toBeLessThanOrEqual(leaseDurationMs + 2 * retryPeriodMs * 1.2 + 500);
    await vi.waitFor(async () => expect((await detailed(standby))?.status).toBe('ready'), { timeout: 10_000 });
  });

  it('hands over at once when the leader shuts down cleanly (SIGTERM releases the lease)', async () => {
    const names = uniqueNames();
    const pair = [await spawnAgent(cp, names), await spawnAgent(cp, names)];
    agents.push(...pair);
    await vi.waitFor(
      async () =>
        expect((await Promise.all(pair.map(detailed))).map((s) => s?.status).sort()).toEqual(['ready', 'standby']),
      { timeout: 60_000, interval: 200 },
    );
    const states = await Promise.all(pair.map(detailed));
    const leader = pair[states.findIndex((s) => s?.agent.leader.leader)] as AgentProcess;
    const standby = pair.find((a) => a !== leader) as AgentProcess;
    const exited = new Promise<number | null>((resolve) => leader.child.on('exit', (code) => resolve(code)));
    leader.child.kill('SIGTERM');
    const stoppedAt = Date.now();
    expect(await exited).toBe(0);
    const exitMs = Date.now() - stoppedAt;
    expect(exitMs).toBeLessThan(10_000);
    expect(leader.output.join('')).toContain('Released the leader lease');
    await vi.waitFor(async () => expect((await detailed(standby))?.status).toBe('ready'), {
      timeout: 10_000,
      interval: 50,
    });
  });
});
