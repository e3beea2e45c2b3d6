import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  envelope,
  parseControlPlaneMessage,
  registerResponseSchema,
  tunnelStatusResponseSchema,
  type ControlPlaneMessage,
  type RegisterRequest,
} from '../../agent/controlplane/protocol';
import { startControlPlane, type ControlPlaneHandle, type ControlPlaneOptions } from './server';
import { systemPortProbe } from './tunnel-ports';

const agentToken = 'agent-token-0123456789';
const adminToken = 'admin-token-0123456789';
const serviceToken = 'sa-token-must-never-be-stored-abcdef';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function tempStateFile(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'control-plane-'));
  cleanups.unshift(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'nested', 'state.json');
}

async function start(options: Partial<ControlPlaneOptions> = {}): Promise<ControlPlaneHandle> {
  const handle = await startControlPlane({
    port: 0,
    tokens: [agentToken],
    adminToken,
    enableTestFaults: true,
    stateFile: options.stateFile ?? (await tempStateFile()),
    ...options,
  });
  cleanups.push(() => handle.stop());
  return handle;
}

function registerBody(overrides: Partial<RegisterRequest> = {}): RegisterRequest {
  return {
    agent_id: 'agent-1',
    name: 'sandbox',
    k8s_version: 'v1.36.3',
    hostname: 'pipeops-agent-0',
    agent_version: '0.1.0',
    k8s_service_token: serviceToken,
    tunnel_port_config: { kubernetes_api: 6443, agent_http: 8080 },
    labels: { env: 'test' },
    metadata: { registration_mode: 'fresh' },
    ...overrides,
  };
}

async function call(
  handle: ControlPlaneHandle,
  method: string,
  route: string,
  options: { token?: string | null; body?: unknown; rawBody?: string; contentType?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? agentToken : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  return fetch(`${handle.url}${route}`, { method, headers, body });
}

async function register(handle: ControlPlaneHandle, overrides: Partial<RegisterRequest> = {}) {
  const res = await call(handle, 'POST', '/api/v1/clusters/agent/register', { body: registerBody(overrides) });
  expect(res.status).toBe(200);
  return registerResponseSchema.parse(await res.json());
}

async function admin(handle: ControlPlaneHandle, method: string, route: string, body?: unknown): Promise<Response> {
  return call(handle, method, route, { token: adminToken, body });
}

interface ClusterListing {
  cluster_id: string;
  agent_id: string;
  registrations: number;
  heartbeats: number;
  last_heartbeat: { metadata: { k8s_nodes: number; k8s_pods: number } } | null;
  last_pong_at: string | null;
  ws_connected: boolean;
  ws_connections: number;
  registration: Record<string, unknown>;
  tunnel: { status: string; forwards: { name: string; remote_port: number }[] };
}

async function clusters(handle: ControlPlaneHandle): Promise<ClusterListing[]> {
  const res = await admin(handle, 'GET', '/admin/clusters');
  expect(res.status).toBe(200);
  return (await res.json()) as ClusterListing[];
}

function heartbeatPayload(clusterId: string, agentId = 'agent-1') {
  return {
    cluster_id: clusterId,
    agent_id: agentId,
    status: 'healthy',
    tunnel_status: 'disconnected',
    metadata: { k8s_nodes: 3, k8s_pods: 42, agent_version: '0.1.0', k8s_version: 'v1.36.3' },
  };
}

/** Every frame a test client received, and a way to take the next matching one (each frame is taken once). */
class Inbox {
  readonly frames: string[] = [];
  private unclaimed: string[] = [];
  private waiters: { test: (frame: string) => boolean; resolve: (frame: string) => void }[] = [];

  constructor(ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const frame = data.toString('utf8');
      this.frames.push(frame);
      const waiter = this.waiters.find((candidate) => candidate.test(frame));
      if (!waiter) {
        this.unclaimed.push(frame);
        return;
      }
      this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
      waiter.resolve(frame);
    });
  }

  /** The oldest untaken frame that matches, waiting for one if needed. */
  async next(test: (frame: string) => boolean): Promise<string> {
    const index = this.unclaimed.findIndex(test);
    if (index >= 0) return this.unclaimed.splice(index, 1)[0] as string;
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  /** The next frame that parses as a control-plane message of this type. */
  async message(type: ControlPlaneMessage['type'], requestId?: string): Promise<ControlPlaneMessage> {
    const frame = await this.next((raw) => {
      const parsed = parseControlPlaneMessage(raw);
      return (
        parsed.ok && parsed.value.type === type && (requestId === undefined || parsed.value.request_id === requestId)
      );
    });
    const parsed = parseControlPlaneMessage(frame);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  }
}

