import type { AnnotationProblem, WorkloadState } from '../workloads/annotations';

/** What the controller knows about one managed Deployment at one instant. */
export interface DecisionInput {
  now: number;
  /** spec.replicas of the Deployment (what it is asked to run). */
  replicas: number;
  state: WorkloadState;
  /** The HPA that owns the replica count, if any. */
  hpa?: string;
  /** Activity seen by this agent and maybe not yet written to the annotations (debounced). */
  recentActivity?: { at: number; source: string };
  /** A tunnel connection to the workload is open right now. */
  connected?: boolean;
  defaultMinUptimeMs: number;
}

export type Decision =
  | { kind: 'ignore'; reason: string }
  | { kind: 'invalid'; problems: AnnotationProblem[] }
  | { kind: 'skip'; reason: string }
  | { kind: 'initialise' }
  | { kind: 'externalWake' }
  | { kind: 'wake'; source: string }
  | { kind: 'asleep' }
  | { kind: 'wait'; at: number; heldBy: 'ttl' | 'min-uptime' | 'keep-awake' }
  | { kind: 'scaleDown'; idleMs: number; flapPrevented: boolean; reason: string };

const ttlProblemKeys = new Set(['pipeops.io/ttl', 'pipeops.io/min-uptime', 'pipeops.io/last-activity']);

function time(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The newest activity: from the annotation or from this agent's memory. */
export function lastActivityOf(input: DecisionInput): { at: number; source: string } | undefined {
  const annotated = time(input.state.lastActivity);
  const memory = input.recentActivity;
  if (annotated === undefined) return memory;
  if (memory && memory.at > annotated) return memory;
  return { at: annotated, source: input.state.lastActivitySource ?? 'unknown' };
}

function asleep(input: DecisionInput): Decision {
  const scaledDownAt = time(input.state.scaledDownAt);
  const activity = lastActivityOf(input);
  // Activity recorded after the scale-down (activity API, another agent replica): someone wants it back.
  if (scaledDownAt !== undefined && activity && activity.at > scaledDownAt) {
    return { kind: 'wake', source: activity.source };
  }
  return { kind: 'asleep' };
}

/** The earliest instant it may sleep, and what holds it until then. */
function deadline(
  input: DecisionInput,
  lastActivity: number,
  ttlMs: number,
): { at: number; heldBy: 'ttl' | 'min-uptime' | 'keep-awake' } {
  let result = { at: lastActivity + ttlMs, heldBy: 'ttl' as 'ttl' | 'min-uptime' | 'keep-awake' };
  const wokenAt = time(input.state.wokenAt);
  const minUptime = input.state.minUptime?.ms ?? input.defaultMinUptimeMs;
  if (wokenAt !== undefined && wokenAt + minUptime > result.at)
    result = { at: wokenAt + minUptime, heldBy: 'min-uptime' };
  const keepAwake = time(input.state.keepAwakeUntil);
  if (keepAwake !== undefined && keepAwake > result.at) result = { at: keepAwake, heldBy: 'keep-awake' };
  return result;
}

function describeIdle(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes}m` : `${(minutes / 60).toFixed(1)}h`;
}

function awake(input: DecisionInput, ttl: { text: string; ms: number }): Decision {
  // Our own scale-down marker on a running workload: someone scaled it up without us (kubectl, a restore).
  if (input.state.scaledDownAt !== undefined) return { kind: 'externalWake' };
  const activity = lastActivityOf(input);
  if (!activity) return { kind: 'initialise' };
  if (input.connected) return { kind: 'wait', at: input.now + ttl.ms, heldBy: 'ttl' };
  const until = deadline(input, activity.at, ttl.ms);
  // `now - lastActivity > ttl`, strictly: a deadline is only reached once it has passed.
  if (input.now <= until.at) return { kind: 'wait', at: until.at + 1, heldBy: until.heldBy };
  const idleMs = input.now - activity.at;
  return {
    kind: 'scaleDown',
    idleMs,
    // The TTL alone would have put it to sleep earlier: the minimum uptime prevented a 1→0→1 flap.
    flapPrevented: activity.at + ttl.ms < until.at && until.heldBy === 'min-uptime',
    reason: `no activity for ${describeIdle(idleMs)} (TTL ${ttl.text}; last: ${activity.source})`,
  };
}

/**
 * The TTL decision for one workload, a pure function of its annotations, replicas, HPA and the agent's
 * in-memory activity. Nothing here reads status or the pod template, so status churn can never flip a
 * decision (the KubeRDE 1→0→1 bug came from diffing specs).
 */
export function decide(input: DecisionInput): Decision {
  const { state } = input;
  const problems = state.problems.filter((problem) => ttlProblemKeys.has(problem.annotation));
  if (problems.length > 0) return { kind: 'invalid', problems };
  if (!state.ttl) return { kind: 'ignore', reason: 'no pipeops.io/ttl annotation' };
  if (input.replicas === 0) return asleep(input);
  if (input.hpa) {
    return {
      kind: 'skip',
      reason: `hpa: the HorizontalPodAutoscaler ${input.hpa} owns the replica count; TTL scale-to-zero is off while it exists`,
    };
  }
  if (state.ttlSkipped?.startsWith('conflict:')) return { kind: 'skip', reason: state.ttlSkipped };
  return awake(input, state.ttl);
}
