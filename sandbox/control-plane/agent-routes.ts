import {
  heartbeatPayloadSchema,
  registerRequestSchema,
  registerResponseSchema,
  tunnelStatusResponseSchema,
  type RegisterRequest,
  type RegisterResponse,
} from '../../agent/controlplane/protocol';
import type { Context, Exchange, Route } from './context';
import { faultCode } from './faults';
import { readJsonBody, sendError, sendJson, sendNoContent } from './http';
import { maxForwards, PortsExhaustedError } from './registry';
import type { ClusterRecord } from './state';
import { chiselAuthFile, writeChiselAuthFile } from './tunnel-users';

/** Keeps the tunnel server's users (chisel authfile) in step with the registered clusters. */
export async function syncTunnelUsers(ctx: Context): Promise<void> {
  const file = ctx.options.tunnelAuthFile;
  if (file) await writeChiselAuthFile(file, ctx.registry.list());
  ctx.tunnelServer?.setUsers(chiselAuthFile(ctx.registry.list()));
}

export const websocketPath = '/api/v1/clusters/agent/ws';

function registerReply(cluster: ClusterRecord): RegisterResponse {
  return registerResponseSchema.parse({
    cluster_id: cluster.cluster_id,
    cluster_uuid: cluster.cluster_uuid,
    name: cluster.name,
    status: 'registered',
  });
}

async function registerCluster(
  ctx: Context,
  exchange: Exchange,
  body: RegisterRequest,
): Promise<ClusterRecord | undefined> {
  try {
    return await ctx.registry.register(body);
  } catch (error) {
    if (!(error instanceof PortsExhaustedError)) throw error;
    sendError(exchange.res, 503, 'tunnel_ports_exhausted', error.message);
    return undefined;
  }
}

async function register(ctx: Context, exchange: Exchange): Promise<void> {
  const { req, res } = exchange;
  const forced = ctx.faults.register_status;
  if (forced !== null) {
    req.resume();
    sendError(res, forced, faultCode(forced), `injected fault: register answers ${forced}`);
    return;
  }
  const body = await readJsonBody(req, res, registerRequestSchema);
  if (!body) return;
  const forwards = Object.keys(body.tunnel_port_config).length;
  if (forwards > maxForwards) {
    sendError(res, 400, 'invalid_request', `tunnel_port_config: ${forwards} forwards, at most ${maxForwards} allowed`);
    return;
  }
  const cluster = await registerCluster(ctx, exchange, body);
  if (!cluster) return;
  await ctx.store.save();
  await syncTunnelUsers(ctx);
  ctx.options.log({
    level: 'info',
    msg: cluster.registrations === 1 ? 'cluster registered' : 'cluster re-registered',
    cluster_id: cluster.cluster_id,
    agent_id: cluster.agent_id,
    registrations: cluster.registrations,
  });
  sendJson(res, 200, registerReply(cluster));
}

async function httpHeartbeat(ctx: Context, exchange: Exchange): Promise<void> {
  const { req, res } = exchange;
  const forced = ctx.faults.heartbeat_http_status;
  if (forced !== null) {
    req.resume();
    sendError(res, forced, faultCode(forced), `injected fault: heartbeat answers ${forced}`);
    return;
  }
  const payload = await readJsonBody(req, res, heartbeatPayloadSchema);
  if (!payload) return;
  const clusterUuid = exchange.params[0] ?? '';
  const cluster = ctx.registry.get(clusterUuid);
  if (!cluster) {
    sendError(res, 404, 'cluster_not_found', `cluster ${clusterUuid} is not registered`);
    return;
  }
  if (payload.cluster_id !== cluster.cluster_id && payload.cluster_id !== cluster.cluster_uuid) {
    sendError(res, 400, 'invalid_request', 'cluster_id: does not match the cluster in the URL');
    return;
  }
  const outcome = ctx.registry.recordHeartbeat(payload, 'http');
  if (outcome.kind === 'ok') sendNoContent(res);
  else if (outcome.kind === 'agent_mismatch')
    sendError(res, 409, 'agent_mismatch', 'agent_id: cluster is registered to another agent');
  else sendError(res, 404, 'cluster_not_found', `cluster ${clusterUuid} is not registered`);
}

async function tunnelStatus(ctx: Context, exchange: Exchange): Promise<void> {
  const agentId = exchange.url.searchParams.get('agent_id');
  if (!agentId) {
    sendError(exchange.res, 400, 'invalid_request', 'agent_id: query parameter is required');
    return;
  }
  const status = ctx.registry.tunnelStatus(agentId);
  if (!status) {
    sendError(exchange.res, 404, 'agent_not_found', `agent ${agentId.slice(0, 256)} is not registered`);
    return;
  }
  sendJson(exchange.res, 200, tunnelStatusResponseSchema.parse(status));
}

/** A plain GET of the WebSocket path (no Upgrade header). */
async function websocketWithoutUpgrade(_ctx: Context, exchange: Exchange): Promise<void> {
  sendError(exchange.res, 426, 'upgrade_required', `${websocketPath} is a WebSocket endpoint`);
}

export const agentRoutes: Route[] = [
  {
    method: 'POST',
    pattern: '/api/v1/clusters/agent/register',
    path: /^\/api\/v1\/clusters\/agent\/register$/,
    access: 'agent',
    handler: register,
  },
  {
    method: 'GET',
    pattern: websocketPath,
    path: /^\/api\/v1\/clusters\/agent\/ws$/,
    access: 'agent',
    handler: websocketWithoutUpgrade,
  },
  {
    method: 'POST',
    pattern: '/api/v1/clusters/agent/{cluster_uuid}/heartbeat',
    path: /^\/api\/v1\/clusters\/agent\/([^/]+)\/heartbeat$/,
    access: 'agent',
    handler: httpHeartbeat,
  },
  {
    method: 'GET',
    pattern: '/api/v1/tunnel/status',
    path: /^\/api\/v1\/tunnel\/status$/,
    access: 'agent',
    handler: tunnelStatus,
  },
];
