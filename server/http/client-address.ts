import 'server-only';
import { BlockList, isIP } from 'node:net';

/**
 * Who sent a request. Next.js does not give route handlers the socket, and it only *adds*
 * X-Forwarded-For when a client did not send one, so that header is whatever the client claims. The
 * agent host stamps the socket's address into `peerAddressHeader` on every request (overwriting any
 * client copy, see installPeerAddressHeader); X-Forwarded-For counts only when that peer is a trusted
 * proxy (PIPEOPS_TRUSTED_PROXIES), and then only the entries the trusted hops appended.
 */
export const peerAddressHeader = 'x-pipeops-peer-address';

type HeaderBag = Record<string, unknown> | Headers | undefined;

function header(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  const value = headers instanceof Headers ? headers.get(name) : headers[name];
  return typeof value === 'string' ? value : Array.isArray(value) ? String(value[0]) : undefined;
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same client. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim().replace(/^\[|\]$/g, '');
  return trimmed.startsWith('::ffff:') && isIP(trimmed.slice(7)) === 4 ? trimmed.slice(7) : trimmed;
}

/** PIPEOPS_TRUSTED_PROXIES: comma-separated addresses or CIDRs (`10.0.0.0/8, fd00::/8`); empty: none. */
export function trustedProxiesFrom(raw: string | undefined): BlockList {
  const list = new BlockList();
  for (const entry of (raw ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new Error(`PIPEOPS_TRUSTED_PROXIES: ${entry} is not an IP address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

let cached: { raw: string | undefined; list: BlockList } | undefined;

function trustedProxies(): BlockList {
  const raw = process.env.PIPEOPS_TRUSTED_PROXIES;
  if (!cached || cached.raw !== raw) cached = { raw, list: trustedProxiesFrom(raw) };
  return cached.list;
}

/**
 * The client address: the socket peer, or, when the peer is a trusted proxy, the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy. `unknown` without a stamped peer.
 */
export function clientAddress(headers: HeaderBag, trusted: BlockList = trustedProxies()): string {
  const peer = header(headers, peerAddressHeader);
  if (!peer) return 'unknown';
  let client = normalizeAddress(peer);
  if (!isTrusted(trusted, client)) return client;
  const hops = (header(headers, 'x-forwarded-for') ?? '').split(',').map(normalizeAddress).filter(Boolean);
  for (const hop of hops.reverse()) {
    client = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return client;
}

/** True when the request came through a trusted proxy, so its X-Forwarded-Host/Proto may be believed. */
export function viaTrustedProxy(headers: HeaderBag, trusted: BlockList = trustedProxies()): boolean {
  const peer = header(headers, peerAddressHeader);
  return peer !== undefined && isTrusted(trusted, normalizeAddress(peer));
}
