import { z } from 'zod';

/**
 * The control-plane protocol as the agent speaks it, one zod schema per message. Every reply and every
 * WebSocket message is parsed with these; anything that does not parse is logged with its reason and
 * dropped. The reference control plane (sandbox/control-plane) uses the same schemas for its side.
 */

/** Largest control-plane message or HTTP reply body the agent accepts. */
export const maxMessageBytes = 256 * 1024;

const nonEmpty = z.string().min(1).max(256);

/**
 * An id the control plane assigns and the agent later puts into a URL path (cluster_uuid in the HTTP
 * heartbeat) or a log line: letters, digits and `._~-` only, so it is one safe path segment as it is
 * (no encoding, no lone surrogates, no `..`).
 */
export const controlPlaneIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._~-]*$/, 'must be 1–128 letters, digits or ._~- (a safe URL path segment)');

/** A request id echoed back in acks: printable ASCII, so it can be logged and used as a map key as it is. */
const requestIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be 1–128 printable ASCII characters');

const errorCodeSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'must be 1–64 letters, digits or _.-');

const tunnelSchemes = ['http', 'https', 'ws', 'wss'];

/** Why a tunnel server address is not usable as one, or undefined when it is. */
export function tunnelServerAddrProblem(value: string): string | undefined {
  if (/[\s\p{Cc}]/u.test(value)) return 'must not contain whitespace or control characters';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined && !tunnelSchemes.includes(scheme)) {
    return `scheme "${scheme.slice(0, 16)}" is not one of ${tunnelSchemes.join(', ')}`;
  }
  const rest = scheme === undefined ? value : value.slice(scheme.length + 3);
  const problem = authorityProblem(rest.split(/[/?#]/)[0] ?? '');
  if (problem) return problem;
  return URL.canParse(scheme === undefined ? `http://${value}` : value) ? undefined : 'is not a valid URL';
}

/** host[:port] with a port chisel (and a socket) can use. */
function authorityProblem(authority: string): string | undefined {
  if (authority.includes('@')) return 'must not carry credentials (user@host)';
  const hostPort = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(authority);
  if (!hostPort) return 'must be host[:port] with a DNS name, an IPv4 or a bracketed IPv6 address';
  const port = hostPort[2] === undefined ? undefined : Number(hostPort[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return `port ${port} is outside 1–65535`;
  return undefined;
}

/** Empty (no tunnel server configured) or an address `tunnelServerAddrProblem` accepts. */
export const tunnelServerAddrSchema = z
  .string()
  .max(512)
  .superRefine((value, ctx) => {
    const problem = value === '' ? undefined : tunnelServerAddrProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

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
  cluster_id: controlPlaneIdSchema.optional(),
  metadata: z.record(z.string().max(128), z.string().max(1024)),
});
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

export const registerResponseSchema = z.object({
  cluster_id: controlPlaneIdSchema,
  cluster_uuid: controlPlaneIdSchema,
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
    request_id: requestIdSchema,
    payload: z
      .object({ received_at: z.string().max(64).optional() })
      .loose()
      .default({}),
    timestamp: z.string().max(64),
  }),
  z.object({
    type: z.literal('ping'),
    request_id: requestIdSchema.optional(),
    payload: z.record(z.string(), z.unknown()).default({}),
    timestamp: z.string().max(64),
  }),
  z.object({
    type: z.literal('error'),
    request_id: requestIdSchema.optional(),
    payload: z.object({
      code: errorCodeSchema,
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
  tunnel_server_addr: tunnelServerAddrSchema,
  /** Empty when no fingerprint is pinned; else chisel's base64 SHA-256 (or its older hex form). */
  server_fingerprint: z
    .string()
    .max(128)
    .regex(/^[A-Za-z0-9+/=:]*$/, 'must be a base64 or hex fingerprint'),
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
