import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { adminRoutes } from './admin-routes';
import { agentRoutes, syncTunnelUsers, websocketPath } from './agent-routes';
import type { Context, Route } from './context';
import { RequestCounters } from './counters';
import { noFaults, takeOverride, type OverrideRoute } from './faults';
import { writeOverride, writeUpgradeOverride } from './hostile-reply';
import { errorBody, hasToken, rejectUpgrade, sendError } from './http';
import { baseUrl, resolveOptions, type ControlPlaneOptions, type ResolvedOptions } from './options';
import { ensureKeyFile } from '../tunnel-server/host-key';
import { startTunnelServer, type TunnelServer } from '../tunnel-server/server';
import { Registry } from './registry';
import { StateStore } from './state';
import { AgentSockets } from './websocket';

export type { ControlPlaneOptions, LogEntry, LogFn } from './options';

export interface ControlPlaneHandle {
  /** http://HOST:PORT, reachable from this machine. */
  url: string;
  port: number;
  /** Closes every socket and the server, and writes pending state. */
  stop(): Promise<void>;
}

const routes: Route[] = [...agentRoutes, ...adminRoutes];

/** Which agent route a `reply_override` fault names. */
const overrideRouteOf: Record<string, OverrideRoute> = {
  'POST /api/v1/clusters/agent/register': 'register',
  'POST /api/v1/clusters/agent/{cluster_uuid}/heartbeat': 'heartbeat_http',
  'GET /api/v1/tunnel/status': 'tunnel_status',
};

type Resolution =
  | { kind: 'found'; key: string; route: Route; params: string[] }
  | { kind: 'missing'; key: string; status: 404 | 405; allow?: string };

function routeEnabled(ctx: Context, route: Route): boolean {
  if (route.access === 'agent') return true;
  if (ctx.options.adminToken === undefined) return false;
  return route.access === 'admin' || ctx.options.enableTestFaults;
}

function resolveRoute(ctx: Context, method: string, pathname: string): Resolution {
  const matching = routes.filter((route) => route.path.test(pathname) && routeEnabled(ctx, route));
  const route = matching.find((candidate) => candidate.method === method);
  if (route) {
    const params = (route.path.exec(pathname) ?? []).slice(1).map((param) => decodeURIComponent(param));
    return { kind: 'found', key: `${method} ${route.pattern}`, route, params };
  }
  const first = matching[0];
  if (first) return { kind: 'missing', key: `${method} ${first.pattern}`, status: 405, allow: first.method };
  return { kind: 'missing', key: `${method} (no route)`, status: 404 };
}

function authorized(ctx: Context, route: Route, req: IncomingMessage): boolean {
  if (route.access === 'agent') return hasToken(req, ctx.options.tokens);
  return ctx.options.adminToken !== undefined && hasToken(req, [ctx.options.adminToken]);
}

function safeResolve(ctx: Context, method: string, pathname: string): Resolution {
  try {
    return resolveRoute(ctx, method, pathname);
  } catch {
    return { kind: 'missing', key: `${method} (no route)`, status: 404 };
  }
}

function countOnClose(ctx: Context, res: ServerResponse, key: string): void {
  res.once('close', () => {
    ctx.counters.count(key, res.statusCode);
    ctx.options.log({ level: 'debug', msg: 'request', route: key, status: res.statusCode });
  });
}

async function handleRequest(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://control-plane.invalid');
  const resolution = safeResolve(ctx, method, url.pathname);
  countOnClose(ctx, res, resolution.key);
  if (method === 'GET' || resolution.kind === 'missing') req.resume();
  if (resolution.kind === 'missing') {
    if (resolution.allow) res.setHeader('allow', resolution.allow);
    sendError(
      res,
      resolution.status,
      resolution.status === 404 ? 'not_found' : 'method_not_allowed',
      `no route for ${method} ${url.pathname}`,
    );
    return;
  }
  if (!authorized(ctx, resolution.route, req)) {
    req.resume();
    sendError(res, 401, 'unauthorized', 'missing or invalid bearer token');
    return;
  }
  const overrideRoute = overrideRouteOf[resolution.key];
  const override = overrideRoute && takeOverride(ctx.faults, overrideRoute);
  if (override) {
    await writeOverride(req, res, override);
    return;
  }
  await resolution.route.handler(ctx, { req, res, url, params: resolution.params });
}

