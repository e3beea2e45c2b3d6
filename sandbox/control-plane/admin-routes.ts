import type { TunnelStatusResponse } from '../../agent/controlplane/protocol';
import type { Context, Exchange, Route } from './context';
import { syncTunnelUsers } from './agent-routes';
import { applyFaults, faultsRequestSchema, tunnelUpdateSchema, type FaultsRequest } from './faults';
import { readJsonBody, sendError, sendJson } from './http';
import type { ClusterRecord } from './state';

/** One cluster as GET /admin/clusters shows it (no credentials, no token). */
export interface ClusterView {
  cluster_id: string;
  cluster_uuid: string;
  agent_id: string;
  name: string;
  registrations: number;
  registered_at: string;
  last_registered_at: string;
  registration: ClusterRecord['registration'];
  last_heartbeat_at: string | null;
  last_heartbeat_via: 'websocket' | 'http' | null;
  heartbeats: number;
  last_heartbeat: ClusterRecord['last_heartbeat'];
  last_pong_at: string | null;
  ws_connected: boolean;
  ws_connections: number;
  tunnel: { status: ClusterRecord['tunnel']['status']; forwards: TunnelStatusResponse['forwards'] };
}

function clusterView(ctx: Context, cluster: ClusterRecord): ClusterView {
  const connections = ctx.sockets.connections(cluster.cluster_id);
  return {
    cluster_id: cluster.cluster_id,
    cluster_uuid: cluster.cluster_uuid,
    agent_id: cluster.agent_id,
    name: cluster.name,
    registrations: cluster.registrations,
    registered_at: cluster.registered_at,
    last_registered_at: cluster.last_registered_at,
    registration: cluster.registration,
    last_heartbeat_at: cluster.last_heartbeat_at,
    last_heartbeat_via: cluster.last_heartbeat_via,
    heartbeats: cluster.heartbeats,
    last_heartbeat: cluster.last_heartbeat,
    last_pong_at: cluster.last_pong_at,
    ws_connected: connections > 0,
    ws_connections: connections,
    tunnel: { status: cluster.tunnel.status, forwards: ctx.registry.forwards(cluster) },
  };
}

async function listClusters(ctx: Context, exchange: Exchange): Promise<void> {
  sendJson(
    exchange.res,
    200,
    ctx.registry.list().map((cluster) => clusterView(ctx, cluster)),
  );
}

async function requestCounts(ctx: Context, exchange: Exchange): Promise<void> {
  sendJson(exchange.res, 200, ctx.counters.toJSON());
}

async function health(_ctx: Context, exchange: Exchange): Promise<void> {
  sendJson(exchange.res, 200, { status: 'ok' });
}

interface OneShotResult {
  dropped_sockets: number;
  malformed_sent: number;
  forgotten_cluster: string | null;
  flooded_sockets: number;
  unknown_acks_sent_to: number;
}

function runOneShots(ctx: Context, request: FaultsRequest): OneShotResult {
  const dropped = request.drop_sockets ? ctx.sockets.dropAll() : 0;
  const malformed = request.send_malformed ? ctx.sockets.sendMalformed(request.send_malformed) : 0;
  const forgotten = request.forget_cluster && ctx.registry.forget(request.forget_cluster);
  if (request.stop_reading !== undefined) ctx.sockets.setReading(!request.stop_reading);
  return {
    flooded_sockets: request.ping_flood ? ctx.sockets.floodPings(request.ping_flood) : 0,
    unknown_acks_sent_to: request.unknown_acks ? ctx.sockets.sendUnknownAcks(request.unknown_acks) : 0,
    dropped_sockets: dropped,
    malformed_sent: malformed,
    forgotten_cluster: forgotten ? (request.forget_cluster ?? null) : null,
  };
}

async function setFaults(ctx: Context, exchange: Exchange): Promise<void> {
  const request = await readJsonBody(exchange.req, exchange.res, faultsRequestSchema);
  if (!request) return;
  if (request.forget_cluster && !ctx.registry.get(request.forget_cluster)) {
    sendError(exchange.res, 404, 'cluster_not_found', `forget_cluster: cluster ${request.forget_cluster} is unknown`);
    return;
  }
  ctx.faults = applyFaults(ctx.faults, request);
  const result = runOneShots(ctx, request);
  if (result.forgotten_cluster) {
    await ctx.store.save();
    await syncTunnelUsers(ctx);
  }
  ctx.options.log({ level: 'info', msg: 'test faults changed', faults: ctx.faults, ...result });
  sendJson(exchange.res, 200, { faults: ctx.faults, ...result });
}

async function setTunnel(ctx: Context, exchange: Exchange): Promise<void> {
  const request = await readJsonBody(exchange.req, exchange.res, tunnelUpdateSchema);
  if (!request) return;
  if (!ctx.registry.setTunnelStatus(request.agent_id, request.status)) {
    sendError(exchange.res, 404, 'agent_not_found', `agent_id: agent ${request.agent_id} is not registered`);
    return;
  }
  await ctx.store.save();
  sendJson(exchange.res, 200, { agent_id: request.agent_id, status: request.status });
}

async function resetCounters(ctx: Context, exchange: Exchange): Promise<void> {
  ctx.counters.reset();
  sendJson(exchange.res, 200, { status: 'ok' });
}

function adminRoute(method: Route['method'], name: string, access: Route['access'], handler: Route['handler']): Route {
  return { method, pattern: `/admin/${name}`, path: new RegExp(`^/admin/${name}$`), access, handler };
}

export const adminRoutes: Route[] = [
  adminRoute('GET', 'clusters', 'admin', listClusters),
  adminRoute('GET', 'requests', 'admin', requestCounts),
  adminRoute('GET', 'health', 'admin', health),
  adminRoute('POST', 'faults', 'faults', setFaults),
  adminRoute('POST', 'tunnel', 'admin', setTunnel),
  adminRoute('POST', 'reset-counters', 'faults', resetCounters),
];
