import { z } from 'zod';

/**
 * The control-plane protocol as the agent speaks it, one zod schema per message. Every reply and every
 * WebSocket message is parsed with these; anything that does not parse is logged with its reason and
 * dropped. The reference control plane (sandbox/control-plane) uses the same schemas for its side.
 */

/** Largest control-plane message or HTTP reply body the agent accepts. */
export const maxMessageBytes = 256 * 1024;

const nonEmpty = z.string().min(1).max(256);

export const tunnelPortConfigSchema = z.record(z.string().max(64), z.number().int().min(1).max(65535));

export const registerRequestSchema = z.object({
  agent_id: nonEmpty,
  name: nonEmpty,
  k8s_version: z.string().max(64),
  hostname: z.string().max(256),
  agent_version: z.string().max(64),
  k8s_service_token: z.string().max(16_384),
  tunnel_port_config: tunnelPortConfigSchema,
  labels: z.record(z.string().max(317), z.string().max(256)),
  cluster_id: nonEmpty.optional(),
  metadata: z.record(z.string().max(128), z.string().max(1024)),
});
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

export const registerResponseSchema = z.object({
  cluster_id: nonEmpty,
  cluster_uuid: nonEmpty,
  name: z.string().max(256),
  status: z.string().max(64),
  workspace_id: z.union([z.string().max(128), z.number().int()]).optional(),
});
export type RegisterResponse = z.infer<typeof registerResponseSchema>;

export const envelopeSchema = z.object({
  type: z.string().min(1).max(64),
  request_id: z.string().max(128).optional(),
  payload: z.record(z.string(), z.unknown()).default({}),
  timestamp: z.string().max(64),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export const heartbeatPayloadSchema = z.object({
  cluster_id: nonEmpty,
  agent_id: nonEmpty,
  status: z.enum(['healthy', 'degraded']),
  tunnel_status: z.enum(['connected', 'disconnected', 'disabled']),
  metadata: z
    .object({
      k8s_nodes: z.number().int().min(0),
      k8s_pods: z.number().int().min(0),
      agent_version: z.string().max(64),
      k8s_version: z.string().max(64),
    })
    .catchall(z.union([z.string().max(1024), z.number(), z.boolean()])),
});
export type HeartbeatPayload = z.infer<typeof heartbeatPayloadSchema>;

/** Messages the control plane sends over the WebSocket. */
export const controlPlaneMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('heartbeat_ack'),
    request_id: nonEmpty,
    payload: z
      .object({ received_at: z.string().max(64).optional() })
      .loose()
      .default({}),
    timestamp: z.string().max(64),
  }),
  z.object({
    type: z.literal('ping'),
    request_id: z.string().max(128).optional(),
    payload: z.record(z.string(), z.unknown()).default({}),
    timestamp: z.string().max(64),
  }),
  z.object({
    type: z.literal('error'),
    request_id: z.string().max(128).optional(),
    payload: z.object({
      code: z.string().max(64),
      message: z.string().max(1024),
      retryable: z.boolean().optional(),
    }),
    timestamp: z.string().max(64),
  }),
]);
export type ControlPlaneMessage = z.infer<typeof controlPlaneMessageSchema>;
const knownControlPlaneTypes: ReadonlySet<string> = new Set<string>(
  controlPlaneMessageSchema.options.map((option) => option.shape.type.value),
);

/** What `GET /api/v1/tunnel/status?agent_id=…` says: whether the control plane wants the tunnel open. */
export const tunnelStatusValues = ['IDLE', 'REQUIRED', 'ACTIVE'] as const;
export type TunnelStatus = (typeof tunnelStatusValues)[number];

export const tunnelStatusResponseSchema = z.object({
  status: z.enum(tunnelStatusValues),
  /** Reverse remotes the tunnel server listens on, one per key of the registration's tunnel_port_config. */
  forwards: z
    .array(z.object({ name: z.string().min(1).max(64), remote_port: z.number().int().min(1).max(65535) }))
    .max(64),
  /** base64 of "user:pass" for the chisel tunnel server (split at the first colon). */
  credentials: z
    .string()
    .max(1024)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'),
  /** Seconds between polls. */
  poll_frequency: z.number().int().min(1).max(3600),
  /** Empty when the control plane has no tunnel server configured. */
  tunnel_server_addr: z.string().max(512),
  /** Empty when no fingerprint is pinned. */
  server_fingerprint: z.string().max(256),
});
export type TunnelStatusResponse = z.infer<typeof tunnelStatusResponseSchema>;

/** Error codes with a defined meaning for the agent; others are logged. */
export const clusterUnknownCode = 'cluster_not_found';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Names the first few issues of a zod error as "path: message" for one log line. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Parses one raw WebSocket frame from the control plane; never throws. */
export function parseControlPlaneMessage(raw: string | Buffer): ParseResult<ControlPlaneMessage> {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > maxMessageBytes) return { ok: false, reason: `message of ${size} bytes exceeds ${maxMessageBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message})` };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return { ok: false, reason: `bad envelope: ${describeIssues(envelope.error)}` };
  if (!knownControlPlaneTypes.has(envelope.data.type)) {
    return { ok: false, reason: `unknown message type "${envelope.data.type.slice(0, 64)}"` };
  }
  const message = controlPlaneMessageSchema.safeParse(json);
  if (!message.success) {
    return { ok: false, reason: `bad "${envelope.data.type}" message: ${describeIssues(message.error)}` };
  }
  return { ok: true, value: message.data };
}

export function envelope(type: string, payload: Record<string, unknown>, requestId?: string): Envelope {
  return { type, request_id: requestId, payload, timestamp: new Date().toISOString() };
}
