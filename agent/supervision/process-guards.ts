import type { Logger } from '../logging/logger';
import { asError } from './supervise';

const installedKey = Symbol.for('pipeops.processGuards');
type GuardedProcess = NodeJS.Process & { [installedKey]?: true };

/**
 * Process-wide last resort: an unhandled rejection or an uncaught exception is logged with its stack and
 * the process keeps serving (/health, the dashboard, the loops under their supervisors). A control-plane
 * reply must never be able to end the agent. Installed once per process (the app and `npm run agent`).
 */
export function installProcessGuards(
  logger: Logger,
  onFault?: (kind: 'unhandledRejection' | 'uncaughtException') => void,
): void {
  const guarded = process as GuardedProcess;
  if (guarded[installedKey]) return;
  guarded[installedKey] = true;
  process.on('unhandledRejection', (reason) => {
    onFault?.('unhandledRejection');
    logger.error({ err: asError(reason) }, 'unhandled promise rejection (bug); the agent keeps running');
  });
  process.on('uncaughtException', (error) => {
    onFault?.('uncaughtException');
    logger.error({ err: asError(error) }, 'uncaught exception (bug); the agent keeps running');
  });
}
