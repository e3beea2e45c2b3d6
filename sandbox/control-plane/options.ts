import { z } from 'zod';
import { describeIssues, tunnelStatusValues, type TunnelStatus } from '../../agent/controlplane/protocol';
import type { TunnelPortSource } from './tunnel-ports';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

/** Receives the control plane's log lines; tokens and credentials never appear in them. */
export type LogFn = (entry: LogEntry) => void;

const portNumber = z.number().int().min(1).max(65535);

export const defaultTunnelPortRange: [number, number] = [40000, 40999];
export const defaultPingIntervalMs = 15_000;

const optionsSchema = z.object({
  host: z.string().min(1).max(255).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  tokens: z.array(z.string().min(1).max(4096)).min(1, 'at least one agent token is required'),
  adminToken: z.string().min(1).max(4096).optional(),
  stateFile: z.string().min(1),
  enableTestFaults: z.boolean().default(false),
  pingIntervalMs: z.number().int().min(10).max(3_600_000).default(defaultPingIntervalMs),
  tunnelServerAddr: z.string().max(512).default(''),
  tunnelServerFingerprint: z.string().max(256).default(''),
  tunnelAuthFile: z.string().min(1).optional(),
  tunnelDefaultStatus: z.enum(tunnelStatusValues).default('IDLE'),
  tunnelPollFrequencySeconds: z.number().int().min(1).max(3600).default(5),
  tunnelServer: z
    .object({ port: z.number().int().min(0).max(65535).default(0), keyFile: z.string().min(1) })
    .optional(),
  tls: z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
  tunnelPortRange: z
    .union([
      z.literal('os'),
      z
        .tuple([portNumber, portNumber])
        .refine(([low, high]) => low <= high, 'the first port must not be above the second'),
    ])
    .default(defaultTunnelPortRange),
});

export interface ControlPlaneOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** 0 picks a free port (default). */
  port?: number;
  /** Accepted agent Bearer tokens. */
  tokens: string[];
  /** Bearer token for /admin/*; without it the admin API answers 404. */
  adminToken?: string;
  /** JSON file the clusters, tunnel allocations and credentials persist in. */
  stateFile: string;
  /** Enables POST /admin/faults, /admin/tunnel and /admin/reset-counters. */
  enableTestFaults?: boolean;
  /** How often the server sends `ping` over each WebSocket (default 15000). */
  pingIntervalMs?: number;
  tunnelServerAddr?: string;
  tunnelServerFingerprint?: string;
  /** Keeps this chisel authfile (`--authfile`) in step with the clusters' tunnel users and ports. */
  tunnelAuthFile?: string;
  /** The tunnel status a newly registered cluster starts with (default IDLE: no tunnel until asked). */
  tunnelDefaultStatus?: TunnelStatus;
  /**
   * Runs the reference tunnel server (sandbox/tunnel-server) in this process on the same host, with a
   * stable host key in keyFile; its address and fingerprint then replace tunnelServerAddr/Fingerprint and
   * each cluster's tunnel user may bind only its own ports.
   */
  tunnelServer?: { port?: number; keyFile: string };
  /** The poll_frequency handed to agents (default 5 s). */
  tunnelPollFrequencySeconds?: number;
  /** Serve HTTPS and WSS with this certificate (PEM files) instead of plain HTTP. */
  tls?: { certFile: string; keyFile: string };
  /**
   * Inclusive range remote tunnel ports are allocated from (default 40000-40999), skipping ports another
   * program listens on; or `'os'`: a free port the OS picks (port 0), what tests on a busy machine use.
   */
  tunnelPortRange?: TunnelPortSource;
  log?: LogFn;
}

export type ResolvedOptions = z.infer<typeof optionsSchema> & { log: LogFn };

function noLog(): void {}

/** Validates the options; throws one line naming the bad option. */
export function resolveOptions(options: ControlPlaneOptions): ResolvedOptions {
  const { log, ...rest } = options;
  const parsed = optionsSchema.safeParse(rest);
  if (!parsed.success) throw new Error(`invalid control-plane options: ${describeIssues(parsed.error)}`);
  return { ...parsed.data, log: log ?? noLog };
}

/** The loopback-reachable URL for a listening address. */
export function baseUrl(host: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  if (host === '0.0.0.0') return `${scheme}://127.0.0.1:${port}`;
  if (host === '::') return `${scheme}://[::1]:${port}`;
  return host.includes(':') ? `${scheme}://[${host}]:${port}` : `${scheme}://${host}:${port}`;
}
