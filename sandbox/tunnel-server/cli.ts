/**
 * `chisel server`-like command line for the reference tunnel server. Log lines go to stderr in
 * chisel's format (`YYYY/MM/DD HH:MM:SS server: …`) so tools that parse `Fingerprint (\S+)` and
 * `Listening on` work with either server.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCli, usage, UsageError, type CliOptions } from './cli-options';
import { generateChiselKey } from './host-key';
import { startTunnelServer, type Authfile, type TunnelServer } from './server';
import { parseAuthfile } from './users';

function timestamp(date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  const day = `${date.getFullYear()}/${pad(date.getMonth() + 1)}/${pad(date.getDate())}`;
  return `${day} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function log(line: string): void {
  process.stderr.write(`${timestamp(new Date())} server: ${line}\n`);
}

function toAuthfile(users: ReturnType<typeof parseAuthfile>): Authfile {
  return Object.fromEntries([...users.values()].map((u) => [`${u.name}:${u.password}`, u.patterns]));
}

/** chisel's user set: the authfile plus --auth (which allows everything); --auth without ":" is ignored. */
async function loadUsers(options: CliOptions): Promise<Authfile> {
  const users: Authfile = {};
  if (options.authfile !== undefined) {
    log(`users: Loading configuration file ${options.authfile}`);
    Object.assign(users, toAuthfile(parseAuthfile(await readFile(options.authfile, 'utf8'))));
  }
  if (options.auth?.includes(':')) users[options.auth] = [''];
  else if (options.auth !== undefined) log('--auth without ":" is ignored (chisel does the same)');
  return users;
}

/** chisel reloads the authfile on write; a broken file keeps the previous users. */
function watchAuthfile(options: CliOptions, server: TunnelServer): FSWatcher | undefined {
  const file = options.authfile;
  if (file === undefined) return undefined;
  return watch(file, () => {
    loadUsers(options).then(
      (users) => {
        server.setUsers(users);
        log(`users: Loaded ${Object.keys(users).length} users from ${file}`);
      },
      (err: unknown) => log(`users: keeping previous users: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
}

async function keygen(target: string): Promise<void> {
  const key = generateChiselKey();
  if (target === '-') process.stdout.write(`${key}\n`);
  else {
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await writeFile(target, key, { mode: 0o600 });
  }
}

async function serve(options: CliOptions): Promise<TunnelServer> {
  const users = await loadUsers(options);
  const tls =
    options.tlsCert !== undefined && options.tlsKey !== undefined
      ? { cert: await readFile(options.tlsCert), key: await readFile(options.tlsKey) }
      : undefined;
  if (options.reverse) log('Reverse tunnelling enabled');
  const server = await startTunnelServer({
    host: options.host,
    port: options.port,
    keyFile: options.keyfile,
    users,
    reverse: options.reverse,
    bindHost: options.bindHost,
    keepaliveMs: options.keepaliveMs,
    tls,
    log,
  });
  log(`Fingerprint ${server.fingerprint}`);
  if (Object.keys(users).length > 0) log('User authentication enabled');
  log(`Listening on ${tls ? 'https' : 'http'}://${options.host}:${server.port}`);
  return server;
}

function onSignals(stop: () => Promise<void>): void {
  const handler = (): void => {
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

async function main(): Promise<number> {
  let options: CliOptions | 'help';
  try {
    options = parseCli(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${usage}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (options.keygen !== undefined) {
    await keygen(options.keygen);
    return 0;
  }
  const server = await serve(options);
  const watcher = watchAuthfile(options, server);
  onSignals(async () => {
    watcher?.close();
    await server.stop();
  });
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    log(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
