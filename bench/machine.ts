import { cpus, totalmem } from 'node:os';

/** One line naming the machine a benchmark ran on, for the tables in docs/benchmarks.md. */
export function describeMachine(): string {
  const cpuList = cpus();
  const model = cpuList[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  const memory = `${Math.round(totalmem() / 2 ** 30)} GiB`;
  return `${cpuList.length} cores (${model}), ${memory}, Node ${process.version}, ${process.platform}/${process.arch}`;
}

export interface Stats {
  runs: number;
  median: number;
  min: number;
  max: number;
}

export function stats(samples: number[]): Stats {
  if (samples.length === 0) throw new Error('stats() needs at least one sample');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { runs: sorted.length, median, min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
}

export { percentile } from '../agent/metrics/percentile';
