import { workloadAnnotations as a } from './annotations';

/**
 * The annotation writes shared by the TTL controller, the wake-on-connect path, the dashboard's wake and
 * keep-awake actions and the activity API: one definition, so every writer leaves the same state behind
 * and the controller reads it the same way. Values are merge-patch maps (`null` deletes a key).
 */
export type AnnotationPatch = Record<string, string | null>;

/** RFC3339 in UTC with milliseconds: the controller compares these, so second rounding would skew TTLs. */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString();
}

/** Activity seen now from `source` (e.g. `tunnel:web`, `dashboard`, `api:ci`). */
export function activityAnnotations(now: number, source: string): AnnotationPatch {
  return { [a.lastActivity]: timestamp(now), [a.lastActivitySource]: source };
}

/**
 * A wake: activity first (so the controller does not put it straight back to sleep), the scaled-down
 * marker removed (so the scale-up is not mistaken for another controller's) and `woken-at` set, from
 * which the minimum uptime counts.
 */
export function wakeAnnotations(now: number, source: string, keepAwakeUntil?: string): AnnotationPatch {
  return {
    ...activityAnnotations(now, source),
    [a.wokenAt]: timestamp(now),
    [a.scaledDownAt]: null,
    [a.scaleDownReason]: null,
    ...(keepAwakeUntil ? { [a.keepAwakeUntil]: keepAwakeUntil } : {}),
  };
}

/** Written before the scale to 0, so a wake (or an agent restart) knows what to restore and why. */
export function scaleDownAnnotations(now: number, originalReplicas: number, reason: string): AnnotationPatch {
  return {
    [a.originalReplicas]: String(originalReplicas),
    [a.scaledDownAt]: timestamp(now),
    [a.scaleDownReason]: reason,
  };
}

/** The replica count a wake restores: what was recorded, at least 1, at most `limit`. */
export function replicasToRestore(originalReplicas: number | undefined, limit: number): number {
  return Math.min(Math.max(originalReplicas ?? 1, 1), Math.max(limit, 1));
}
