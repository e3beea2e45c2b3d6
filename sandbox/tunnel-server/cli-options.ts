/** Command-line parsing for cli.ts, mirroring `chisel server`'s flags (reference doc §4.1). */
import { parseArgs } from 'node:util';

export const usage = `usage: npx tsx sandbox/tunnel-server/cli.ts [options]
  A chisel-compatible tunnel server (reverse TCP remotes only).

  --host HOST            interface to listen on (default 0.0.0.0, env HOST)
  --port, -p PORT        port to listen on (default 8080, env PORT)
  --reverse              allow reverse remotes (R:…), required like chisel's
  --auth USER:PASS       a user allowed everything (env AUTH); added on top of --authfile
  --authfile FILE        chisel authfile {"user:pass": ["regex", …]}; reloaded when it changes
  --keyfile FILE|ck-…    host key: chisel "ck-" key or PEM/OpenSSH private key (env CHISEL_KEY_FILE)
  --keygen FILE|-        write a new chisel "ck-" key (mode 0600; "-" = stdout) and exit
  --keepalive DURATION   ping interval and reply timeout, e.g. 25s (default), 0s disables
  --bind-host ADDR       address reverse listeners really bind (default 127.0.0.1);
                         "client" binds the LocalHost the client asks for, as chisel does
  --tls-cert FILE --tls-key FILE  serve HTTPS/WSS with this PEM certificate and key
  -v                     debug logging (accepted for compatibility; everything is logged)
  --help`;

export class UsageError extends Error {}

export interface CliOptions {
  host: string;
  port: number;
  reverse: boolean;
  auth: string | undefined;
  authfile: string | undefined;
  keyfile: string | undefined;
  keygen: string | undefined;
  keepaliveMs: number;
  bindHost: string | null;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
}

const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration (`25s`, `1m30s`, `500ms`, `0`) into milliseconds. */
export function parseDuration(raw: string): number {
  if (raw === '0') return 0;
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(raw); match; match = part.exec(raw)) {
    total += Number(match[1]) * (units[match[2] ?? ''] ?? Number.NaN);
    consumed = part.lastIndex;
  }
  if (raw === '' || consumed !== raw.length || !Number.isFinite(total)) {
    throw new UsageError(`invalid duration "${raw}": expected e.g. 25s, 1m30s, 500ms or 0s`);
  }
  return Math.round(total);
}

function portOption(raw: string): number {
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port "${raw}" is invalid: expected 0-65535`);
  return port;
}

function tlsOptions(cert: string | undefined, key: string | undefined): void {
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError('--tls-cert and --tls-key must be given together');
  }
}

const flags = {
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  reverse: { type: 'boolean', default: false },
  auth: { type: 'string' },
  authfile: { type: 'string' },
  keyfile: { type: 'string' },
  keygen: { type: 'string' },
  keepalive: { type: 'string' },
  'bind-host': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  v: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

type Flags = ReturnType<typeof parseArgs<{ args: string[]; options: typeof flags }>>['values'];

function readFlags(argv: string[]): Flags {
  try {
    return parseArgs({ args: argv, options: flags }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export type CliEnv = Record<string, string | undefined>;

/** Parses argv (without node and script); 'help' when --help was asked for. */
export function parseCli(argv: string[], env: CliEnv = process.env): CliOptions | 'help' {
  const values = readFlags(argv);
  if (values.help) return 'help';
  tlsOptions(values['tls-cert'], values['tls-key']);
  const bindHost = values['bind-host'] ?? '127.0.0.1';
  return {
    host: values.host ?? env.HOST ?? '0.0.0.0',
    port: portOption(values.port ?? env.PORT ?? '8080'),
    reverse: values.reverse,
    auth: values.auth ?? env.AUTH,
    authfile: values.authfile,
    keyfile: values.keyfile ?? env.CHISEL_KEY_FILE,
    keygen: values.keygen,
    keepaliveMs: parseDuration(values.keepalive ?? '25s'),
    bindHost: bindHost === 'client' ? null : bindHost,
    tlsCert: values['tls-cert'],
    tlsKey: values['tls-key'],
  };
}
