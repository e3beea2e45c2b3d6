import { down, up } from '../sandbox/cluster/cluster';
import { stats, type Stats } from './machine';

export interface SandboxBench {
  freshUp: Stats;
  reuseUp: Stats;
  down: Stats;
}

const quiet = (): void => undefined;

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return (performance.now() - started) / 1000;
}

/**
 * Times `sandbox up` from nothing (fresh certs and etcd data, binaries cached) to ready, `up` on a
 * running sandbox, and `down`. Uses its own sandbox name so a running demo is not disturbed.
 */
export async function benchSandbox(runs = 3): Promise<SandboxBench> {
  const name = 'bench';
  const fresh: number[] = [];
  const reuse: number[] = [];
  const stop: number[] = [];
  await down({ name, purge: true, log: quiet });
  for (let i = 0; i < runs; i++) {
    fresh.push(await timed(() => up({ name, log: quiet })));
    reuse.push(await timed(() => up({ name, log: quiet })));
    stop.push(await timed(() => down({ name, purge: true, log: quiet })));
  }
  return { freshUp: stats(fresh), reuseUp: stats(reuse), down: stats(stop) };
}