function onRequest(ctx: Context, req: IncomingMessage, res: ServerResponse): void {
  handleRequest(ctx, req, res).catch((error: unknown) => {
    ctx.options.log({ level: 'error', msg: 'request handler failed', url: req.url, error: String(error) });
    sendError(res, 500, 'internal', 'internal error');
  });
}

function upgradeAnswer(
  ctx: Context,
  req: IncomingMessage,
  pathname: string,
): { status: number; code: string } | undefined {
  if (pathname !== websocketPath || req.method !== 'GET') return { status: 404, code: 'not_found' };
  if (!hasToken(req, ctx.options.tokens)) return { status: 401, code: 'unauthorized' };
  if (ctx.faults.refuse_websocket) return { status: 503, code: 'unavailable' };
  return undefined;
}

/** Bearer auth (and the refuse_websocket fault) are checked before the WebSocket handshake. */
function onUpgrade(ctx: Context, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', (error) => ctx.options.log({ level: 'debug', msg: 'upgrade socket error', error: error.message }));
  try {
    const pathname = new URL(req.url ?? '/', 'http://control-plane.invalid').pathname;
    const key = pathname === websocketPath ? `GET ${websocketPath}` : `${req.method ?? 'GET'} (no route)`;
    const refusal = upgradeAnswer(ctx, req, pathname);
    ctx.counters.count(key, refusal?.status ?? 101);
    ctx.options.log({ level: 'debug', msg: 'upgrade', route: key, status: refusal?.status ?? 101 });
    if (refusal) {
      rejectUpgrade(socket, refusal.status, errorBody(refusal.code, `websocket upgrade refused (${refusal.status})`));
      return;
    }
    const override = takeOverride(ctx.faults, 'websocket_upgrade');
    if (override) {
      void writeUpgradeOverride(socket, req, override);
      return;
    }
    ctx.sockets.upgrade(req, socket, head);
  } catch (error) {
    ctx.options.log({ level: 'error', msg: 'upgrade handler failed', error: String(error) });
    socket.destroy();
  }
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function closeServer(ctx: Context, server: Server): Promise<void> {
  ctx.sockets.close();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  await ctx.store.flush();
}

/** The in-process reference tunnel server: agents get its address and pinned fingerprint. */
async function startEmbeddedTunnelServer(resolved: ResolvedOptions): Promise<TunnelServer | undefined> {
  if (!resolved.tunnelServer) return undefined;
  await ensureKeyFile(resolved.tunnelServer.keyFile);
  const tunnelServer = await startTunnelServer({
    host: resolved.host,
    port: resolved.tunnelServer.port,
    keyFile: resolved.tunnelServer.keyFile,
    users: {},
    log: (line) => resolved.log({ level: 'debug', msg: `tunnel server: ${line}` }),
  });
  resolved.tunnelServerAddr = tunnelServer.url;
  resolved.tunnelServerFingerprint = tunnelServer.fingerprint;
  resolved.log({
    level: 'info',
    msg: 'tunnel server listening',
    url: tunnelServer.url,
    fingerprint: tunnelServer.fingerprint,
  });
  return tunnelServer;
}

/** Starts the reference control plane; rejects with a clear message on bad options or a corrupt state file. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlaneHandle> {
  const resolved = resolveOptions(options);
  const tunnelServer = await startEmbeddedTunnelServer(resolved);
  const store = await StateStore.open(resolved.stateFile, resolved.log);
  const registry = new Registry(store, resolved);
  const counters = new RequestCounters();
  const sockets = new AgentSockets({
    registry,
    counters,
    faults: () => ctx.faults,
    log: resolved.log,
    pingIntervalMs: resolved.pingIntervalMs,
  });
  const ctx: Context = { options: resolved, store, registry, counters, sockets, faults: noFaults(), tunnelServer };
  await syncTunnelUsers(ctx);
  const handler = (req: IncomingMessage, res: ServerResponse): void => onRequest(ctx, req, res);
  const server: Server = resolved.tls
    ? createTlsServer({ cert: readFileSync(resolved.tls.certFile), key: readFileSync(resolved.tls.keyFile) }, handler)
    : createServer(handler);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => onUpgrade(ctx, req, socket, head));
  const port = await listen(server, resolved.port, resolved.host);
  let stopping: Promise<void> | undefined;
  return {
    url: baseUrl(resolved.host, port, resolved.tls ? 'https' : 'http'),
    port,
    stop: async () => {
      stopping ??= closeServer(ctx, server).then(() => tunnelServer?.stop());
      return stopping;
    },
  };
}