async function connect(handle: ControlPlaneHandle, token: string | null = agentToken) {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  const ws = new WebSocket(`${handle.url.replace(/^http/, 'ws')}/api/v1/clusters/agent/ws`, { headers });
  const inbox = new Inbox(ws);
  ws.on('error', () => undefined);
  cleanups.push(async () => {
    if (ws.readyState === WebSocket.CLOSED) return;
    const closed = once(ws, 'close');
    ws.terminate();
    await closed;
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, inbox };
}

function sendHeartbeat(ws: WebSocket, clusterId: string, requestId: string, agentId = 'agent-1'): void {
  ws.send(JSON.stringify(envelope('heartbeat', heartbeatPayload(clusterId, agentId), requestId)));
}

describe('registration', () => {
  it('is idempotent by agent_id and by cluster_id and never stores the service token', async () => {
    const stateFile = await tempStateFile();
    const handle = await start({ stateFile });
    const first = await register(handle);
    expect(first).toMatchObject({ cluster_uuid: first.cluster_id, name: 'sandbox', status: 'registered' });
    const again = await register(handle);
    expect(again.cluster_id).toBe(first.cluster_id);
    const byCluster = await register(handle, { agent_id: 'agent-1', cluster_id: first.cluster_id });
    expect(byCluster.cluster_id).toBe(first.cluster_id);
    const other = await register(handle, { agent_id: 'agent-2', name: 'other' });
    expect(other.cluster_id).not.toBe(first.cluster_id);

    const listing = await clusters(handle);
    expect(listing).toHaveLength(2);
    const cluster = listing.find((c) => c.cluster_id === first.cluster_id);
    expect(cluster?.registrations).toBe(3);
    expect(cluster?.registration).toMatchObject({
      k8s_service_token_present: true,
      k8s_service_token_length: serviceToken.length,
    });
    expect(JSON.stringify(listing)).not.toContain(serviceToken);
    expect(await readFile(stateFile, 'utf8')).not.toContain(serviceToken);
  });

  it('recreates an unknown cluster_id with that same id', async () => {
    const handle = await start();
    const reply = await register(handle, { cluster_id: 'c0ffee00-0000-4000-8000-000000000001' });
    expect(reply.cluster_id).toBe('c0ffee00-0000-4000-8000-000000000001');
    expect((await clusters(handle))[0]?.registrations).toBe(1);
  });

  it('rejects a bad token with 401 and counts it', async () => {
    const handle = await start();
    const path = '/api/v1/clusters/agent/register';
    const bad = await call(handle, 'POST', path, { token: 'wrong', body: registerBody() });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('content-type')).toContain('application/json');
    expect(await bad.json()).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await call(handle, 'POST', path, { token: null, body: registerBody() })).status).toBe(401);
    await register(handle);

    const res = await admin(handle, 'GET', '/admin/requests');
    const counters = (await res.json()) as {
      counts: Record<string, number>;
      by_status: Record<string, Record<string, number>>;
    };
    expect(counters.counts[`POST ${path}`]).toBe(3);
    expect(counters.by_status[`POST ${path}`]).toEqual({ '401': 2, '200': 1 });
  });

  it('answers 400 naming the bad field, 415 for non-JSON and 413 for oversized bodies', async () => {
    const handle = await start();
    const path = '/api/v1/clusters/agent/register';
    const missing = await call(handle, 'POST', path, { body: { ...registerBody(), agent_id: '' } });
    expect(missing.status).toBe(400);
    const body = (await missing.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toContain('agent_id');

    const wrongType = await call(handle, 'POST', path, {
      body: { ...registerBody(), tunnel_port_config: { api: 'x' } },
    });
    expect(((await wrongType.json()) as { error: { message: string } }).error.message).toContain(
      'tunnel_port_config.api',
    );

    const notJson = await call(handle, 'POST', path, { rawBody: '{"agent_id":', contentType: 'application/json' });
    expect(notJson.status).toBe(400);
    const text = await call(handle, 'POST', path, { rawBody: 'agent_id=1', contentType: 'text/plain' });
    expect(text.status).toBe(415);
    const huge = await call(handle, 'POST', path, {
      body: { ...registerBody(), labels: { big: 'x'.repeat(300 * 1024) } },
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(await clusters(handle)).toHaveLength(0);
  });
});

describe('WebSocket heartbeats', () => {
  it('acks a heartbeat with the same request_id and records it', async () => {
    const handle = await start();
    const { cluster_id } = await register(handle);
    const { ws, inbox } = await connect(handle);
    sendHeartbeat(ws, cluster_id, 'req-1');
    const ack = await inbox.message('heartbeat_ack', 'req-1');
    expect(ack.payload).toHaveProperty('received_at');

    const [cluster] = await clusters(handle);
    expect(cluster).toMatchObject({ heartbeats: 1, ws_connected: true, ws_connections: 1 });
    expect(cluster?.last_heartbeat?.metadata).toMatchObject({ k8s_nodes: 3, k8s_pods: 42 });
  });

  it('answers cluster_not_found for an unknown cluster and keeps the socket open on bad messages', async () => {
    const handle = await start();
    const { cluster_id } = await register(handle);
    const { ws, inbox } = await connect(handle);
    sendHeartbeat(ws, 'no-such-cluster', 'req-unknown');
    const unknown = await inbox.message('error', 'req-unknown');
    expect(unknown.payload).toMatchObject({ code: 'cluster_not_found', retryable: true });

    ws.send('{not json');
    expect((await inbox.message('error')).payload).toMatchObject({ code: 'invalid_message' });
    ws.send(JSON.stringify(envelope('heartbeat', { cluster_id }, 'req-bad')));
    const bad = await inbox.message('error', 'req-bad');
    expect(bad.payload).toMatchObject({ code: 'invalid_message' });
    expect((bad.payload as { message: string }).message).toContain('agent_id');
    ws.send(JSON.stringify(envelope('surprise', {}, 'req-type')));
    expect((await inbox.message('error', 'req-type')).payload).toMatchObject({ code: 'unknown_type' });

    sendHeartbeat(ws, cluster_id, 'req-good');
    await inbox.message('heartbeat_ack', 'req-good');
    for (const frame of inbox.frames) expect(parseControlPlaneMessage(frame).ok).toBe(true);
  });

  it('closes a socket that sends an oversized frame (1009) and keeps serving others', async () => {
    const handle = await start();
    const { cluster_id } = await register(handle);
    const big = await connect(handle);
    const closed = once(big.ws, 'close') as Promise<[number, Buffer]>;
    big.ws.send('x'.repeat(300 * 1024));
    expect((await closed)[0]).toBe(1009);
    const { ws, inbox } = await connect(handle);
    sendHeartbeat(ws, cluster_id, 'req-1');
    await inbox.message('heartbeat_ack', 'req-1');
  });

  it('answers agent_mismatch when another agent heartbeats for a cluster', async () => {
    const handle = await start();
    const { cluster_id } = await register(handle);
    const { ws, inbox } = await connect(handle);
    sendHeartbeat(ws, cluster_id, 'req-1', 'agent-other');
    expect((await inbox.message('error', 'req-1')).payload).toMatchObject({ code: 'agent_mismatch', retryable: false });
  });

  it('sends pings and records pongs', async () => {
    const handle = await start({ pingIntervalMs: 20 });
    const { cluster_id } = await register(handle);
    const { ws, inbox } = await connect(handle);
    sendHeartbeat(ws, cluster_id, 'req-1');
    await inbox.message('heartbeat_ack', 'req-1');
    const ping = await inbox.message('ping');
    ws.send(JSON.stringify(envelope('pong', {}, ping.request_id)));
    sendHeartbeat(ws, cluster_id, 'req-2');
    await inbox.message('heartbeat_ack', 'req-2');
    expect((await clusters(handle))[0]?.last_pong_at).toEqual(expect.any(String));
  });

  it('refuses the upgrade with 401 before the handshake when the token is bad', async () => {
    const handle = await start();
    await expect(connect(handle, 'wrong')).rejects.toThrow(/401/);
    await expect(connect(handle, null)).rejects.toThrow(/401/);
    const counters = (await (await admin(handle, 'GET', '/admin/requests')).json()) as {
      by_status: Record<string, Record<string, number>>;
    };
    expect(counters.by_status['GET /api/v1/clusters/agent/ws']).toEqual({ '401': 2 });
  });

  it('closes open sockets when stopped', async () => {
    const handle = await start();
    const { ws } = await connect(handle);
    const closed = once(ws, 'close');
    await handle.stop();
    await closed;
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });
});

describe('HTTP heartbeat fallback', () => {
  it('answers 204 for a known cluster, 404 for an unknown one and 400 for a bad body', async () => {
    const handle = await start();
    const { cluster_id } = await register(handle);
    const route = (id: string) => `/api/v1/clusters/agent/${encodeURIComponent(id)}/heartbeat`;
    const ok = await call(handle, 'POST', route(cluster_id), { body: heartbeatPayload(cluster_id) });
    expect(ok.status).toBe(204);
    const unknown = await call(handle, 'POST', route('nope'), { body: heartbeatPayload('nope') });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'cluster_not_found' } });
    const bad = await call(handle, 'POST', route(cluster_id), { body: { cluster_id } });
    expect(bad.status).toBe(400);
    expect((await call(handle, 'POST', route(cluster_id), { token: 'x', body: {} })).status).toBe(401);
    expect((await clusters(handle))[0]).toMatchObject({ heartbeats: 1 });
  });
});

