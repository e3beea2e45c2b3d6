import 'server-only';
import { timingSafeEqual, createHash } from 'node:crypto';
import { AppsV1Api, ApiException, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { managedLabel, managedSelector, parseWorkloadState } from '@/agent/workloads/annotations';
import { activityAnnotations } from '@/agent/workloads/ttl-patches';
import { assertWritable } from '@/server/auth/read-only';
import { ApiError } from '@/server/http/api-error';

/** `Authorization: Bearer <PIPEOPS_ACTIVITY_TOKEN>` lets tools (CI, IDE plugins) report activity. */
export const activityTokenEnvSchema = z.object({
  PIPEOPS_ACTIVITY_TOKEN: z
    .string()
    .min(24, { error: 'PIPEOPS_ACTIVITY_TOKEN must be at least 24 characters (e.g. openssl rand -hex 24)' })
    .max(512, { error: 'PIPEOPS_ACTIVITY_TOKEN must be at most 512 characters' })
    .optional(),
});

export const activityBodySchema = z
  .strictObject({
    source: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, { error: 'source must be 1–63 lowercase letters, digits, ".", "_" or "-"' })
      .optional(),
  })
  .default({});

/** The configured token, or an ApiError saying why bearer tokens cannot be used. */
export function activityToken(env: Record<string, string | undefined> = process.env): string {
  const parsed = activityTokenEnvSchema.safeParse({ PIPEOPS_ACTIVITY_TOKEN: env.PIPEOPS_ACTIVITY_TOKEN || undefined });
  if (!parsed.success) {
    throw new ApiError(503, 'misconfigured', parsed.error.issues[0]?.message ?? 'PIPEOPS_ACTIVITY_TOKEN is invalid');
  }
  const token = parsed.data.PIPEOPS_ACTIVITY_TOKEN;
  if (!token) {
    throw new ApiError(401, 'unauthorized', 'bearer tokens are not enabled here (PIPEOPS_ACTIVITY_TOKEN is unset)');
  }
  return token;
}

/** Constant-time comparison (hashing first makes the lengths equal, so the length does not leak either). */
export function tokenMatches(given: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The bearer token of the request, undefined without an Authorization header; 401 for other schemes. */
export function bearerOf(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new ApiError(401, 'unauthorized', 'Authorization must be "Bearer <token>"');
  return match[1];
}

export interface ActivityResult {
  ok: true;
  namespace: string;
  name: string;
  lastActivity: string;
  source: string;
  /** True when it was asleep: the agent's TTL controller wakes it because of this activity. */
  waking: boolean;
  message: string;
}

/**
 * Records activity on a managed TTL workload (`last-activity` = now, source `api:<source>`). A sleeping
 * workload is woken by the agent's controller, which sees activity newer than its scale-down.
 */
export async function recordActivity(
  kc: KubeConfig,
  target: { namespace: string; name: string },
  source: string,
): Promise<ActivityResult> {
  assertWritable();
  const apps = kc.makeApiClient(AppsV1Api);
  const deployment = await apps.readNamespacedDeployment(target).catch((error: unknown) => {
    if (error instanceof ApiException && error.code === 404) {
      throw new ApiError(404, 'not_found', `Deployment ${target.namespace}/${target.name} not found`);
    }
    throw error;
  });
  if (deployment.metadata?.labels?.[managedLabel] !== 'true') {
    throw new ApiError(
      409,
      'conflict',
      `Deployment ${target.namespace}/${target.name} is not managed (label ${managedSelector})`,
    );
  }
  const state = parseWorkloadState(deployment.metadata.annotations);
  if (!state.ttl) {
    throw new ApiError(
      409,
      'conflict',
      `Deployment ${target.namespace}/${target.name} has no valid pipeops.io/ttl annotation`,
    );
  }
  const now = Date.now();
  const patch = activityAnnotations(now, `api:${source}`);
  await apps.patchNamespacedDeployment(
    { ...target, body: { metadata: { annotations: patch } }, fieldManager: 'pipeops-activity-api' },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const waking = (deployment.spec?.replicas ?? 1) === 0;
  return {
    ok: true,
    ...target,
    lastActivity: new Date(now).toISOString(),
    source: `api:${source}`,
    waking,
    message: waking ? 'activity recorded; the agent is waking the workload' : 'activity recorded',
  };
}
