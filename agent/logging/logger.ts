import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Identity fields stamped on every log line once known (pino's mixin reads them at write time). */
export interface LogContext {
  agent_id?: string;
  cluster_id?: string;
}

// Anything that could carry a credential is censored wherever it appears in a log object.
const redactPaths = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'k8s_service_token',
  '*.k8s_service_token',
  'credentials',
  '*.credentials',
  'password',
  '*.password',
];

export function createLogger(level: string, context: LogContext, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: '[redacted]' },
      mixin: () => ({ ...context }),
    },
    destination,
  );
}
