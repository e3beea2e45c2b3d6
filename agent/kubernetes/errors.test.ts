import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { describeKubeError, statusOf } from './errors';

describe('Kubernetes error shapes (client-node 2.x)', () => {
  it('reads an API client ApiException: its code and the Status message in its body', () => {
    const error = new ApiException(
      403,
      'Unknown API Status Code!',
      '{"kind":"Status","message":"forbidden: nope"}',
      {},
    );
    expect(statusOf(error)).toBe(403);
    expect(describeKubeError(error)).toBe('HTTP 403: forbidden: nope');
    expect(describeKubeError(new ApiException(500, 'x', 'not json', {}))).toBe('HTTP 500');
  });

  it('reads a refused WATCH: a plain Error with statusCode', () => {
    const error = Object.assign(new Error('Forbidden'), { statusCode: 403 });
    expect(statusOf(error)).toBe(403);
    expect(describeKubeError(error)).toBe('HTTP 403: Forbidden');
  });

  it('leaves network failures without a status and says why undici failed', () => {
    const error = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:6443') });
    expect(statusOf(error)).toBeUndefined();
    expect(describeKubeError(error)).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:6443');
    expect(describeKubeError(new Error('socket hang up'))).toBe('socket hang up');
  });
});
