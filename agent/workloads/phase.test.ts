import { describe, expect, it } from 'vitest';
import { workloadPhase, type PhaseInput } from './phase';

const base: PhaseInput = { desired: 2, ready: 2, pods: [], state: { problems: [] } };

describe('workloadPhase', () => {
  it('is Running when every desired replica is ready', () => {
    expect(workloadPhase(base)).toEqual({ phase: 'Running', message: '2/2 ready' });
  });

  it('is ScaledDown at zero replicas, saying why and when', () => {
    const state = { problems: [], scaledDownAt: '2026-11-22T06:00:00Z', scaleDownReason: 'idle for 30m' };
    expect(workloadPhase({ ...base, desired: 0, ready: 0, state })).toEqual({
      phase: 'ScaledDown',
      message: 'idle for 30m at 2026-11-22T06:00:00Z',
    });
    expect(workloadPhase({ ...base, desired: 0, ready: 0 }).message).toBe('scaled to 0');
  });

  it('is Waking during an agent wake and Pending otherwise, naming a waiting pod', () => {
    const pods = [{ name: 'web-1', reason: 'ContainerCreating' }];
    expect(workloadPhase({ ...base, ready: 1, pods, waking: true })).toEqual({
      phase: 'Waking',
      message: 'waking up: 1/2 ready; pod web-1: ContainerCreating',
    });
    expect(workloadPhase({ ...base, ready: 1 })).toEqual({ phase: 'Pending', message: '1/2 ready' });
  });

  it('is Error for pods that cannot recover on their own and for unusable annotations', () => {
    const pods = [{ name: 'web-1', reason: 'ImagePullBackOff' }];
    expect(workloadPhase({ ...base, ready: 0, pods })).toEqual({
      phase: 'Error',
      message: 'pod web-1: ImagePullBackOff',
    });
    const problems = [{ annotation: 'pipeops.io/ttl', value: 'soon', message: 'pipeops.io/ttl="soon" is bad' }];
    expect(workloadPhase({ ...base, state: { problems } })).toEqual({
      phase: 'Error',
      message: 'pipeops.io/ttl="soon" is bad',
    });
  });
});

describe('isWaking', () => {
  it('is true only shortly after a wake while replicas are not all ready', async () => {
    const { isWaking } = await import('./phase');
    const now = Date.parse('2026-01-01T00:05:00Z');
    const state = { wokenAt: '2026-01-01T00:04:00Z' };
    expect(isWaking(state, { desired: 1, ready: 0 }, now)).toBe(true);
    expect(isWaking(state, { desired: 1, ready: 1 }, now)).toBe(false);
    expect(isWaking({}, { desired: 1, ready: 0 }, now)).toBe(false);
    expect(isWaking(state, { desired: 1, ready: 0 }, now + 3_600_000)).toBe(false);
  });
});
