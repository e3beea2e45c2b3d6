import { createHash } from 'node:crypto';

/** The WebSocket subprotocol a chisel v1.2.5+ server requires (exact match, never echoed back). */
export const chiselProtocol = 'chisel-v3';
export const clientVersion = '1.11.3';

export interface TunnelTarget {
  host: string;
  port: number;
}

export interface ChiselRemote {
  /** Name used in status and metrics. */
  name: string;
  /** The port the chisel server listens on for this forward. */
  remotePort: number;
  /** Interface the server binds (chisel's LocalHost); chisel's default is 0.0.0.0. */
  bindHost?: string;
  /** Where this client dials for each tunnelled connection. */
  target: TunnelTarget;
}

/** Normalises a server address like the Go client: http(s) → ws(s), default port added, path kept. */
export function normaliseServerUrl(input: string): string {
  const withScheme = /^(https?|wss?):\/\//i.test(input) ? input : `http://${input}`;
  const url = new URL(withScheme);
  const scheme = url.protocol.replace(':', '').toLowerCase().replace(/^http/, 'ws');
  if (scheme !== 'ws' && scheme !== 'wss') throw new Error(`unsupported tunnel server scheme: ${url.protocol}`);
  const port = url.port || (scheme === 'wss' ? '443' : '80');
  return `${scheme}://${url.hostname}:${port}${url.pathname}${url.search}`;
}

/** chisel's fingerprint: standard base64 of SHA-256 over the SSH wire-format public key blob. */
export function fingerprintOf(keyBlob: Buffer): string {
  return createHash('sha256').update(keyBlob).digest('base64');
}

/** Host as chisel writes it in host:port (IPv6 bracketed). */
export function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The `host:port` string the server names when it opens a channel for this target. */
export function targetKey(target: TunnelTarget): string {
  return `${formatHost(target.host)}:${target.port}`;
}

/** The chisel CLI form of a reverse remote, e.g. `R:8000:localhost:6443`. */
export function formatRemote(remote: ChiselRemote): string {
  const bind = remote.bindHost ? `${formatHost(remote.bindHost)}:` : '';
  return `R:${bind}${remote.remotePort}:${targetKey(remote.target)}`;
}

/** The JSON payload of the `config` global request, field for field as chisel's settings.Config. */
export function buildConfigPayload(remotes: readonly ChiselRemote[], version: string = clientVersion): Buffer {
  const config = {
    Version: version,
    Remotes: remotes.map((remote) => ({
      LocalHost: formatHost(remote.bindHost ?? '0.0.0.0'),
      LocalPort: String(remote.remotePort),
      LocalProto: 'tcp',
      RemoteHost: formatHost(remote.target.host),
      RemotePort: String(remote.target.port),
      RemoteProto: 'tcp',
      Socks: false,
      Reverse: true,
      Stdio: false,
    })),
  };
  return Buffer.from(JSON.stringify(config), 'utf8');
}

/** Splits the server's `host:port` channel data; undefined for anything but a plain TCP target. */
export function parseTarget(value: string): TunnelTarget | undefined {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  if (!match?.[1] || !match[2]) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

const wildcardHosts = new Set(['', '0.0.0.0', '::', '[::]']);

/** Two binds of one port conflict unless both name different specific interfaces. */
function bindsConflict(a: ChiselRemote, b: ChiselRemote): boolean {
  if (a.remotePort !== b.remotePort) return false;
  const hostA = a.bindHost ?? '';
  const hostB = b.bindHost ?? '';
  return hostA === hostB || wildcardHosts.has(hostA) || wildcardHosts.has(hostB);
}

/**
 * Why these remotes cannot be registered together, or undefined. The Go server drops a session whose
 * config asks for one port twice ("Server cannot listen on R:…") and refuses every retry, so a client
 * must refuse such a set up front instead of reconnecting forever.
 */
export function remotesProblem(remotes: readonly ChiselRemote[]): string | undefined {
  for (const [index, remote] of remotes.entries()) {
    if (!Number.isInteger(remote.remotePort) || remote.remotePort < 1 || remote.remotePort > 65535) {
      return `remote "${remote.name}" has port ${remote.remotePort}: must be a port number from 1 to 65535`;
    }
    const other = remotes.slice(0, index).find((earlier) => bindsConflict(earlier, remote));
    if (other) {
      return (
        `remotes "${other.name}" (${formatRemote(other)}) and "${remote.name}" (${formatRemote(remote)}) ` +
        `both bind port ${remote.remotePort}: each remote needs its own port (or distinct specific bind hosts)`
      );
    }
  }
  return undefined;
}
