import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { binaryPaths, buildScript, type BinaryPaths } from './versions';

export type BinaryGroup = 'k8s' | 'kwok' | 'chisel';

export function missingGroups(groups: BinaryGroup[], paths: BinaryPaths = binaryPaths()): BinaryGroup[] {
  const marker: Record<BinaryGroup, string> = {
    k8s: path.join(path.dirname(paths.kubeApiserver), '.complete'),
    kwok: path.join(path.dirname(paths.kwok), '.complete'),
    chisel: path.join(path.dirname(paths.chisel), '.complete'),
  };
  return groups.filter((group) => !existsSync(marker[group]));
}

/**
 * Builds the missing Go test peers into the cache (see build-binaries.sh). The script prints a line per
 * step with the elapsed time; the hundreds of "go: downloading" lines are folded into one count.
 */
export async function ensureBinaries(
  groups: BinaryGroup[],
  log: (line: string) => void = (line) => console.log(line),
): Promise<BinaryPaths> {
  const paths = binaryPaths();
  const missing = missingGroups(groups, paths);
  if (missing.length === 0) return paths;
  log(`[sandbox build] building ${missing.join(', ')} from the Go module proxy (cold build takes a while)`);
  const child = spawn('bash', [buildScript, ...missing], { stdio: ['ignore', 'pipe', 'pipe'] });
  let downloads = 0;
  const onLine = (line: string): void => {
    if (line.startsWith('go: downloading')) {
      downloads += 1;
      if (downloads % 50 === 0) log(`[sandbox build] … ${downloads} Go modules downloaded`);
      return;
    }
    log(line);
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`building sandbox binaries failed (exit ${code}); see the output above`);
  return paths;
}
