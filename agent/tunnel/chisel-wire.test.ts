import { describe, expect, it } from 'vitest';
import { buildConfigPayload, fingerprintOf, formatRemote, normaliseServerUrl, parseTarget } from './chisel-wire';

describe('chisel wire helpers', () => {
  it('normalises server URLs like the Go client', () => {
    expect(normaliseServerUrl('example.com')).toBe('ws://example.com:80/');
    expect(normaliseServerUrl('http://example.com:8080/x?y=1')).toBe('ws://example.com:8080/x?y=1');
    expect(normaliseServerUrl('https://example.com')).toBe('wss://example.com:443/');
    expect(normaliseServerUrl('wss://[::1]:9000/_chisel')).toBe('wss://[::1]:9000/_chisel');
  });

  it('computes the fingerprint as base64 SHA-256 of the key blob', () => {
    expect(fingerprintOf(Buffer.from('abc'))).toBe('ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
  });

  it('formats reverse remotes and the config JSON with string ports', () => {
    const remote = { name: 'k', remotePort: 8000, target: { host: 'localhost', port: 6443 } };
    expect(formatRemote(remote)).toBe('R:8000:localhost:6443');
    expect(formatRemote({ ...remote, bindHost: '::1', target: { host: '::1', port: 3000 } })).toBe(
      'R:[::1]:8000:[::1]:3000',
    );
    expect(buildConfigPayload([remote], '1.11.5').toString()).toBe(
      '{"Version":"1.11.5","Remotes":[{"LocalHost":"0.0.0.0","LocalPort":"8000","LocalProto":"tcp",' +
        '"RemoteHost":"localhost","RemotePort":"6443","RemoteProto":"tcp","Socks":false,"Reverse":true,"Stdio":false}]}',
    );
  });

  it('parses channel targets and rejects anything else', () => {
    expect(parseTarget('localhost:6443')).toEqual({ host: 'localhost', port: 6443 });
    expect(parseTarget('[::1]:3000')).toEqual({ host: '::1', port: 3000 });
    expect(parseTarget('1.1.1.1:53/udp')).toBeUndefined();
    expect(parseTarget('socks')).toBeUndefined();
  });
});
