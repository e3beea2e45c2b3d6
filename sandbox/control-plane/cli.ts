// First: one clear line and exit on an unsupported Node.js, before any dependency loads.
import '../../agent/node-guard';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tunnelStatusValues, type TunnelStatus } from '../../agent/controlplane/protocol';
import { cacheDir } from '../cluster/versions';
import { resolveOptions, type ControlPlaneOptions, type LogEntry } from './options';
import type { TunnelPortSource } from './tunnel-ports';
import { startControlPlane } from './server';

const usage = `usage: npm run control-plane -- [options]

  --port N                     port to listen on (default 0 = a free port)
  --host HOST                  interface to listen on (default 127.0.0.1)
  --token TOKEN                accepted agent Bearer token (repeatable; or PIPEOPS_CONTROL_PLANE_TOKENS=a,b)
  --admin-token TOKEN          enables the /admin API (or PIPEOPS_CONTROL_PLANE_ADMIN_TOKEN)
  --state-file FILE            JSON state (default $PIPEOPS_CACHE_DIR or ~/.cache/pipeops-agent, then
                               control-plane/state.json)
  --enable-test-faults         enables POST /admin/faults and /admin/reset-counters
  --ping-interval-ms N         server ping interval over WebSockets (default 15000)
  --tunnel-server-addr ADDR    tunnel server address handed to agents
  --tunnel-server-fingerprint FP
  --tunnel-port-range LOW-HIGH remote tunnel ports to allocate (default 40000-40999; ports in use are
                               skipped), or "os" for any free port the OS picks
  --tunnel-server-port N       run the reference tunnel server in this process on port N (0 = free port);
                               its address and fingerprint are handed to agents
  --tunnel-key-file FILE       its host key (created once, so the fingerprint stays stable;
                               default next to the state file)
  --tunnel-auth-file FILE      keep this chisel --authfile in step with the clusters' tunnel users and ports
  --tunnel-default-status S    IDLE (default), REQUIRED or ACTIVE for newly registered clusters;
                               change one with POST /admin/tunnel {agent_id, status}
  --tls-cert FILE --tls-key FILE  serve HTTPS/WSS with this PEM certificate and key (both required)
  --verbose                    log every request`;

/** A bad command-line value; the message names the option, the value and what is allowed. */
class UsageError extends Error {}

function integerOption(name: string, raw: string | undefined, range: [number, number]): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < range[0] || value > range[1]) {
    throw new UsageError(`--${name} "${raw}" is invalid: expected an integer from ${range[0]} to ${range[1]}`);
  }
  return value;
}

function portRangeOption(raw: string | undefined): TunnelPortSource | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'os') return 'os';
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(raw);
  const low = Number(match?.[1]);
  const high = Number(match?.[2]);
  if (!match || low < 1 || high > 65535 || low > high) {
    throw new UsageError(
      `--tunnel-port-range "${raw}" is invalid: expected LOW-HIGH with 1 <= LOW <= HIGH <= 65535, or "os"`,
    );
  }
  return [low, high];
}

function tunnelStatusOption(raw: string | undefined): TunnelStatus | undefined {
  if (raw === undefined) return undefined;
  const status = tunnelStatusValues.find((value) => value === raw.toUpperCase());
  if (!status) {
    throw new UsageError(
      `--tunnel-default-status "${raw}" is invalid: expected one of ${tunnelStatusValues.join(', ')}`,
    );
  }
  return status;
}

function tokensOption(flags: string[] | undefined): string[] {
  const fromEnv = (process.env.PIPEOPS_CONTROL_PLANE_TOKENS ?? '').split(',');
  const tokens = [...(flags ?? []), ...fromEnv].map((token) => token.trim()).filter((token) => token.length > 0);
  if (tokens.length === 0) {
    throw new UsageError('no agent token: pass --token TOKEN (repeatable) or set PIPEOPS_CONTROL_PLANE_TOKENS=a,b');
  }
  return tokens;
}

function parseCli(argv: string[]): { options: ControlPlaneOptions; verbose: boolean } | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string', multiple: true },
      'admin-token': { type: 'string' },
      'state-file': { type: 'string' },
      'enable-test-faults': { type: 'boolean', default: false },
      'ping-interval-ms': { type: 'string' },
      'tunnel-server-addr': { type: 'string' },
      'tunnel-server-fingerprint': { type: 'string' },
      'tunnel-port-range': { type: 'string' },
      'tunnel-auth-file': { type: 'string' },
      'tunnel-server-port': { type: 'string' },
      'tunnel-key-file': { type: 'string' },
      'tunnel-default-status': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const stateFile = values['state-file'] ?? path.join(cacheDir(), 'control-plane', 'state.json');
  const options: ControlPlaneOptions = {
    host: values.host,
    port: integerOption('port', values.port, [0, 65535]),
    tokens: tokensOption(values.token),
    adminToken: values['admin-token'] ?? (process.env.PIPEOPS_CONTROL_PLANE_ADMIN_TOKEN || undefined),
    stateFile,
    enableTestFaults: values['enable-test-faults'],
    pingIntervalMs: integerOption('ping-interval-ms', values['ping-interval-ms'], [10, 3_600_000]),
    tunnelServerAddr: values['tunnel-server-addr'],
    tunnelServerFingerprint: values['tunnel-server-fingerprint'],
    tunnelPortRange: portRangeOption(values['tunnel-port-range']),
    tunnelAuthFile: values['tunnel-auth-file'],
    tunnelDefaultStatus: tunnelStatusOption(values['tunnel-default-status']),
    tls: tlsOption(values['tls-cert'], values['tls-key']),
    tunnelServer: tunnelServerOption(values['tunnel-server-port'], values['tunnel-key-file'], stateFile),
  };
  resolveOptions(options);
  return { options, verbose: values.verbose };
}

function tunnelServerOption(
  port: string | undefined,
  keyFile: string | undefined,
  stateFile: string,
): ControlPlaneOptions['tunnelServer'] {
  if (port === undefined) {
    if (keyFile !== undefined) throw new UsageError('--tunnel-key-file needs --tunnel-server-port');
    return undefined;
  }
  return {
    port: integerOption('tunnel-server-port', port, [0, 65535]),
    keyFile: keyFile ?? path.join(path.dirname(stateFile), 'tunnel-server.key'),
  };
}

function tlsOption(certFile: string | undefined, keyFile: string | undefined): ControlPlaneOptions['tls'] {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (!certFile || !keyFile) throw new UsageError('--tls-cert and --tls-key must be given together');
  return { certFile, keyFile };
}

function printLog(verbose: boolean): (entry: LogEntry) => void {
  return (entry) => {
    if (entry.level === 'debug' && !verbose) return;
    const line = JSON.stringify({ time: new Date().toISOString(), ...entry });
    if (entry.level === 'error' || entry.level === 'warn') console.error(line);
    else console.log(line);
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (error) {
    console.error(`control-plane: ${(error as Error).message} (see --help)`);
    return 2;
  }
  if (parsed === 'help') {
    console.log(usage);
    return 0;
  }
  const handle = await startControlPlane({ ...parsed.options, log: printLog(parsed.verbose) });
  console.log(`control-plane listening on ${handle.url}`);
  console.log(`state file: ${parsed.options.stateFile}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await handle.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`control-plane: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
