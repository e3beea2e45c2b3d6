/**
 * Runs our ChiselClient alone in this process, as the Go chisel client runs alone in its own, so the
 * tunnel benchmark compares like with like. Start with `node --import tsx bench/tunnel-client-process.ts
 * --server URL --fingerprint FP --auth user:pass --remote REMOTEPORT:TARGETHOST:TARGETPORT [--remote …]`.
 * Prints `ready` once the session is up; SIGTERM stops the client and exits 0 (so --cpu-prof is written).
 */
import { parseArgs } from 'node:util';
import { ChiselClient, type ChiselRemote } from '../agent/tunnel/chisel-client';

function parseRemote(spec: string, index: number): ChiselRemote {
  const match = /^(\d+):(.+):(\d+)$/.exec(spec);
  if (!match) throw new Error(`--remote must be REMOTEPORT:TARGETHOST:TARGETPORT, got "${spec}"`);
  const [, remotePort, host, port] = match;
  return {
    name: `bench-${index}`,
    remotePort: Number(remotePort),
    bindHost: '127.0.0.1',
    target: { host: host ?? '127.0.0.1', port: Number(port) },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      server: { type: 'string' },
      fingerprint: { type: 'string' },
      auth: { type: 'string', default: 'user:pass' },
      remote: { type: 'string', multiple: true, default: [] },
    },
  });
  if (!values.server || !values.fingerprint) throw new Error('--server and --fingerprint are required');
  const client = new ChiselClient({
    serverUrl: values.server,
    auth: values.auth,
    fingerprint: values.fingerprint,
    remotes: values.remote.map(parseRemote),
  });
  const stop = (): void => {
    client.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // A benchmark killed outright (SIGKILL) cannot stop us: leave as soon as we are orphaned.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 1_000).unref();
  await client.start();
  process.stdout.write('ready\n');
}

main().catch((error: unknown) => {
  console.error(`tunnel-client-process: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
