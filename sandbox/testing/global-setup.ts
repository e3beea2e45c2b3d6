import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { down, up } from '../cluster/cluster';

export interface SandboxHandle {
  name: string;
  apiServerUrl: string;
  adminKubeconfig: string;
  agentKubeconfig: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    sandbox: SandboxHandle;
  }
}

/**
 * Brings the test sandbox up once per run (reusing it when `npm test` already started it) and takes it
 * down at the end only if this run started it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const name = process.env.PIPEOPS_SANDBOX_NAME ?? 'test';
  const info = await up({ name, log: (line) => console.log(line) });
  project.provide('sandbox', {
    name,
    apiServerUrl: info.apiServerUrl,
    adminKubeconfig: info.adminKubeconfig,
    agentKubeconfig: info.agentKubeconfig,
  });
  return async () => {
    if (!info.alreadyRunning) await down({ name, purge: true });
  };
}
