import { z } from 'zod';
import { tunnelStatusValues } from '../../agent/controlplane/protocol';

export const malformedKinds = ['not_json', 'bad_envelope', 'unknown_type', 'oversized'] as const;
export type MalformedKind = (typeof malformedKinds)[number];

/** Routes whose reply a `reply_override` replaces. */
export const overrideRoutes = ['register', 'heartbeat_http', 'tunnel_status', 'websocket_upgrade'] as const;
export type OverrideRoute = (typeof overrideRoutes)[number];

/**
 * A hostile reply: any status, raw body text (so it can carry what JSON.stringify never writes, like a lone
 * surrogate escape) and headers (e.g. a Content-Encoding the body does not have), optionally trickled one
 * chunk at a time. `{{authorization}}` in the body echoes the request's Authorization header back.
 */
export const replyOverrideSchema = z
  .object({
    route: z.enum(overrideRoutes),
    status: z.number().int().min(100).max(599),
    body: z.string().max(1_048_576).default(''),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(1024)).default({}),
    /** Trickle: wait this long before each chunk (headers first, then the body). */
    trickle_ms: z.number().int().min(1).max(60_000).optional(),
    trickle_chunk_bytes: z.number().int().min(1).max(65_536).default(1),
    /** How many replies to replace; absent: until cleared with `reply_override: null`. */
    times: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict();
export type ReplyOverride = z.infer<typeof replyOverrideSchema>;

/** Body of POST /admin/faults; every field is optional and only the given ones change. */
export const faultsRequestSchema = z
  .object({
    register_status: z.union([z.literal(500), z.literal(503), z.literal(401), z.null()]).optional(),
    heartbeat_http_status: z.union([z.literal(500), z.literal(401), z.null()]).optional(),
    refuse_websocket: z.boolean().optional(),
    stall_acks: z.boolean().optional(),
    drop_sockets: z.literal(true).optional(),
    send_malformed: z.enum(malformedKinds).optional(),
    forget_cluster: z.string().min(1).max(256).optional(),
    reply_override: replyOverrideSchema.nullable().optional(),
    /** Every heartbeat over the WebSocket is answered `cluster_not_found`, though registration succeeds. */
    ws_cluster_not_found: z.boolean().optional(),
    /** The server stops reading every open (and new) agent socket: what the agent sends piles up. */
    stop_reading: z.boolean().optional(),
    /** One-shot: this many pings to every open socket, as fast as the socket takes them. */
    ping_flood: z.number().int().min(1).max(1_000_000).optional(),
    /** One-shot: this many heartbeat_ack frames with request ids the agent never sent. */
    unknown_acks: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();
export type FaultsRequest = z.infer<typeof faultsRequestSchema>;
/** What a test posts (defaults not yet applied). */
export type FaultsInput = z.input<typeof faultsRequestSchema>;

/** Body of POST /admin/tunnel. */
export const tunnelUpdateSchema = z
  .object({ agent_id: z.string().min(1).max(256), status: z.enum(tunnelStatusValues) })
  .strict();

/** The standing fault switches (one-shot faults act at once and are not kept). */
export interface FaultState {
  register_status: 500 | 503 | 401 | null;
  heartbeat_http_status: 500 | 401 | null;
  refuse_websocket: boolean;
  stall_acks: boolean;
  /** `remaining` counts down when `times` was given. */
  reply_override: (ReplyOverride & { remaining?: number }) | null;
  ws_cluster_not_found: boolean;
  stop_reading: boolean;
}

export function noFaults(): FaultState {
  return {
    register_status: null,
    heartbeat_http_status: null,
    refuse_websocket: false,
    stall_acks: false,
    reply_override: null,
    ws_cluster_not_found: false,
    stop_reading: false,
  };
}

/** The override for this route, if one stands; counts one use. */
export function takeOverride(state: FaultState, route: OverrideRoute): ReplyOverride | undefined {
  const override = state.reply_override;
  if (!override || override.route !== route) return undefined;
  if (override.remaining !== undefined) {
    override.remaining -= 1;
    if (override.remaining <= 0) state.reply_override = null;
  }
  return override;
}

/** Applies the standing switches of a request; returns the new state. */
export function applyFaults(current: FaultState, request: FaultsRequest): FaultState {
  return {
    register_status: request.register_status === undefined ? current.register_status : request.register_status,
    heartbeat_http_status:
      request.heartbeat_http_status === undefined ? current.heartbeat_http_status : request.heartbeat_http_status,
    refuse_websocket: request.refuse_websocket ?? current.refuse_websocket,
    stall_acks: request.stall_acks ?? current.stall_acks,
    reply_override:
      request.reply_override === undefined
        ? current.reply_override
        : request.reply_override && { ...request.reply_override, remaining: request.reply_override.times },
    ws_cluster_not_found: request.ws_cluster_not_found ?? current.ws_cluster_not_found,
    stop_reading: request.stop_reading ?? current.stop_reading,
  };
}

const faultCodes: Record<number, string> = { 401: 'unauthorized', 500: 'internal', 503: 'unavailable' };

/** The error code an injected status is answered with. */
export function faultCode(status: number): string {
  return faultCodes[status] ?? 'fault_injected';
}
