import type { WorkloadState } from './annotations';

export type WorkloadPhase = 'Running' | 'ScaledDown' | 'Waking' | 'Pending' | 'Error';

export interface PhaseInput {
  desired: number;
  ready: number;
  pods: { name: string; reason?: string }[];
  state: Pick<WorkloadState, 'scaledDownAt' | 'scaleDownReason' | 'problems' | 'ttlSkipped'>;
  /** A wake started by the agent that has not seen all replicas ready yet. */
  waking?: boolean;
}

/** Pod reasons that will not fix themselves: the workload needs a human, not more waiting. */
const stuckReasons = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** The phase the dashboard and /api show, with a message a person can act on. */
export function workloadPhase(input: PhaseInput): { phase: WorkloadPhase; message: string } {
  const stuck = input.pods.find((pod) => pod.reason && stuckReasons.has(pod.reason));
  if (stuck) return { phase: 'Error', message: `pod ${stuck.name}: ${stuck.reason}` };
  const problem = input.state.problems[0];
  if (problem) return { phase: 'Error', message: problem.message };
  if (input.desired === 0) {
    const why = input.state.scaleDownReason ?? (input.state.scaledDownAt ? 'TTL expired' : 'scaled to 0');
    return { phase: 'ScaledDown', message: input.state.scaledDownAt ? `${why} at ${input.state.scaledDownAt}` : why };
  }
  if (input.ready >= input.desired) {
    // A TTL the agent cannot apply (HPA, a competing controller) is said next to the healthy state.
    const skipped = input.state.ttlSkipped ? `; TTL paused (${input.state.ttlSkipped})` : '';
    return { phase: 'Running', message: `${input.ready}/${input.desired} ready${skipped}` };
  }
  const progress = `${input.ready}/${input.desired} ready`;
  const waiting = input.pods.find((pod) => pod.reason);
  const detail = waiting ? `; pod ${waiting.name}: ${waiting.reason}` : '';
  return input.waking
    ? { phase: 'Waking', message: `waking up: ${progress}${detail}` }
    : { phase: 'Pending', message: `${progress}${detail}` };
}

/** How long after a wake a not-yet-ready workload still counts as waking rather than stuck. */
const wakingWindowMs = 10 * 60_000;

/**
 * Whether a workload is coming back from a wake (agent, dashboard or activity API): woken recently and not
 * all replicas ready yet. Derived from the `woken-at` annotation, so every dashboard replica agrees.
 */
export function isWaking(
  state: Pick<WorkloadState, 'wokenAt'>,
  replicas: { desired: number; ready: number },
  now: number = Date.now(),
): boolean {
  if (!state.wokenAt || replicas.desired === 0 || replicas.ready >= replicas.desired) return false;
  const since = now - Date.parse(state.wokenAt);
  return since >= 0 && since < wakingWindowMs;
}
