import { z } from 'zod';
import { tunnelStatusValues } from '../../agent/controlplane/protocol';

export const malformedKinds = ['not_json', 'bad_envelope', 'unknown_type', 'oversized'] as const;
export type MalformedKind = (typeof malformedKinds)[number];

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
  })
  .strict();
export type FaultsRequest = z.infer<typeof faultsRequestSchema>;

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
}

export function noFaults(): FaultState {
  return { register_status: null, heartbeat_http_status: null, refuse_websocket: false, stall_acks: false };
}

/** Applies the standing switches of a request; returns the new state. */
export function applyFaults(current: FaultState, request: FaultsRequest): FaultState {
  return {
    register_status: request.register_status === undefined ? current.register_status : request.register_status,
    heartbeat_http_status:
      request.heartbeat_http_status === undefined ? current.heartbeat_http_status : request.heartbeat_http_status,
    refuse_websocket: request.refuse_websocket ?? current.refuse_websocket,
    stall_acks: request.stall_acks ?? current.stall_acks,
  };
}

const faultCodes: Record<number, string> = { 401: 'unauthorized', 500: 'internal', 503: 'unavailable' };

/** The error code an injected status is answered with. */
export function faultCode(status: number): string {
  return faultCodes[status] ?? 'fault_injected';
}