describe('tunnel status', () => {
  it('returns the schema shape with stable, distinct remote ports and persistent credentials', async () => {
    const handle = await start({
      tunnelServerAddr: 'ws://127.0.0.1:9999',
      tunnelServerFingerprint: 'SHA256:abc',
      tunnelPortRange: [41000, 41010],
    });
    expect((await call(handle, 'GET', '/api/v1/tunnel/status?agent_id=unknown')).status).toBe(404);
    await register(handle);
    await register(handle, { agent_id: 'agent-2' });

    const read = async (agentId: string) => {
      const res = await call(handle, 'GET', `/api/v1/tunnel/status?agent_id=${agentId}`);
      expect(res.status).toBe(200);
      return tunnelStatusResponseSchema.parse(await res.json());
    };
    const first = await read('agent-1');
    expect(first).toMatchObject({
      status: 'IDLE',
      poll_frequency: 5,
      tunnel_server_addr: 'ws://127.0.0.1:9999',
      server_fingerprint: 'SHA256:abc',
    });
    expect(first.forwards.map((f) => f.name).sort()).toEqual(['agent_http', 'kubernetes_api']);
    expect(Buffer.from(first.credentials, 'base64').toString()).toMatch(/^[^:]+:.+$/);
    const second = await read('agent-2');
    const ports = [...first.forwards, ...second.forwards].map((f) => f.remote_port);
    expect(new Set(ports).size).toBe(4);
    for (const port of ports) expect(port).toBeGreaterThanOrEqual(41000);
    expect(second.credentials).not.toBe(first.credentials);

    await register(handle, { tunnel_port_config: { kubernetes_api: 6443, agent_http: 8080, kubelet: 10250 } });
    const grown = await read('agent-1');
    expect(grown.forwards).toEqual(expect.arrayContaining(first.forwards));
    expect(grown.forwards).toHaveLength(3);
    expect(grown.credentials).toBe(first.credentials);

    expect((await admin(handle, 'POST', '/admin/tunnel', { agent_id: 'agent-1', status: 'REQUIRED' })).status).toBe(
      200,
    );
    expect((await read('agent-1')).status).toBe('REQUIRED');
    expect((await admin(handle, 'POST', '/admin/tunnel', { agent_id: 'nobody', status: 'ACTIVE' })).status).toBe(404);
    expect((await admin(handle, 'POST', '/admin/tunnel', { agent_id: 'agent-1', status: 'OPEN' })).status).toBe(400);
    expect((await call(handle, 'GET', '/api/v1/tunnel/status')).status).toBe(400);
  });
  it('keeps a chisel authfile that lets each cluster bind only its own ports, and starts clusters in the default status', async () => {
    const authFile = path.join(path.dirname(await tempStateFile()), 'users.json');
    const handle = await start({
      tunnelAuthFile: authFile,
      tunnelDefaultStatus: 'REQUIRED',
      tunnelPortRange: [42000, 42010],
    });
    await register(handle);
    await register(handle, { agent_id: 'agent-2' });
    const users = JSON.parse(await readFile(authFile, 'utf8')) as Record<string, string[]>;
    const read = async (agentId: string) =>
      tunnelStatusResponseSchema.parse(
        await (await call(handle, 'GET', `/api/v1/tunnel/status?agent_id=${agentId}`)).json(),
      );
    const first = await read('agent-1');
    const second = await read('agent-2');
    expect(first.status).toBe('REQUIRED');
    const rules = users[Buffer.from(first.credentials, 'base64').toString()] ?? [];
    expect(rules).toHaveLength(1);
    const allows = (port: number): boolean => rules.some((rule) => new RegExp(rule).test(`R:0.0.0.0:${port}`));
    for (const forward of first.forwards) expect(allows(forward.remote_port)).toBe(true);
    for (const forward of second.forwards) expect(allows(forward.remote_port)).toBe(false);
    expect(allows(4200)).toBe(false);
    expect(Object.keys(users)).toHaveLength(2);
  });
});

