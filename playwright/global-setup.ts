import { down, up } from '../sandbox/cluster/cluster';

/** Reuses the sandbox `npm test` started, or brings one up for a standalone `npm run test:e2e`. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const name = process.env.PIPEOPS_SANDBOX_NAME ?? 'test';
  const info = await up({ name, log: (line) => console.log(line) });
  return async () => {
    if (!info.alreadyRunning) await down({ name, purge: true });
  };
}
