import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { cacheDir } from './versions';

export const componentNames = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type ComponentName = (typeof componentNames)[number];

const componentSchema = z.object({ pid: z.number().int().positive(), bin: z.string(), port: z.number().int() });

export const sandboxStateSchema = z.object({
  name: z.string(),
  startedAt: z.string(),
  k8sVersion: z.string(),
  apiServerUrl: z.string(),
  etcdPeerPort: z.number().int(),
  components: z.partialRecord(z.enum(componentNames), componentSchema),
});
export type SandboxState = z.infer<typeof sandboxStateSchema>;
export type ComponentState = z.infer<typeof componentSchema>;

export interface SandboxLayout {
  name: string;
  dir: string;
  pkiDir: string;
  dataDir: string;
  logDir: string;
  stateFile: string;
  adminKubeconfig: string;
  agentKubeconfig: string;
  controllerManagerKubeconfig: string;
  schedulerKubeconfig: string;
}

const namePattern = /^[a-z0-9][a-z0-9-]{0,30}$/;

/** Where a named sandbox keeps its certs, etcd data, logs, kubeconfigs and state (outside the repo). */
export function sandboxLayout(name = process.env.PIPEOPS_SANDBOX_NAME ?? 'default'): SandboxLayout {
  if (!namePattern.test(name)) {
    throw new Error(`sandbox name "${name}" is invalid: use 1-31 lowercase letters, digits or dashes`);
  }
  const dir = process.env.PIPEOPS_SANDBOX_DIR ?? path.join(cacheDir(), 'sandbox', name);
  return {
    name,
    dir,
    pkiDir: path.join(dir, 'pki'),
    dataDir: path.join(dir, 'etcd-data'),
    logDir: path.join(dir, 'logs'),
    stateFile: path.join(dir, 'state.json'),
    adminKubeconfig: path.join(dir, 'admin.kubeconfig'),
    agentKubeconfig: path.join(dir, 'agent.kubeconfig'),
    controllerManagerKubeconfig: path.join(dir, 'kube-controller-manager.kubeconfig'),
    schedulerKubeconfig: path.join(dir, 'kube-scheduler.kubeconfig'),
  };
}

export function readState(layout: SandboxLayout): SandboxState | undefined {
  if (!existsSync(layout.stateFile)) return undefined;
  const parsed = sandboxStateSchema.safeParse(JSON.parse(readFileSync(layout.stateFile, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

export async function writeState(layout: SandboxLayout, state: SandboxState): Promise<void> {
  await writeFile(layout.stateFile, `${JSON.stringify(state, null, 2)}\n`);
}
