import 'server-only';
import type { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { parseDuration } from '@/agent/config/duration';
import { parseWorkloadState, restartedAtAnnotation, workloadAnnotations } from '@/agent/workloads/annotations';
import { activityAnnotations, replicasToRestore, wakeAnnotations } from '@/agent/workloads/ttl-patches';
import { audited, requireAdmin, type AuditScope, type RunbookOptions } from './audited';
import { deploymentRef, hpaTargeting, patchDeployment, patchScale, readManagedDeployment } from './deployment-access';
import { RunbookError } from './errors';
import {
  dashboardMaxReplicas,
  deploymentTargetSchema,
  parseInput,
  scaleInputSchema,
  type Actor,
  type DeploymentTarget,
} from './schemas';

export interface ActionResult {
  namespace: string;
  name: string;
  /** The audit message, e.g. `alice (admin) scaled demo/web from 1 to 3: ok`. */
  message: string;
  /** Non-fatal problems, e.g. the audit Event could not be written. */
  warnings: string[];
}
export interface RestartResult extends ActionResult {
  restartedAt: string;
}
export interface ScaleResult extends ActionResult {
  from: number;
  to: number;
}
export interface WakeResult extends ActionResult {
  from: number;
  to: number;
  keepAwakeUntil?: string;
}

/** RFC3339 to the second, the format kubectl writes into restartedAt. */
function rfc3339Now(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function scopeFor(action: AuditScope['action'], actor: Actor, target: DeploymentTarget, summary: string): AuditScope {
  return { action, actor, target: { apiVersion: 'apps/v1', kind: 'Deployment', ...target }, summary };
}

function result<T extends object>(
  target: DeploymentTarget,
  scope: AuditScope,
  value: T,
  warnings: string[],
): T & ActionResult {
  return { ...target, ...value, message: `${scope.actor.name} (${scope.actor.role}) ${scope.summary}: ok`, warnings };
}

/** `kubectl rollout restart`: a new pod-template annotation makes the Deployment roll out a new ReplicaSet. */
export async function restartDeployment(
  kc: KubeConfig,
  input: DeploymentTarget,
  actor: Actor,
  options?: RunbookOptions,
): Promise<RestartResult> {
  const who = requireAdmin(actor);
  const target = parseInput(deploymentTargetSchema, input);
  const scope = scopeFor('restart', who, target, `restarted ${target.namespace}/${target.name}`);
  const { value, warnings } = await audited(
    kc,
    scope,
    async (s) => {
      const deployment = await readManagedDeployment(kc, 'restart', target);
      s.target = deploymentRef(deployment);
      if (deployment.spec?.paused) {
        throw new RunbookError(
          409,
          `Deployment ${target.namespace}/${target.name} is paused; resume its rollout before restarting it`,
        );
      }
      const restartedAt = rfc3339Now();
      const body = { spec: { template: { metadata: { annotations: { [restartedAtAnnotation]: restartedAt } } } } };
      await patchDeployment(kc, 'restart', target, { body, strategy: 'strategic' });
      return { restartedAt };
    },
    options,
  );
  return result(target, scope, value, warnings);
}

function workloadLimit(
  annotations: Record<string, string> | undefined,
  globalLimit: number,
): { limit: number; why: string } {
  const own = parseWorkloadState(annotations).maxReplicas;
  if (own !== undefined && own < globalLimit)
    return { limit: own, why: `${workloadAnnotations.maxReplicas} on this Deployment` };
  return { limit: globalLimit, why: 'the dashboard limit' };
}

/** Sets replicas through the scale subresource; refused while an HPA owns the count. */
export async function scaleDeployment(
  kc: KubeConfig,
  input: DeploymentTarget & { replicas: unknown },
  actor: Actor,
  options?: RunbookOptions,
): Promise<ScaleResult> {
  const who = requireAdmin(actor);
  const target = parseInput(deploymentTargetSchema, input);
  const globalLimit = dashboardMaxReplicas();
  const scope = scopeFor('scale', who, target, `scaled ${target.namespace}/${target.name}`);
  const { value, warnings } = await audited(
    kc,
    scope,
    async (s) => {
      const { replicas } = parseInput(scaleInputSchema(globalLimit), input);
      s.summary = `scaled ${target.namespace}/${target.name} to ${replicas}`;
      const deployment = await readManagedDeployment(kc, 'scale', target);
      s.target = deploymentRef(deployment);
      const from = deployment.spec?.replicas ?? 1;
      s.summary = `scaled ${target.namespace}/${target.name} from ${from} to ${replicas}`;
      const { limit, why } = workloadLimit(deployment.metadata?.annotations, globalLimit);
      if (replicas > limit) {
        throw new RunbookError(400, `replicas must be an integer from 0 to ${limit} (${why}); got ${replicas}`);
      }
      const hpa = await hpaTargeting(kc, 'scale', target);
      if (hpa) {
        throw new RunbookError(
          409,
          `Deployment ${target.namespace}/${target.name} is scaled by the HorizontalPodAutoscaler ${hpa}; change the HPA's minReplicas/maxReplicas instead`,
        );
      }
      const to = await patchScale(kc, 'scale', target, replicas);
      return { from, to };
    },
    options,
  );
  return result(target, scope, value, warnings);
}

const keepAwakeMaxMs = 7 * 24 * 3_600_000;
export const keepAwakeInputSchema = deploymentTargetSchema.extend({
  duration: z.string({ error: 'duration is required, e.g. 2h or 30m' }).refine(
    (text) => {
      const ms = parseDuration(text);
      return ms !== undefined && ms >= 60_000 && ms <= keepAwakeMaxMs;
    },
    { error: (issue) => `duration must be from 1m to 168h (e.g. 2h or 30m); got ${JSON.stringify(issue.input)}` },
  ),
});
export type KeepAwakeInput = z.infer<typeof keepAwakeInputSchema>;

function keepAwakePatch(keepAwakeUntil: string | undefined): Record<string, string> {
  return keepAwakeUntil ? { [workloadAnnotations.keepAwakeUntil]: keepAwakeUntil } : {};
}

interface WakePlan {
  target: DeploymentTarget;
  keepAwakeUntil?: string;
}

/** Marks activity first (so the TTL controller does not put it back to sleep), then restores replicas. */
async function wakeWork(kc: KubeConfig, plan: WakePlan, s: AuditScope): Promise<Omit<WakeResult, keyof ActionResult>> {
  const action = s.action === 'keepAwake' ? 'keepAwake' : 'wake';
  const deployment = await readManagedDeployment(kc, action, plan.target);
  s.target = deploymentRef(deployment);
  const state = parseWorkloadState(deployment.metadata?.annotations);
  const from = deployment.spec?.replicas ?? 1;
  const wanted = from > 0 ? from : replicasToRestore(state.originalReplicas, dashboardMaxReplicas());
  // The same writes as the agent's own wake, so the TTL controller applies the minimum uptime from here.
  const annotations =
    from > 0
      ? { ...activityAnnotations(Date.now(), 'dashboard'), ...keepAwakePatch(plan.keepAwakeUntil) }
      : wakeAnnotations(Date.now(), 'dashboard', plan.keepAwakeUntil);
  await patchDeployment(kc, action, plan.target, { body: { metadata: { annotations } }, strategy: 'merge' });
  const to = from === wanted ? from : await patchScale(kc, action, plan.target, wanted);
  return { from, to, ...(plan.keepAwakeUntil ? { keepAwakeUntil: plan.keepAwakeUntil } : {}) };
}

/** Wakes a workload the TTL controller scaled to zero: back to its original replicas (at least 1). */
export async function wakeDeployment(
  kc: KubeConfig,
  input: DeploymentTarget,
  actor: Actor,
  options?: RunbookOptions,
): Promise<WakeResult> {
  const who = requireAdmin(actor);
  const target = parseInput(deploymentTargetSchema, input);
  const scope = scopeFor('wake', who, target, `woke ${target.namespace}/${target.name}`);
  const { value, warnings } = await audited(
    kc,
    scope,
    async (s) => {
      const woke = await wakeWork(kc, { target }, s);
      s.summary = `woke ${target.namespace}/${target.name} (replicas ${woke.from} → ${woke.to})`;
      return woke;
    },
    options,
  );
  return result(target, scope, value, warnings);
}

/** Keeps a workload awake until now + duration (the TTL controller honours it), waking it if asleep. */
export async function keepAwake(
  kc: KubeConfig,
  input: KeepAwakeInput,
  actor: Actor,
  options?: RunbookOptions,
): Promise<WakeResult> {
  const who = requireAdmin(actor);
  const target = parseInput(deploymentTargetSchema, input);
  const scope = scopeFor('keepAwake', who, target, `kept ${target.namespace}/${target.name} awake`);
  const { value, warnings } = await audited(
    kc,
    scope,
    async (s) => {
      const { duration } = parseInput(keepAwakeInputSchema, input);
      const keepAwakeUntil = rfc3339Now(new Date(Date.now() + (parseDuration(duration) ?? 0)));
      s.summary = `kept ${target.namespace}/${target.name} awake until ${keepAwakeUntil}`;
      return wakeWork(kc, { target, keepAwakeUntil }, s);
    },
    options,
  );
  return result(target, scope, value, warnings);
}