describe('tunnel ports from the OS', () => {
  it('with tunnelPortRange "os" hands each forward a distinct port nothing listens on', async () => {
    const handle = await start({ tunnelPortRange: 'os' });
    await register(handle);
    await register(handle, { agent_id: 'agent-2' });
    const ports: number[] = [];
    for (const agent of ['agent-1', 'agent-2']) {
      const status = tunnelStatusResponseSchema.parse(
        await (await call(handle, 'GET', `/api/v1/tunnel/status?agent_id=${agent}`)).json(),
      );
      ports.push(...status.forwards.map((f) => f.remote_port));
    }
    expect(new Set(ports).size).toBe(4);
    for (const port of ports) expect(await systemPortProbe.isFree(port)).toBe(true);
  });
});

describe('persistence', () => {
  it('keeps clusters, ids, counts, ports and credentials across a restart', async () => {
    const stateFile = await tempStateFile();
    const first = await start({ stateFile });
    const { cluster_id } = await register(first);
    await register(first);
    const tunnelBefore = await (await call(first, 'GET', '/api/v1/tunnel/status?agent_id=agent-1')).json();
    const { ws, inbox } = await connect(first);
    sendHeartbeat(ws, cluster_id, 'req-1');
    await inbox.message('heartbeat_ack', 'req-1');
    await first.stop();

    const second = await start({ stateFile });
    expect((await register(second)).cluster_id).toBe(cluster_id);
    const [cluster] = await clusters(second);
    expect(cluster).toMatchObject({ cluster_id, registrations: 3, heartbeats: 1, ws_connected: false });
    expect(await (await call(second, 'GET', '/api/v1/tunnel/status?agent_id=agent-1')).json()).toEqual(tunnelBefore);
  });

  it("starts on a fresh machine: the state file's and the embedded tunnel server key's directories are created", async () => {
    const stateFile = await tempStateFile();
    const keyFile = path.join(path.dirname(stateFile), 'no', 'such', 'dir', 'tunnel-server.key');
    const handle = await start({ stateFile, tunnelServer: { port: 0, keyFile } });
    await register(handle);
    expect((await readFile(keyFile, 'utf8')).startsWith('ck-')).toBe(true);
    await handle.stop();
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toMatchObject({ version: 1 });
  });

  it('refuses to start on a corrupt state file and names it', async () => {
    const stateFile = await tempStateFile();
    const first = await start({ stateFile });
    await register(first);
    await first.stop();
    await writeFile(stateFile, '{"version":1,"clusters":[{"cluster_id":""}]}');
    await expect(start({ stateFile })).rejects.toThrow(stateFile);
    await writeFile(stateFile, 'not json');
    await expect(start({ stateFile })).rejects.toThrow(/state file .* is not valid JSON/);
  });

  it('rejects bad options with a message naming the option', async () => {
    await expect(start({ tokens: [] })).rejects.toThrow(/tokens/);
    await expect(start({ tunnelPortRange: [5000, 4000] })).rejects.toThrow(/tunnelPortRange/);
  });
});

