import 'server-only';
import pino from 'pino';
import { createLogger, type Logger } from '@/agent/logging/logger';

const loggerKey = Symbol.for('pipeops.dashboardLogger');
type GlobalWithLogger = typeof globalThis & { [loggerKey]?: Logger };

/** One logger for auth and the API routes, shared across Next's module graphs through globalThis. */
export function dashboardLogger(): Logger {
  const store = globalThis as GlobalWithLogger;
  store[loggerKey] ??= createDashboardLogger();
  return store[loggerKey];
}

function createDashboardLogger(): Logger {
  const wanted = process.env.PIPEOPS_LOG_LEVEL ?? 'info';
  // The agent config validates the level and stops start-up on a bad one; here we only avoid throwing twice.
  const level = wanted in pino.levels.values || wanted === 'silent' ? wanted : 'info';
  return createLogger(level, {}).child({ component: 'dashboard' });
}
