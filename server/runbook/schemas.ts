import 'server-only';
import { z } from 'zod';
import { RunbookError } from './errors';

export const defaultMaxReplicas = 50;
export const maxReplicasCeiling = 1000;

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const namespaceSchema = z
  .string({ error: 'namespace is required (a Kubernetes namespace name)' })
  .max(63, { error: 'namespace must be at most 63 characters' })
  .regex(dnsLabel, { error: (issue) => `namespace ${JSON.stringify(issue.input)} is not a valid namespace name` });

const nameSchema = z
  .string({ error: 'name is required (a Deployment name)' })
  .max(253, { error: 'name must be at most 253 characters' })
  .regex(dnsSubdomain, { error: (issue) => `name ${JSON.stringify(issue.input)} is not a valid Deployment name` });

export const deploymentTargetSchema = z.object({ namespace: namespaceSchema, name: nameSchema });
export type DeploymentTarget = z.infer<typeof deploymentTargetSchema>;

export const actorSchema = z.object({
  name: z.string().min(1).max(256),
  role: z.enum(['admin', 'viewer']),
});
export type Actor = z.infer<typeof actorSchema>;

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'a list' : `a ${typeof value}`;
}

/** Whole numbers only; digit strings are accepted because HTML forms send strings. */
function toReplicas(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\s*\d{1,9}\s*$/.test(value)) return Number(value);
  return undefined;
}

/** `replicas` between 0 and `limit`; every refusal names the field, the value and the allowed range. */
export function replicasSchema(limit: number): z.ZodType<number> {
  return z.unknown().transform((value, ctx): number => {
    const range = `an integer from 0 to ${limit}`;
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: `replicas is required: ${range}` });
      return z.NEVER;
    }
    const replicas = toReplicas(value);
    if (replicas === undefined || replicas > limit) {
      ctx.addIssue({ code: 'custom', message: `replicas must be ${range}; got ${describeValue(value)}` });
      return z.NEVER;
    }
    return replicas;
  });
}

export function scaleInputSchema(limit: number = dashboardMaxReplicas()): z.ZodType<ScaleInput> {
  return z.object({ namespace: namespaceSchema, name: nameSchema, replicas: replicasSchema(limit) });
}
export interface ScaleInput extends DeploymentTarget {
  replicas: number;
}

/** The global scale limit from `PIPEOPS_DASHBOARD_MAX_REPLICAS`; a bad value is a configuration error. */
export function dashboardMaxReplicas(env: Record<string, string | undefined> = process.env): number {
  const raw = env.PIPEOPS_DASHBOARD_MAX_REPLICAS;
  if (raw === undefined || raw.trim() === '') return defaultMaxReplicas;
  const parsed = z.coerce.number().int().min(1).max(maxReplicasCeiling).safeParse(raw.trim());
  if (!parsed.success) {
    throw new Error(
      `config: PIPEOPS_DASHBOARD_MAX_REPLICAS=${JSON.stringify(raw)} is not allowed; use an integer from 1 to ${maxReplicasCeiling}`,
    );
  }
  return parsed.data;
}

/** Parses input or throws a 400 RunbookError whose message lists every problem. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new RunbookError(400, result.error.issues.map((issue) => issue.message).join('; '));
}
