import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  describeIssues,
  heartbeatPayloadSchema,
  registerRequestSchema,
  tunnelPortConfigSchema,
  tunnelStatusValues,
} from '../../agent/controlplane/protocol';
import type { LogFn } from './options';

const id = z.string().min(1).max(256);
const timestamp = z.string().min(1).max(64);

/** What the control plane keeps of a registration: the request minus the token value. */
const registrationSchema = registerRequestSchema
  .pick({ k8s_version: true, hostname: true, agent_version: true, labels: true, metadata: true })
  .extend({
    tunnel_port_config: tunnelPortConfigSchema,
    k8s_service_token_present: z.boolean(),
    k8s_service_token_length: z.number().int().min(0),
  });

const tunnelRecordSchema = z.object({
  status: z.enum(tunnelStatusValues),
  /** Remote port per forward name; kept when a forward disappears so re-adding it gets the same port. */
  ports: z.record(z.string().max(64), z.number().int().min(1).max(65535)),
  user: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  password: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
});

export const clusterRecordSchema = z.object({
  cluster_id: id,
  cluster_uuid: id,
  agent_id: id,
  name: z.string().max(256),
  registrations: z.number().int().min(1),
  registered_at: timestamp,
  last_registered_at: timestamp,
  registration: registrationSchema,
  heartbeats: z.number().int().min(0),
  last_heartbeat_at: timestamp.nullable(),
  last_heartbeat_via: z.enum(['websocket', 'http']).nullable(),
  last_heartbeat: heartbeatPayloadSchema.nullable(),
  last_pong_at: timestamp.nullable(),
  tunnel: tunnelRecordSchema,
});
export type ClusterRecord = z.infer<typeof clusterRecordSchema>;

export const stateFileSchema = z
  .object({ version: z.literal(1), clusters: z.array(clusterRecordSchema) })
  .refine((state) => new Set(state.clusters.map((c) => c.cluster_id)).size === state.clusters.length, {
    message: 'duplicate cluster_id',
    path: ['clusters'],
  });
export type StateFile = z.infer<typeof stateFileSchema>;

/** Reads and validates the state file; a missing file is an empty state, a corrupt one an error naming it. */
export async function loadStateFile(file: string): Promise<StateFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, clusters: [] };
    throw new Error(`cannot read control-plane state file ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `control-plane state file ${file} is not valid JSON (${(error as Error).message}); fix or delete it`,
    );
  }
  const parsed = stateFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`control-plane state file ${file} is invalid (${describeIssues(parsed.error)}); fix or delete it`);
  }
  return parsed.data;
}

/** Writes the file atomically: a temp file in the same directory, fsync, then rename over the target. */
export async function writeStateFile(file: string, state: StateFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Heartbeats only mark the state dirty; it is written at most this often. */
const heartbeatFlushMs = 500;

/**
 * The clusters in memory plus their persistence. Writes are serialised (each writes the latest
 * snapshot); registrations wait for theirs, heartbeats are coalesced.
 */
export class StateStore {
  readonly clusters = new Map<string, ClusterRecord>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly file: string,
    private readonly log: LogFn,
  ) {}

  static async open(file: string, log: LogFn): Promise<StateStore> {
    const store = new StateStore(file, log);
    const state = await loadStateFile(file);
    for (const cluster of state.clusters) store.clusters.set(cluster.cluster_id, cluster);
    return store;
  }

  snapshot(): StateFile {
    return { version: 1, clusters: [...this.clusters.values()] };
  }

  /** Writes the current state; resolves once it (or a later write) is on disk. */
  async save(): Promise<void> {
    this.cancelScheduled();
    const write = this.chain.then(() => writeStateFile(this.file, this.snapshot()));
    this.chain = write.catch(() => undefined);
    return write;
  }

  /** Schedules a coalesced write; failures are logged. */
  markDirty(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.save().catch((error: unknown) =>
        this.log({ level: 'error', msg: 'could not write control-plane state', file: this.file, error: String(error) }),
      );
    }, heartbeatFlushMs);
    this.timer.unref();
  }

  /** Writes pending changes; used on stop. */
  async flush(): Promise<void> {
    if (this.timer) await this.save();
    await this.chain;
  }

  private cancelScheduled(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
