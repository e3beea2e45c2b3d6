import { describe, expect, it } from 'vitest';
import { internalAddressMarker } from '../logging/internal-addresses';
import { bearerToken, endpointAccess } from './endpoint-access';
import { redactInternals } from './endpoints';

describe('endpointAccess (PIPEOPS_METRICS_TOKEN)', () => {
  it('without a configured token everyone gets the redacted view', () => {
    expect(endpointAccess(undefined, undefined)).toBe('redacted');
    expect(endpointAccess('Bearer anything', '')).toBe('redacted');
    expect(endpointAccess('Bearer anything', '  ')).toBe('redacted');
  });

  it('with a configured token only the exact Bearer token gets the full view; anything else is refused', () => {
    expect(endpointAccess('Bearer s3cret-token', 's3cret-token')).toBe('full');
    expect(endpointAccess('bearer s3cret-token', 's3cret-token')).toBe('full');
    expect(endpointAccess(undefined, 's3cret-token')).toBe('refused');
    expect(endpointAccess('Bearer s3cret-toke', 's3cret-token')).toBe('refused');
    expect(endpointAccess('Bearer s3cret-token-longer', 's3cret-token')).toBe('refused');
    expect(endpointAccess('Basic s3cret-token', 's3cret-token')).toBe('refused');
    expect(endpointAccess('s3cret-token', 's3cret-token')).toBe('refused');
  });

  it('bearerToken takes one credential after the scheme', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken('')).toBeUndefined();
    expect(bearerToken(null)).toBeUndefined();
  });
});

describe('redactInternals', () => {
  const detailed = {
    status: 'ready',
    hops: {
      control_plane: {
        registration: { state: 'pending', lastError: 'connect ECONNREFUSED 10.96.0.1:443' },
        link: { state: 'backoff', last_error: 'getaddrinfo ENOTFOUND api.pipeops.internal' },
      },
      kubernetes_api: { status: 'degraded', lastError: 'request to https://10.96.0.1:443/version failed' },
      tunnel: {
        status: 'connected',
        serverAddr: 'http://tunnel.example.com:8080',
        fingerprint: 'SHA256:abcdefghijklmnop',
        forwards: [
          { name: 'kubernetes-api', target: 'kubernetes.default.svc:443', remote_port: 40001, state: 'bound' },
        ],
        recent_errors: [{ at: '2026-12-02T00:00:00.000Z', message: 'dial [fd00::1]:6443: refused' }],
      },
    },
  };

  it('keeps every state and drops addresses, targets and the fingerprint', () => {
    const redacted = redactInternals(detailed);
    const text = JSON.stringify(redacted);
    for (const secret of [
      '10.96.0.1',
      'pipeops.internal',
      'tunnel.example.com',
      'SHA256:',
      'kubernetes.default.svc',
      'fd00::1',
    ])
      expect(text).not.toContain(secret);
    expect(redacted).toMatchObject({
      status: 'ready',
      hops: {
        control_plane: {
          registration: { state: 'pending', lastError: `connect ECONNREFUSED ${internalAddressMarker}` },
          link: { state: 'backoff' },
        },
        kubernetes_api: { status: 'degraded' },
        tunnel: {
          status: 'connected',
          forwards: [{ name: 'kubernetes-api', remote_port: 40001, state: 'bound' }],
          recent_errors: [{ at: '2026-12-02T00:00:00.000Z' }],
        },
      },
    });
  });

  it('leaves values that are not addresses alone', () => {
    expect(redactInternals({ version: 'v1.36.3', at: '2026-12-02T00:00:00.000Z', n: 3, ok: true, none: null })).toEqual(
      { version: 'v1.36.3', at: '2026-12-02T00:00:00.000Z', n: 3, ok: true, none: null },
    );
  });
});
