/**
 * The client's `config` request (reference doc §2.1–2.2): raw JSON decoded the way Go's encoding/json
 * does (keys case-insensitive, unknown keys ignored, ports must be strings), plus chisel's Remote
 * string forms used in messages, ACL checks and channel data.
 */
import { z } from 'zod';

export interface Remote {
  LocalHost: string;
  LocalPort: string;
  LocalProto: string;
  RemoteHost: string;
  RemotePort: string;
  RemoteProto: string;
  Socks: boolean;
  Reverse: boolean;
  Stdio: boolean;
}

export interface ChiselConfig {
  Version: string;
  Remotes: Remote[];
}

// Go leaves a field at its zero value for both a missing key and JSON null.
const text = z
  .string()
  .nullish()
  .transform((value) => value ?? '');
const flag = z
  .boolean()
  .nullish()
  .transform((value) => value ?? false);

const remoteSchema = z.object({
  LocalHost: text,
  LocalPort: text,
  LocalProto: text,
  RemoteHost: text,
  RemotePort: text,
  RemoteProto: text,
  Socks: flag,
  Reverse: flag,
  Stdio: flag,
});

const configSchema = z.object({
  Version: text,
  Remotes: z
    .array(remoteSchema.nullable())
    .nullish()
    .transform((remotes) => (remotes ?? []).filter((remote) => remote !== null)),
});

/** Renames keys to the schema's spelling, case-insensitively, like Go's field matching. */
function canonicalKeys(value: unknown, names: readonly string[]): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const byLower = new Map(names.map((name) => [name.toLowerCase(), name]));
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const name = byLower.get(key.toLowerCase());
    if (name && !(name in out)) out[name] = field;
  }
  return out;
}

function canonicalConfig(json: unknown): unknown {
  const config = canonicalKeys(json, Object.keys(configSchema.shape));
  if (typeof config !== 'object' || config === null || !('Remotes' in config)) return config;
  const remotes = (config as { Remotes: unknown }).Remotes;
  if (!Array.isArray(remotes)) return config;
  const remoteNames = Object.keys(remoteSchema.shape);
  return { ...config, Remotes: remotes.map((remote) => canonicalKeys(remote, remoteNames)) };
}

/** Decodes the config payload; any error maps to chisel's `invalid config` reply. */
export function decodeConfig(payload: Buffer): ChiselConfig {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new Error(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = configSchema.safeParse(canonicalConfig(json));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join('.') || 'config'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function local(remote: Remote): string {
  return remote.Stdio ? 'stdio' : `${remote.LocalHost}:${remote.LocalPort}`;
}

/** chisel's Remote.Remote(): the channel's extra data (`/udp` appended for UDP). */
export function remoteTarget(remote: Remote): string {
  const target = remote.Socks ? 'socks' : `${remote.RemoteHost}:${remote.RemotePort}`;
  return remote.RemoteProto === 'udp' ? `${target}/udp` : target;
}

/** chisel's Remote.String(), e.g. `R:8000=>localhost:6443`, used in log lines and error texts. */
export function remoteString(remote: Remote): string {
  const prefix = remote.Reverse ? 'R:' : '';
  const from = local(remote).replace(/^0\.0\.0\.0:/, '');
  const to = (remote.Socks ? 'socks' : `${remote.RemoteHost}:${remote.RemotePort}`).replace(/^127\.0\.0\.1:/, '');
  return `${prefix}${from}=>${to}${remote.RemoteProto === 'udp' ? '/udp' : ''}`;
}

/** chisel's Remote.UserAddr(), what the ACL regexes are matched against. */
export function userAddr(remote: Remote): string {
  return remote.Reverse ? `R:${remote.LocalHost}:${remote.LocalPort}` : `${remote.RemoteHost}:${remote.RemotePort}`;
}

/** Why this server cannot serve the remote (it implements plain reverse TCP only), or undefined. */
export function unsupportedReason(remote: Remote): string | undefined {
  if (!remote.Reverse) return `forward remotes are not supported by this server (${remoteString(remote)})`;
  if (remote.Socks) return `reverse SOCKS remotes are not supported by this server (${remoteString(remote)})`;
  if (remote.Stdio) return `stdio remotes are not supported by this server (${remoteString(remote)})`;
  const udp = remote.LocalProto === 'udp' || remote.RemoteProto === 'udp';
  if (udp) return `UDP remotes are not supported by this server (${remoteString(remote)})`;
  return undefined;
}

/** The TCP port to listen on, or undefined when LocalPort is not a valid port number. */
export function listenPort(remote: Remote): number | undefined {
  if (!/^\d{1,5}$/.test(remote.LocalPort)) return undefined;
  const port = Number(remote.LocalPort);
  return port <= 65535 ? port : undefined;
}

/** LocalHost as net.Server wants it: IPv6 brackets removed, empty meaning all interfaces. */
export function listenHost(remote: Remote): string {
  const host = remote.LocalHost.replace(/^\[(.*)\]$/, '$1');
  return host === '' ? '0.0.0.0' : host;
}
