import 'server-only';
import { z } from 'zod';
import { ApiError } from '@/server/http/api-error';
import { withoutInternalAddresses } from '@/server/http/internal-addresses';
import type { SessionUser } from '@/server/auth/roles';
import { kubeConfig } from '@/server/kubernetes/client';
import { keepAwake, restartDeployment, scaleDeployment, wakeDeployment } from '@/server/runbook/actions';
import { buildBackup } from '@/server/runbook/backup';
import { RunbookError } from '@/server/runbook/errors';
import { defaultAgentNamespace } from '@/server/runbook/permissions';
import { applyRestore, previewRestore, type RestorePlanEntry, type RestoreResult } from '@/server/runbook/restore';
import { deploymentTargetSchema, type DeploymentTarget } from '@/server/runbook/schemas';

/** Path parameters of /api/workloads/{namespace}/{name}/…, validated like the runbook functions do. */
export const workloadParamsSchema = deploymentTargetSchema;

/** Scale body: the value is checked by the runbook (range depends on the workload), only the shape here. */
export const scaleBodySchema = z.object({ replicas: z.unknown() });

export const keepAwakeBodySchema = z.object({
  hours: z
    .number({ error: 'hours must be a whole number from 1 to 168' })
    .int({ error: 'hours must be a whole number from 1 to 168' })
    .min(1, { error: 'hours must be a whole number from 1 to 168' })
    .max(168, { error: 'hours must be a whole number from 1 to 168' }),
});

/** 1 MiB of YAML plus its JSON string escaping. */
export const restoreMaxBodyBytes = 1_200 * 1024;
export const restoreBodySchema = z.object({ yaml: z.string({ error: 'yaml must be the backup file as text' }) });

export interface ActionResponse {
  ok: true;
  message: string;
  warnings: string[];
}

/**
 * Runbook failures keep their status and message, minus internal addresses (the Kubernetes client's
 * errors quote the API server URL); everything else propagates to the route wrapper (a logged 500).
 */
export function toApiError(error: unknown): unknown {
  if (!(error instanceof RunbookError)) return error;
  const warnings = error.warnings.map(withoutInternalAddresses);
  return new ApiError(error.status, error.code, withoutInternalAddresses(error.message), warnings);
}

async function runbook<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw toApiError(error);
  }
}

function done(result: { message: string; warnings?: string[] }): ActionResponse {
  return { ok: true, message: result.message, warnings: result.warnings ?? [] };
}

export async function restartWorkload(user: SessionUser, target: DeploymentTarget): Promise<ActionResponse> {
  return done(await runbook(() => restartDeployment(kubeConfig(), target, user)));
}

export async function scaleWorkload(
  user: SessionUser,
  target: DeploymentTarget,
  replicas: unknown,
): Promise<ActionResponse> {
  return done(await runbook(() => scaleDeployment(kubeConfig(), { ...target, replicas }, user)));
}

export async function wakeWorkload(user: SessionUser, target: DeploymentTarget): Promise<ActionResponse> {
  return done(await runbook(() => wakeDeployment(kubeConfig(), target, user)));
}

export async function keepWorkloadAwake(
  user: SessionUser,
  target: DeploymentTarget,
  hours: number,
): Promise<ActionResponse> {
  return done(await runbook(() => keepAwake(kubeConfig(), { ...target, duration: `${hours}h` }, user)));
}

/** The backup as a download: re-appliable YAML, Secret values redacted. */
export async function downloadBackup(user: SessionUser): Promise<Response> {
  const backup = await runbook(() => buildBackup(kubeConfig(), { agentNamespace: defaultAgentNamespace() }, user));
  return new Response(backup.yaml, {
    headers: {
      'Content-Type': 'application/yaml; charset=utf-8',
      'Content-Disposition': `attachment; filename="${backup.filename}"`,
      'Cache-Control': 'no-store',
    },
  });
}

export async function restorePreview(yaml: string): Promise<{ objects: RestorePlanEntry[] }> {
  return {
    objects: await runbook(() => previewRestore(kubeConfig(), yaml, { agentNamespace: defaultAgentNamespace() })),
  };
}

export async function restoreApply(user: SessionUser, yaml: string): Promise<RestoreResult> {
  return runbook(() => applyRestore(kubeConfig(), yaml, user, { agentNamespace: defaultAgentNamespace() }));
}
