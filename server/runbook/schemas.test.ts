import { describe, expect, it } from 'vitest';
import { RunbookError } from './errors';
import { dashboardMaxReplicas, parseInput, scaleInputSchema } from './schemas';

const target = { namespace: 'demo', name: 'web' };

function errorOf(input: unknown, limit = 50): RunbookError {
  try {
    parseInput(scaleInputSchema(limit), input);
  } catch (error) {
    if (error instanceof RunbookError) return error;
    throw error;
  }
  throw new Error('expected a RunbookError');
}

describe('scaleInputSchema', () => {
  it.each([
    [0, 0],
    [3, 3],
    [50, 50],
    ['7', 7],
  ])('accepts %j', (replicas, expected) => {
    expect(parseInput(scaleInputSchema(50), { ...target, replicas })).toEqual({ ...target, replicas: expected });
  });

  it.each([
    [-1, 'replicas must be an integer from 0 to 50; got -1'],
    [1.5, 'replicas must be an integer from 0 to 50; got 1.5'],
    ['abc', 'replicas must be an integer from 0 to 50; got "abc"'],
    [100000, 'replicas must be an integer from 0 to 50; got 100000'],
    ['', 'replicas must be an integer from 0 to 50; got ""'],
    [null, 'replicas must be an integer from 0 to 50; got null'],
    [[3], 'replicas must be an integer from 0 to 50; got a list'],
  ])('refuses %j with a 400 naming field, value and range', (replicas, message) => {
    const error = errorOf({ ...target, replicas });
    expect(error.status).toBe(400);
    expect(error.message).toBe(message);
  });

  it('says when replicas is missing', () => {
    expect(errorOf(target).message).toBe('replicas is required: an integer from 0 to 50');
  });

  it('validates the target names too', () => {
    expect(errorOf({ namespace: 'Bad_NS', name: 'web', replicas: 1 }).message).toBe(
      'namespace "Bad_NS" is not a valid namespace name',
    );
    expect(errorOf({ namespace: 'demo', replicas: 1 }).message).toBe('name is required (a Deployment name)');
  });

  it('uses the configured limit in the message', () => {
    expect(errorOf({ ...target, replicas: 6 }, 5).message).toBe('replicas must be an integer from 0 to 5; got 6');
  });
});

describe('dashboardMaxReplicas', () => {
  it('defaults to 50 and reads PIPEOPS_DASHBOARD_MAX_REPLICAS', () => {
    expect(dashboardMaxReplicas({})).toBe(50);
    expect(dashboardMaxReplicas({ PIPEOPS_DASHBOARD_MAX_REPLICAS: '200' })).toBe(200);
  });

  it.each(['0', '1001', 'many', '2.5'])('refuses %j naming the key and the range', (value) => {
    expect(() => dashboardMaxReplicas({ PIPEOPS_DASHBOARD_MAX_REPLICAS: value })).toThrow(
      `config: PIPEOPS_DASHBOARD_MAX_REPLICAS="${value}" is not allowed; use an integer from 1 to 1000`,
    );
  });
});
