// First: one clear line and exit on an unsupported Node.js, before any dependency loads.
import './node-guard';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, redactConfig, requireRuntimeConfig } from './config/load';
import { createAgentHttpServer } from './http/server';
import { loadKubeConfig } from './kubernetes/kubeconfig';
import { createLogger, type LogContext } from './logging/logger';
import { AgentMetrics } from './metrics/agent-metrics';
import { AgentRuntime } from './runtime';
import { installProcessGuards } from './supervision/process-guards';

const shutdownTimeoutMs = 10_000;

/** `npm run agent`: the runtime without the dashboard, with the same HTTP surface and config. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  let config;
  let kc;
  try {
    config = requireRuntimeConfig(loadConfig({ configFile: values.config }));
    kc = loadKubeConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logContext: LogContext = {};
  const logger = createLogger(config.logging.level, logContext);
  logger.info({ config: redactConfig(config) }, 'starting pipeops-agent (headless)');
  const metrics = new AgentMetrics();
  installProcessGuards(logger, (kind) => metrics.unhandledErrors.inc({ kind }));
  const runtime = new AgentRuntime({ config, kc, logger, logContext, metrics });
  const server = createAgentHttpServer(runtime, metrics);
  server.listen(config.agent.port, () => logger.info({ port: config.agent.port }, 'HTTP server listening'));
  runtime.start();

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took longer than 10 s; exiting anyway');
      process.exit(1);
    }, shutdownTimeoutMs).unref();
    runtime
      .stop()
      .then(
        () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      )
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: String(error) }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(`pipeops-agent: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
