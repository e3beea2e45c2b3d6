import 'server-only';
import { ConfigError, loadConfig, redactConfig, requireRuntimeConfig } from '@/agent/config/load';
import { loadKubeConfig } from '@/agent/kubernetes/kubeconfig';
import { createLogger, type LogContext } from '@/agent/logging/logger';
import { AgentMetrics } from '@/agent/metrics/agent-metrics';
import { AgentRuntime } from '@/agent/runtime';
import { installProcessGuards } from '@/agent/supervision/process-guards';
import { installPeerAddressHeader } from '@/server/http/peer-address';

export interface AgentHost {
  metrics: AgentMetrics;
  /** Undefined when the app runs as a dashboard only (no PIPEOPS_API_URL). */
  runtime?: AgentRuntime;
  /** Why there is no runtime, for /ready and the dashboard. */
  disabledReason?: string;
  /** Run first on SIGTERM (e.g. closing SSE streams so the HTTP server can drain at once). */
  shutdownHooks: (() => Promise<void>)[];
}

const hostKey = Symbol.for('pipeops.agentHost');
type GlobalWithHost = typeof globalThis & { [hostKey]?: AgentHost };
const shutdownTimeoutMs = 10_000;

/**
 * The one agent runtime of this process, shared by instrumentation and every route handler through
 * globalThis (Next.js compiles them into separate module graphs).
 */
export function agentHost(): AgentHost {
  const store = globalThis as GlobalWithHost;
  store[hostKey] ??= createHost();
  return store[hostKey];
}

function createHost(): AgentHost {
  const metrics = new AgentMetrics();
  const config = loadConfig();
  const logContext: LogContext = {};
  const logger = createLogger(config.logging.level, logContext);
  installProcessGuards(logger, (kind) => metrics.unhandledErrors.inc({ kind }));
  const shutdownHooks: AgentHost['shutdownHooks'] = [];
  if (!config.pipeops.api_url) {
    const disabledReason = 'agent runtime not configured (PIPEOPS_API_URL is not set); serving the dashboard only';
    logger.warn(disabledReason);
    installShutdown(undefined, shutdownHooks);
    return { metrics, disabledReason, shutdownHooks };
  }
  const runtimeConfig = requireRuntimeConfig(config);
  logger.info({ config: redactConfig(runtimeConfig) }, 'starting pipeops-agent');
  const runtime = new AgentRuntime({ config: runtimeConfig, kc: loadKubeConfig(), logger, logContext, metrics });
  runtime.start();
  installShutdown(runtime, shutdownHooks);
  return { metrics, runtime, shutdownHooks };
}

/**
 * SIGTERM: readiness fails first, SSE streams end, the runtime releases its link and Lease, exit within
 * 10 s. Installed in dashboard-only mode too: with NEXT_MANUAL_SIG_HANDLE Next leaves signals to us.
 */
function installShutdown(runtime: AgentRuntime | undefined, hooks: AgentHost['shutdownHooks']): void {
  const shutdown = (): void => {
    setTimeout(() => process.exit(1), shutdownTimeoutMs).unref();
    const hooksDone = Promise.allSettled(hooks.map((hook) => hook()));
    Promise.all([hooksDone, runtime?.stop()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/** Called from instrumentation: a bad config value stops start-up with its one-line message. */
export function startAgentHost(): void {
  // Before the first request: the login limiter and audit need the socket address (client-address.ts).
  installPeerAddressHeader();
  try {
    agentHost();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}
