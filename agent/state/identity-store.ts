import { randomUUID } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from '../logging/logger';
import { classifyKubeError, describeKubeError, statusOf, type KubeErrorKind } from '../kubernetes/errors';

export interface AgentIdentity {
  agentId: string;
  clusterId?: string;
  clusterUuid?: string;
}

export type IdentitySource = 'loaded' | 'generated' | 'configured';

export interface LoadedIdentity {
  identity: AgentIdentity;
  source: IdentitySource;
  /** False only when state persistence is switched off by config: the identity lasts one process. */
  persisted: boolean;
  persistError?: string;
}

/** Conflicts on every attempt: another writer keeps changing the ConfigMap. */
class StateChangingError extends Error {}

/**
 * The identity could be neither read nor stored. It is never "no identity": the caller retries and
 * nothing that needs an identity starts meanwhile. `kind` comes from the HTTP status of the failure.
 */
export class IdentityLoadError extends Error {
  override readonly name = 'IdentityLoadError';
  readonly kind: KubeErrorKind | 'kept_changing';
  readonly stage: 'read' | 'write';

  constructor(stage: 'read' | 'write', location: string, cause: unknown) {
    const changing = cause instanceof StateChangingError;
    super(
      changing
        ? cause.message
        : `cannot ${stage === 'read' ? 'read' : 'write'} ${location}: ${describeKubeError(cause)}`,
      { cause },
    );
    this.stage = stage;
    this.kind = changing ? 'kept_changing' : classifyKubeError(cause);
  }
}

export interface IdentityStoreOptions {
  namespace: string;
  configMapName: string;
  /** State persistence switched off by config: identity is in-memory only, by choice. */
  enabled: boolean;
}

const labels = {
  'app.kubernetes.io/name': 'pipeops-agent',
  'app.kubernetes.io/component': 'state',
  'app.kubernetes.io/managed-by': 'pipeops-agent',
};
const maxConflictRetries = 8;

/** `agent-<uuid>`: random, never derived from the pod name, uid or host. */
export function generateAgentId(): string {
  return `agent-${randomUUID()}`;
}

export function identityFromConfigMap(configMap: V1ConfigMap | undefined): AgentIdentity | undefined {
  const data = configMap?.data ?? {};
  if (!data.agent_id) return undefined;
  return {
    agentId: data.agent_id,
    clusterId: data.cluster_id || undefined,
    clusterUuid: data.cluster_uuid || undefined,
  };
}

/**
 * The agent's identity in its state ConfigMap (`agent_id`, `cluster_id`, `cluster_uuid`). Every write is
 * a create (fails if someone else created it first) or an update carrying the resourceVersion it read
 * (fails on a concurrent change); either failure re-reads and converges, so two pods starting together
 * end with ONE agent_id. Nothing here ever deletes a stored cluster_id.
 */
export class IdentityStore {
  readonly #core: CoreV1Api;
  readonly #options: IdentityStoreOptions;
  readonly #logger: Logger;

