import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../cluster/processes';
import { startTunnelServer, type TunnelServer, type TunnelServerOptions } from './server';
import { configPayload, connectRaw, reverseRemote, type RawPeer } from './test-helpers';

const servers: TunnelServer[] = [];
const peers: RawPeer[] = [];

async function server(options: TunnelServerOptions = {}): Promise<TunnelServer> {
  const started = await startTunnelServer({ keepaliveMs: 0, ...options });
  servers.push(started);
  return started;
}

async function peer(url: string, user = '', pass = ''): Promise<RawPeer> {
  const connected = await connectRaw(url, user, pass);
  peers.push(connected);
  return connected;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

afterEach(async () => {
  for (const p of peers.splice(0)) p.client.destroy();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('reference tunnel server: HTTP and WebSocket layer', () => {
  it('serves /health, /version and 404 like chisel', async () => {
    const s = await server();
    expect(await get(`${s.url}/health`)).toEqual({ status: 200, body: 'OK\n' });
    expect(await get(`${s.url}/version`)).toEqual({ status: 200, body: '1.11.3' });
    expect(await get(`${s.url}/nope`)).toEqual({ status: 404, body: 'Not found' });
  });

  it('upgrades only for exactly chisel-v3 and never echoes the subprotocol', async () => {
    const s = await server();
    const wrong = new WebSocket(s.url.replace('http', 'ws'), { headers: { 'Sec-WebSocket-Protocol': 'chisel-v3, x' } });
    const [err] = (await once(wrong, 'error')) as [Error];
    expect(err.message).toBe('Unexpected server response: 404');
    const right = new WebSocket(`${s.url.replace('http', 'ws')}/any/path`, {
      headers: { 'Sec-WebSocket-Protocol': 'chisel-v3' },
    });
    const [res] = (await once(right, 'upgrade')) as [http.IncomingMessage];
    expect(res.headers['sec-websocket-protocol']).toBeUndefined();
    right.terminate();
  });
});

describe('reference tunnel server: chisel handshake semantics', () => {
  it('requires config as the first request, with chisel texts', async () => {
    const s = await server();
    const first = await peer(s.url);
    expect(await first.request('ping')).toMatchObject({ failure: 'server: expecting config request' });
    await first.closed;
    const bad = await peer(s.url);
    const reply = await bad.request('config', Buffer.from('{"Remotes":[{"LocalPort":8000}]}'));
    expect(reply.failure).toBe('server: invalid config');
  });

  it('closes a session that sends no config in time', async () => {
    const s = await server({ configTimeoutMs: 100 });
    const idle = await peer(s.url);
    await idle.closed;
    expect(s.sessions()).toEqual([]);
  });

  it("rejects reverse remotes without --reverse, with chisel's typo", async () => {
    const s = await server({ reverse: false });
    const p = await peer(s.url);
    const reply = await p.request('config', configPayload([reverseRemote(await freePort(), 1)]));
    expect(reply.failure).toBe('server: Reverse port forwaring not enabled on server');
  });

  it('reports a busy port with Remote.String() and binds nothing', async () => {
    const s = await server();
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    const free = await freePort();
    try {
      const p = await peer(s.url);
      const reply = await p.request('config', configPayload([reverseRemote(free, 6443), reverseRemote(port, 6443)]));
      expect(reply.failure).toBe(`server: Server cannot listen on R:127.0.0.1:${port}=>6443`);
      expect(await canBind(free)).toBe(true);
    } finally {
      busy.close();
    }
  });

  it('checks the ACL against the client-sent LocalHost while binding loopback', async () => {
    const port = await freePort();
    const s = await server({ users: { 'u:p': [`^R:127\\.0\\.0\\.1:${port}$`] } });
    const denied = await peer(s.url, 'u', 'p');
    const reply = await denied.request('config', configPayload([reverseRemote(port, 1, '0.0.0.0')]));
    expect(reply.failure).toBe(`server: access to 'R:0.0.0.0:${port}' denied`);
    const opened = vi.fn();
    s.on('session-open', opened);
    const allowed = await peer(s.url, 'u', 'p');
    expect(await allowed.request('config', configPayload([reverseRemote(port, 1)]))).toEqual({
      failure: undefined,
      data: undefined,
    });
    expect(s.sessions()).toMatchObject([{ user: 'u', remotes: [{ remote: `R:127.0.0.1:${port}=>1`, port }] }]);
    expect(opened).toHaveBeenCalledTimes(1);
    expect(opened.mock.calls[0]?.[0]).toEqual(s.sessions()[0]);
  });

  it('accepts only configured passwords, and any credentials when there are no users', async () => {
    const open = await server();
    await expect(peer(open.url, 'anyone', 'anything')).resolves.toBeDefined();
    const s = await server({ users: { 'u:p': [''] } });
    await expect(peer(s.url, 'u', 'wrong')).rejects.toThrow('All configured authentication methods failed');
    await expect(peer(s.url, 'nobody', 'p')).rejects.toThrow('All configured authentication methods failed');
    s.addUser('cluster-1:secret', ['']);
    await expect(peer(s.url, 'cluster-1', 'secret')).resolves.toBeDefined();
    expect(s.removeUser('cluster-1')).toBe(true);
    await expect(peer(s.url, 'cluster-1', 'secret')).rejects.toThrow('All configured authentication methods failed');
    s.setUsers({ 'v:q': [''] });
    expect(s.users()).toEqual({ 'v:q': [''] });
  });

  it('answers ping with pong and every want-reply request in order', async () => {
    const s = await server();
    const p = await peer(s.url);
    expect((await p.request('config', configPayload([]))).failure).toBeUndefined();
    const replies = await Promise.all([p.request('ping'), p.request('other'), p.request('ping')]);
    expect(replies.map((r) => r.failure ?? r.data?.toString())).toEqual(['pong', 'request failed', 'pong']);
  });
});

describe('reference tunnel server: keepalive and shutdown', () => {
  it('pings a live peer and drops one that stops answering, freeing its port', async () => {
    const s = await server({ keepaliveMs: 100 });
    const closes: string[] = [];
    s.on('session-close', (_info, reason) => closes.push(reason));
    const port = await freePort();
    const p = await peer(s.url);
    expect((await p.request('config', configPayload([reverseRemote(port, 1)]))).failure).toBeUndefined();
    await vi.waitFor(() => expect(p.pings()).toBeGreaterThanOrEqual(3), { timeout: 30_000 });
    expect(s.sessions()).toHaveLength(1);
    p.goSilent();
    await p.closed;
    await vi.waitFor(() => expect(closes).toEqual(['keepalive timeout']), { timeout: 30_000 });
    expect(s.sessions()).toEqual([]);
    expect(await canBind(port)).toBe(true);
  });

  it('stop() closes sessions and listeners and releases every port', async () => {
    const s = await server();
    const port = await freePort();
    const listening = vi.fn();
    s.on('listening', listening);
    const p = await peer(s.url);
    await p.request('config', configPayload([reverseRemote(port, 1)]));
    await vi.waitFor(() =>
      expect(listening).toHaveBeenCalledWith({ sessionId: 1, remote: `R:127.0.0.1:${port}=>1`, port }),
    );
    await s.stop();
    await p.closed;
    expect(await canBind(port)).toBe(true);
    expect(await canBind(s.port)).toBe(true);
  });
});
