import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClusterRecord } from './state';

/** Escapes a literal for a Go RE2 pattern. */
function reLiteral(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The chisel authfile (`{"user:pass": ["regex", ...]}`) that gives each cluster's tunnel user exactly its
 * own allocated reverse ports: chisel matches `R:<bind host>:<port>`, so a cluster can never bind
 * another cluster's port on a shared tunnel server.
 */
export function chiselAuthFile(clusters: readonly ClusterRecord[]): Record<string, string[]> {
  const entries = clusters.map((cluster): [string, string[]] => {
    const ports = Object.values(cluster.tunnel.ports).sort((a, b) => a - b);
    const rule = ports.length === 0 ? '^$' : `^R:.*:(${ports.map((port) => reLiteral(String(port))).join('|')})$`;
    return [`${cluster.tunnel.user}:${cluster.tunnel.password}`, [rule]];
  });
  return Object.fromEntries(entries);
}

/**
 * Rewrites the authfile in place: chisel reloads it on an fsnotify Write event for the watched inode,
 * so a write-to-temp-and-rename would silently stop the reloads.
 */
export async function writeChiselAuthFile(file: string, clusters: readonly ClusterRecord[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(chiselAuthFile(clusters), null, 2)}\n`, { mode: 0o600 });
}