  constructor(kc: KubeConfig, options: IdentityStoreOptions, logger: Logger) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#options = options;
    this.#logger = logger.child({ component: 'identity' });
  }

  get location(): string {
    return `${this.#options.namespace}/${this.#options.configMapName}`;
  }

  async read(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.#core.readNamespacedConfigMap({
        name: this.#options.configMapName,
        namespace: this.#options.namespace,
      });
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Loads the stored identity, or creates it once; a configured id is only used when none is stored. */
  async loadOrCreate(configuredId?: string): Promise<LoadedIdentity> {
    if (!this.#options.enabled) {
      this.#logger.warn(
        'State persistence is disabled (PIPEOPS_ENABLE_STATE_PERSISTENCE=false): identity lasts only for this process',
      );
      return {
        identity: { agentId: configuredId ?? generateAgentId() },
        source: configuredId ? 'configured' : 'generated',
        persisted: false,
        persistError: 'state persistence disabled by config',
      };
    }
    return this.#converge(configuredId ?? generateAgentId(), configuredId !== undefined);
  }

  async #converge(candidate: string, configured: boolean): Promise<LoadedIdentity> {
    for (let attempt = 0; attempt < maxConflictRetries; attempt++) {
      const existing = await this.#readForIdentity();
      const stored = identityFromConfigMap(existing);
      if (stored) return this.#loaded(stored, candidate, configured);
      const written = await this.#writeForIdentity(existing, candidate);
      if (written) {
        const source: IdentitySource = configured ? 'configured' : 'generated';
        if (source === 'generated')
          this.#logger.warn(
            { agent_id: candidate },
            'Generated new agent ID - first start of this agent; it is now stored and reused on every restart',
          );
        this.#logger.info(
          { agent_id: candidate, state: this.location },
          'Agent ID persisted to state for future restarts',
        );
        return { identity: { agentId: candidate }, source, persisted: true };
      }
      // Lost a race with another replica: read again and adopt what it wrote.
    }
    throw new IdentityLoadError(
      'write',
      this.location,
      new StateChangingError(
        `state ConfigMap ${this.location} kept changing; gave up after ${maxConflictRetries} attempts`,
      ),
    );
  }

  /** Only a 404 means "no identity stored yet"; any other failure is an error the caller retries. */
  async #readForIdentity(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.read();
    } catch (error) {
      throw new IdentityLoadError('read', this.location, error);
    }
  }

  async #writeForIdentity(existing: V1ConfigMap | undefined, candidate: string): Promise<boolean> {
    try {
      return existing
        ? await this.#tryUpdate(existing, { agent_id: candidate })
        : await this.#tryCreate({ agent_id: candidate });
    } catch (error) {
      throw new IdentityLoadError('write', this.location, error);
    }
  }

  #loaded(stored: AgentIdentity, candidate: string, configured: boolean): LoadedIdentity {
    if (configured && candidate !== stored.agentId) {
      this.#logger.warn(
        { configured_agent_id: candidate, agent_id: stored.agentId },
        'PIPEOPS_AGENT_ID differs from the stored agent ID; keeping the stored one (identity never changes on restart; reset it explicitly to change it)',
      );
    }
    this.#logger.info(
      { agent_id: stored.agentId, cluster_id: stored.clusterId, state: this.location },
      'Agent ID loaded from persistent state - will maintain identity across restarts',
    );
    return { identity: stored, source: 'loaded', persisted: true };
  }

  async #tryCreate(data: Record<string, string>): Promise<boolean> {
    try {
      await this.#core.createNamespacedConfigMap({
        namespace: this.#options.namespace,
        body: { metadata: { name: this.#options.configMapName, labels }, data },
      });
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  async #tryUpdate(existing: V1ConfigMap, changes: Record<string, string>): Promise<boolean> {
    try {
      await this.#core.replaceNamespacedConfigMap({
        name: this.#options.configMapName,
        namespace: this.#options.namespace,
        body: { ...existing, data: { ...existing.data, ...changes } },
      });
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  /**
   * Stores the cluster id the control plane assigned, alongside the agent id (update with the read
   * resourceVersion, retried on conflict). Returns false when it could not be written.
   */
  async saveCluster(identity: AgentIdentity): Promise<boolean> {
    if (!this.#options.enabled) return false;
    const changes = {
      agent_id: identity.agentId,
      cluster_id: identity.clusterId ?? '',
      cluster_uuid: identity.clusterUuid ?? '',
    };
    try {
      for (let attempt = 0; attempt < maxConflictRetries; attempt++) {
        const existing = await this.read();
        const done = existing ? await this.#tryUpdate(existing, changes) : await this.#tryCreate(changes);
        if (done) {
          this.#logger.info(
            { cluster_id: identity.clusterId, state: this.location },
            'Cluster ID persisted to state - will prevent re-registration on restart',
          );
          return true;
        }
      }
      throw new Error(`state ConfigMap ${this.location} kept changing`);
    } catch (error) {
      this.#logger.error(
        { err: describeKubeError(error), state: this.location },
        'CRITICAL: Failed to persist cluster ID to state - the next restart re-registers with the agent ID only',
      );
      return false;
    }
  }
}
