import { parseDuration } from '../config/duration';

/**
 * The contract between the TTL controller, the dashboard and users: which Deployments the agent manages
 * and the state it keeps on them. State lives in annotations so an agent restart loses nothing.
 */

/** A label (not an annotation) so watches and lists can select managed workloads server-side. */
export const managedLabel = 'pipeops.io/managed';
export const managedSelector = `${managedLabel}=true`;

export const workloadAnnotations = {
  /** Opt-in to scale-to-zero after this much inactivity, e.g. `30m`. */
  ttl: 'pipeops.io/ttl',
  /** Replicas before the agent scaled the workload to zero; a wake restores this. */
  originalReplicas: 'pipeops.io/original-replicas',
  /** RFC3339 time of the last observed activity. */
  lastActivity: 'pipeops.io/last-activity',
  lastActivitySource: 'pipeops.io/last-activity-source',
  /** RFC3339 time the agent scaled the workload to zero. */
  scaledDownAt: 'pipeops.io/scaled-down-at',
  scaleDownReason: 'pipeops.io/scale-down-reason',
  /** RFC3339 time until which the TTL controller must not scale the workload down. */
  keepAwakeUntil: 'pipeops.io/keep-awake-until',
  /** Per-workload upper bound for dashboard scaling (lower than the global limit to take effect). */
  maxReplicas: 'pipeops.io/max-replicas',
  /** After a wake the workload stays up at least this long, whatever its TTL (anti-flap), e.g. `2m`. */
  minUptime: 'pipeops.io/min-uptime',
  /** RFC3339 time of the last wake (agent or dashboard); the minimum uptime counts from here. */
  wokenAt: 'pipeops.io/woken-at',
  /**
   * Why the TTL controller leaves this workload alone, written by the agent: `hpa: …` (cleared when the HPA
   * goes) or `conflict: …` (another controller scaled it back; remove the annotation to resume).
   */
  ttlSkipped: 'pipeops.io/ttl-skipped',
} as const;

/** Set by `kubectl rollout restart` and the dashboard's restart on the pod template. */
export const restartedAtAnnotation = 'kubectl.kubernetes.io/restartedAt';

export interface AnnotationProblem {
  annotation: string;
  value: string;
  message: string;
}

export interface WorkloadState {
  ttl?: { text: string; ms: number };
  originalReplicas?: number;
  lastActivity?: string;
  lastActivitySource?: string;
  scaledDownAt?: string;
  scaleDownReason?: string;
  keepAwakeUntil?: string;
  maxReplicas?: number;
  minUptime?: { text: string; ms: number };
  wokenAt?: string;
  ttlSkipped?: string;
  /** Annotations present but unusable: shown on the dashboard instead of silently ignored. */
  problems: AnnotationProblem[];
}

type Annotations = Record<string, string> | undefined;

// RFC3339 with optional fraction and a zone; Date.parse alone accepts far too much.
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

const maxDurationMs = 365 * 24 * 3_600_000;

/** A TTL (positive) or minimum uptime (0 allowed) of at most a year; anything else is a problem. */
function readDuration(
  key: string,
  annotations: Annotations,
  problems: AnnotationProblem[],
  allowZero: boolean,
): { text: string; ms: number } | undefined {
  const value = annotations?.[key];
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms > maxDurationMs || (ms === 0 && !allowZero)) {
    const what = allowZero ? 'a duration' : 'a positive duration';
    problems.push({
      annotation: key,
      value,
      message: `${key}="${value}" is not ${what} such as 300s, 30m, 1h or 1h30m (at most 8760h)`,
    });
    return undefined;
  }
  return { text: value.trim(), ms };
}

function readCount(key: string, annotations: Annotations, problems: AnnotationProblem[]): number | undefined {
  const value = annotations?.[key];
  if (value === undefined) return undefined;
  if (/^\d{1,9}$/.test(value.trim())) return Number(value.trim());
  problems.push({ annotation: key, value, message: `${key}="${value}" is not a whole number (0 or more)` });
  return undefined;
}

function readTime(key: string, annotations: Annotations, problems: AnnotationProblem[]): string | undefined {
  const value = annotations?.[key];
  if (value === undefined) return undefined;
  if (rfc3339.test(value.trim()) && !Number.isNaN(Date.parse(value))) return value.trim();
  problems.push({ annotation: key, value, message: `${key}="${value}" is not an RFC3339 time (2025-01-31T12:00:00Z)` });
  return undefined;
}

/** Parses the agent's workload annotations; invalid values are reported in `problems`, never thrown. */
export function parseWorkloadState(annotations: Annotations): WorkloadState {
  const problems: AnnotationProblem[] = [];
  const a = workloadAnnotations;
  const state: WorkloadState = {
    ttl: readDuration(a.ttl, annotations, problems, false),
    originalReplicas: readCount(a.originalReplicas, annotations, problems),
    lastActivity: readTime(a.lastActivity, annotations, problems),
    lastActivitySource: annotations?.[a.lastActivitySource],
    scaledDownAt: readTime(a.scaledDownAt, annotations, problems),
    scaleDownReason: annotations?.[a.scaleDownReason],
    keepAwakeUntil: readTime(a.keepAwakeUntil, annotations, problems),
    maxReplicas: readCount(a.maxReplicas, annotations, problems),
    minUptime: readDuration(a.minUptime, annotations, problems, true),
    wokenAt: readTime(a.wokenAt, annotations, problems),
    ttlSkipped: annotations?.[a.ttlSkipped],
    problems,
  };
  // Drop absent keys so consumers (and snapshots) see only what is set.
  return Object.fromEntries(Object.entries(state).filter(([, v]) => v !== undefined)) as unknown as WorkloadState;
}
