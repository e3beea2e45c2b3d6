import { describe, expect, it } from 'vitest';
import { proxyForUrl } from './proxy';

describe('proxyForUrl', () => {
  const env = { HTTPS_PROXY: 'http://proxy.corp:3128', HTTP_PROXY: 'http://plain.corp:3128' };

  it('uses HTTPS_PROXY for https and wss, HTTP_PROXY for http and ws', () => {
    expect(proxyForUrl('https://cp.example.test/api', env)).toBe('http://proxy.corp:3128');
    expect(proxyForUrl('wss://cp.example.test/ws', env)).toBe('http://proxy.corp:3128');
    expect(proxyForUrl('http://cp.example.test/api', env)).toBe('http://plain.corp:3128');
    expect(proxyForUrl('ws://cp.example.test/ws', env)).toBe('http://plain.corp:3128');
  });

  it('prefers lowercase names and connects directly without a proxy setting', () => {
    expect(proxyForUrl('https://cp.example.test', { ...env, https_proxy: 'http://lower:1' })).toBe('http://lower:1');
    expect(proxyForUrl('https://cp.example.test', {})).toBeUndefined();
  });

  it('honours NO_PROXY hosts, domains, ports and *', () => {
    const with_ = (NO_PROXY: string): string | undefined =>
      proxyForUrl('https://api.cp.example.test:8443/x', { ...env, NO_PROXY });
    expect(with_('api.cp.example.test')).toBeUndefined();
    expect(with_('.example.test')).toBeUndefined();
    expect(with_('example.test')).toBeUndefined();
    expect(with_('*.example.test')).toBeUndefined();
    expect(with_('api.cp.example.test:8443')).toBeUndefined();
    expect(with_('api.cp.example.test:443')).toBe('http://proxy.corp:3128');
    expect(with_('other.test, localhost')).toBe('http://proxy.corp:3128');
    expect(with_('*')).toBeUndefined();
    expect(proxyForUrl('https://notexample.test', { ...env, NO_PROXY: 'example.test' })).toBe('http://proxy.corp:3128');
  });
});
