import { describe, expect, it } from 'vitest';
import { clientAddress, trustedProxiesFrom, viaTrustedProxy } from './client-address';

const none = trustedProxiesFrom('');
const ingress = trustedProxiesFrom('10.0.0.0/8, fd00::1');

describe('clientAddress', () => {
  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For claims', () => {
    const headers = { 'x-pipeops-peer-address': '::ffff:192.0.2.7', 'x-forwarded-for': '203.0.113.1' };
    expect(clientAddress(headers, none)).toBe('192.0.2.7');
    expect(viaTrustedProxy(headers, none)).toBe(false);
  });

  it('behind a trusted proxy: the right-most entry that is not a trusted proxy', () => {
    const headers = { 'x-pipeops-peer-address': '10.1.2.3', 'x-forwarded-for': 'spoofed, 198.51.100.4, 10.9.9.9' };
    expect(clientAddress(headers, ingress)).toBe('198.51.100.4');
    expect(viaTrustedProxy(headers, ingress)).toBe(true);
  });

  it('an untrusted peer cannot use X-Forwarded-For even if it names a trusted address', () => {
    const headers = { 'x-pipeops-peer-address': '192.0.2.8', 'x-forwarded-for': '10.0.0.1' };
    expect(clientAddress(headers, ingress)).toBe('192.0.2.8');
  });

  it('is "unknown" without a stamped peer, and reads Fetch Headers too', () => {
    expect(clientAddress({ 'x-forwarded-for': '203.0.113.1' }, none)).toBe('unknown');
    expect(clientAddress(new Headers({ 'x-pipeops-peer-address': 'fd00::1' }), ingress)).toBe('fd00::1');
  });

  it('refuses a bad PIPEOPS_TRUSTED_PROXIES entry by name', () => {
    expect(() => trustedProxiesFrom('10.0.0.0/8, ingress.local')).toThrow(
      'PIPEOPS_TRUSTED_PROXIES: ingress.local is not an IP address or CIDR',
    );
  });
});