describe('test faults', () => {
  it('refuse_websocket answers upgrades with 503 while HTTP heartbeats still work', async () => {
    const handle = await start();
    const { cluster_id } = await register(handle);
    expect((await admin(handle, 'POST', '/admin/faults', { refuse_websocket: true })).status).toBe(200);
    await expect(connect(handle)).rejects.toThrow(/503/);
    const route = `/api/v1/clusters/agent/${cluster_id}/heartbeat`;
    expect((await call(handle, 'POST', route, { body: heartbeatPayload(cluster_id) })).status).toBe(204);
    await admin(handle, 'POST', '/admin/faults', { refuse_websocket: false });
    await connect(handle);
  });

  it('stall_acks keeps the socket open but never answers', async () => {
    const handle = await start({ pingIntervalMs: 20 });
    const { cluster_id } = await register(handle);
    const { ws, inbox } = await connect(handle);
    await admin(handle, 'POST', '/admin/faults', { stall_acks: true });
    sendHeartbeat(ws, cluster_id, 'req-stalled');
    const counters = async () =>
      ((await (await admin(handle, 'GET', '/admin/requests')).json()) as { ws_messages: Record<string, number> })
        .ws_messages;
    // The stalled heartbeat has arrived once the server counted it.
    while ((await counters())['(stalled)'] === undefined) await new Promise((resolve) => setImmediate(resolve));
    await admin(handle, 'POST', '/admin/faults', { stall_acks: false });
    sendHeartbeat(ws, cluster_id, 'req-after');
    await inbox.message('heartbeat_ack', 'req-after');
    expect(inbox.frames.some((frame) => frame.includes('req-stalled'))).toBe(false);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect((await clusters(handle))[0]?.heartbeats).toBe(1);
  });

  it('drop_sockets terminates every open socket', async () => {
    const handle = await start();
    const a = await connect(handle);
    const b = await connect(handle);
    const closed = Promise.all([once(a.ws, 'close'), once(b.ws, 'close')]);
    const res = await admin(handle, 'POST', '/admin/faults', { drop_sockets: true });
    expect(await res.json()).toMatchObject({ dropped_sockets: 2 });
    await closed;
  });

  it('send_malformed sends each kind of bad frame, which the agent parser rejects', async () => {
    const handle = await start();
    const { ws, inbox } = await connect(handle);
    const expected = {
      not_json: /not JSON/,
      bad_envelope: /bad envelope/,
      unknown_type: /unknown message type/,
      oversized: /exceeds/,
    } as const;
    for (const [kind, reason] of Object.entries(expected)) {
      const seen = inbox.next((frame) => !parseControlPlaneMessage(frame).ok);
      const res = await admin(handle, 'POST', '/admin/faults', { send_malformed: kind });
      expect(await res.json()).toMatchObject({ malformed_sent: 1 });
      const parsed = parseControlPlaneMessage(await seen);
      expect(parsed.ok ? 'parsed' : parsed.reason).toMatch(reason);
    }
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it('forget_cluster makes the next heartbeat get cluster_not_found; re-registering keeps the id', async () => {
    const handle = await start();
    const { cluster_id } = await register(handle);
    const { ws, inbox } = await connect(handle);
    expect((await admin(handle, 'POST', '/admin/faults', { forget_cluster: cluster_id })).status).toBe(200);
    sendHeartbeat(ws, cluster_id, 'req-1');
    expect((await inbox.message('error', 'req-1')).payload).toMatchObject({ code: 'cluster_not_found' });
    expect((await register(handle, { cluster_id })).cluster_id).toBe(cluster_id);
    sendHeartbeat(ws, cluster_id, 'req-2');
    await inbox.message('heartbeat_ack', 'req-2');
    expect((await admin(handle, 'POST', '/admin/faults', { forget_cluster: 'nope' })).status).toBe(404);
  });

  it('forces register and HTTP heartbeat statuses until cleared', async () => {
    const handle = await start();
    const { cluster_id } = await register(handle);
    await admin(handle, 'POST', '/admin/faults', { register_status: 503, heartbeat_http_status: 500 });
    const forced = await call(handle, 'POST', '/api/v1/clusters/agent/register', { body: registerBody() });
    expect(forced.status).toBe(503);
    const route = `/api/v1/clusters/agent/${cluster_id}/heartbeat`;
    expect((await call(handle, 'POST', route, { body: heartbeatPayload(cluster_id) })).status).toBe(500);
    await admin(handle, 'POST', '/admin/faults', { register_status: null, heartbeat_http_status: null });
    await register(handle);
    expect((await call(handle, 'POST', route, { body: heartbeatPayload(cluster_id) })).status).toBe(204);
    expect((await clusters(handle))[0]?.registrations).toBe(2);
  });

  it('rejects unknown fault fields and is absent without enableTestFaults', async () => {
    const handle = await start();
    const bad = await admin(handle, 'POST', '/admin/faults', { refuse_websocket: 'yes' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('refuse_websocket');
    expect((await admin(handle, 'POST', '/admin/faults', { surprise: true })).status).toBe(400);
    const plain = await start({ enableTestFaults: false });
    expect((await admin(plain, 'POST', '/admin/faults', { stall_acks: true })).status).toBe(404);
    expect((await admin(plain, 'POST', '/admin/reset-counters')).status).toBe(404);
    expect((await admin(plain, 'GET', '/admin/health')).status).toBe(200);
  });
});

describe('admin API', () => {
  it('requires the admin token and is absent without one', async () => {
    const handle = await start();
    expect((await call(handle, 'GET', '/admin/health', { token: agentToken })).status).toBe(401);
    expect((await call(handle, 'GET', '/admin/clusters', { token: null })).status).toBe(401);
    const ok = await admin(handle, 'GET', '/admin/health');
    expect(await ok.json()).toEqual({ status: 'ok' });
    expect((await admin(handle, 'POST', '/admin/reset-counters')).status).toBe(200);
    const counters = (await (await admin(handle, 'GET', '/admin/requests')).json()) as {
      counts: Record<string, number>;
    };
    expect(counters.counts).toEqual({ 'POST /admin/reset-counters': 1 });

    const disabled = await start({ adminToken: undefined });
    expect((await call(disabled, 'GET', '/admin/health', { token: adminToken })).status).toBe(404);
    expect((await call(disabled, 'GET', '/nowhere')).status).toBe(404);
    expect((await call(disabled, 'GET', '/api/v1/clusters/agent/register')).status).toBe(405);
  });
});
