import type { WorkloadState } from './annotations';

export type WorkloadPhase = 'Running' | 'ScaledDown' | 'Waking' | 'Pending' | 'Error';

export interface PhaseInput {
  desired: number;
  ready: number;
  pods: { name: string; reason?: string }[];
  state: Pick<WorkloadState, 'scaledDownAt' | 'scaleDownReason' | 'problems'>;
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
  if (input.ready >= input.desired) return { phase: 'Running', message: `${input.ready}/${input.desired} ready` };
  const progress = `${input.ready}/${input.desired} ready`;
  const waiting = input.pods.find((pod) => pod.reason);
  const detail = waiting ? `; pod ${waiting.name}: ${waiting.reason}` : '';
  return input.waking
    ? { phase: 'Waking', message: `waking up: ${progress}${detail}` }
    : { phase: 'Pending', message: `${progress}${detail}` };
}
