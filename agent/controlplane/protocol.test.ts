import { describe, expect, it } from 'vitest';
import { controlPlaneIdSchema, registerResponseSchema, tunnelServerAddrProblem } from './protocol';
import { TransportError, decodeBody } from './transport';
import { gzipSync } from 'node:zlib';

describe('tunnelServerAddrProblem', () => {
  it('accepts what chisel accepts', () => {
    for (const addr of [
      '127.0.0.1:8080',
      'tunnel.example.com',
      'https://t.example.com',
      'wss://[::1]:443/x',
      'ws://h:1',
    ]) {
      expect(tunnelServerAddrProblem(addr), addr).toBeUndefined();
    }
  });

  it('names what is wrong with an address it cannot use', () => {
    expect(tunnelServerAddrProblem('http://127.0.0.1:70000')).toBe('port 70000 is outside 1–65535');
    expect(tunnelServerAddrProblem('h:0')).toBe('port 0 is outside 1–65535');
    expect(tunnelServerAddrProblem('ftp://h:21')).toBe('scheme "ftp" is not one of http, https, ws, wss');
    expect(tunnelServerAddrProblem('http://user:pw@h:1')).toBe('must not carry credentials (user@host)');
    expect(tunnelServerAddrProblem('h h')).toBe('must not contain whitespace or control characters');
    expect(tunnelServerAddrProblem('http://-bad-:1')).toMatch(/^must be host\[:port\]/);
  });
});

describe('controlPlaneIdSchema', () => {
  it('takes ids that are one safe path segment and nothing else', () => {
    expect(controlPlaneIdSchema.safeParse('6f1c2d3e-aaaa-bbbb-cccc-1234567890ab').success).toBe(true);
    for (const bad of ['\ud800', '../x', 'a/b', '', 'x'.repeat(129), 'a b', '%2e']) {
      expect(controlPlaneIdSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    const reply = registerResponseSchema.safeParse({ cluster_id: 'c', cluster_uuid: '\ud800', name: '', status: '' });
    expect(reply.success).toBe(false);
  });
});

describe('decodeBody', () => {
  it('reads identity and real gzip bodies and rejects a plain body labelled gzip', () => {
    expect(decodeBody(Buffer.from('{"a":1}'), undefined, 'GET /x')).toBe('{"a":1}');
    expect(decodeBody(gzipSync('{"a":1}'), 'gzip', 'GET /x')).toBe('{"a":1}');
    expect(() => decodeBody(Buffer.from('{"a":1}'), 'gzip', 'GET /x')).toThrow(TransportError);
    expect(() => decodeBody(Buffer.from('{}'), 'br', 'GET /x')).toThrow(
      'GET /x: reply has Content-Encoding "br"; only gzip or identity is accepted',
    );
  });

  it('bounds what a gzip body may expand to', () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    expect(() => decodeBody(bomb, 'gzip', 'GET /x')).toThrow(/not valid gzip within 262144 bytes/);
  });
});
