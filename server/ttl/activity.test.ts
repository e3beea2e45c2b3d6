import { describe, expect, it } from 'vitest';
import { activityBodySchema, activityToken, bearerOf, tokenMatches } from './activity';

describe('activity API auth and input', () => {
  it('reads Bearer tokens and refuses other schemes', () => {
    expect(bearerOf(null)).toBeUndefined();
    expect(bearerOf('Bearer abc')).toBe('abc');
    expect(() => bearerOf('Basic abc')).toThrow(/Authorization must be "Bearer <token>"/);
  });

  it('validates PIPEOPS_ACTIVITY_TOKEN and compares in constant time', () => {
    expect(() => activityToken({})).toThrow(/not enabled here \(PIPEOPS_ACTIVITY_TOKEN is unset\)/);
    expect(() => activityToken({ PIPEOPS_ACTIVITY_TOKEN: 'short' })).toThrow(/at least 24 characters/);
    const token = 'x'.repeat(32);
    expect(activityToken({ PIPEOPS_ACTIVITY_TOKEN: token })).toBe(token);
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches('y'.repeat(32), token)).toBe(false);
    expect(tokenMatches('x', token)).toBe(false);
  });

  it('accepts an optional source and rejects anything else', () => {
    expect(activityBodySchema.parse({})).toEqual({});
    expect(activityBodySchema.parse({ source: 'ci' })).toEqual({ source: 'ci' });
    expect(activityBodySchema.safeParse({ source: 'Bad Source' }).success).toBe(false);
    expect(activityBodySchema.safeParse({ other: 1 }).success).toBe(false);
  });
});
