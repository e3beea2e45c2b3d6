import { describe, expect, it } from 'vitest';
import { buildConfigPayload } from '../../agent/tunnel/chisel-wire';
import {
  decodeConfig,
  listenHost,
  listenPort,
  remoteString,
  remoteTarget,
  unsupportedReason,
  userAddr,
  type Remote,
} from './config';

function remote(fields: Partial<Remote>): Remote {
  return {
    LocalHost: '0.0.0.0',
    LocalPort: '8000',
    LocalProto: 'tcp',
    RemoteHost: '127.0.0.1',
    RemotePort: '8000',
    RemoteProto: 'tcp',
    Socks: false,
    Reverse: true,
    Stdio: false,
    ...fields,
  };
}

describe('config request decoding and remote strings', () => {
  it("decodes the agent's config payload", () => {
    const payload = buildConfigPayload([
      { name: 'api', remotePort: 8000, bindHost: '127.0.0.1', target: { host: 'localhost', port: 6443 } },
    ]);
    const config = decodeConfig(payload);
    expect(config.Version).toBe('1.11.3');
    expect(config.Remotes).toEqual([remote({ LocalHost: '127.0.0.1', RemoteHost: 'localhost', RemotePort: '6443' })]);
  });

  it("decodes like Go's encoding/json: keys case-insensitive, unknown keys and nulls ignored", () => {
    const config = decodeConfig(Buffer.from('{"version":"1","remotes":[{"localport":"1","REVERSE":true,"X":1},null]}'));
    expect(config.Remotes).toHaveLength(1);
    expect(config.Remotes[0]).toMatchObject({ LocalPort: '1', Reverse: true, LocalHost: '' });
    expect(decodeConfig(Buffer.from('{"Remotes":null}')).Remotes).toEqual([]);
  });

  it('rejects numbers for ports and malformed JSON', () => {
    expect(() => decodeConfig(Buffer.from('{"Remotes":[{"LocalPort":8000}]}'))).toThrow(/^Remotes\.0\.LocalPort: /);
    expect(() => decodeConfig(Buffer.from('{'))).toThrow(/^invalid JSON: /);
    expect(() => decodeConfig(Buffer.from('"x"'))).toThrow(/^config: /);
  });

  it("formats Remote.String() like chisel's messages", () => {
    expect(remoteString(remote({ RemoteHost: 'localhost', RemotePort: '6443' }))).toBe('R:8000=>localhost:6443');
    expect(remoteString(remote({ LocalHost: '127.0.0.1', LocalPort: '4000', RemotePort: '9' }))).toBe(
      'R:127.0.0.1:4000=>9',
    );
    expect(
      remoteString(remote({ LocalHost: '[::]', LocalPort: '3000', RemoteHost: '[::1]', RemotePort: '3000' })),
    ).toBe('R:[::]:3000=>[::1]:3000');
    expect(remoteString(remote({ RemoteHost: '1.1.1.1', RemotePort: '53', RemoteProto: 'udp' }))).toBe(
      'R:8000=>1.1.1.1:53/udp',
    );
    expect(remoteString(remote({ Socks: true, LocalHost: '127.0.0.1', LocalPort: '1080' }))).toBe(
      'R:127.0.0.1:1080=>socks',
    );
  });

  it('derives the ACL address, channel data and listen address', () => {
    const r = remote({ LocalHost: '[::1]', LocalPort: '4000', RemoteHost: '[::1]', RemotePort: '22' });
    expect(userAddr(r)).toBe('R:[::1]:4000');
    expect(userAddr(remote({ Reverse: false, RemoteHost: 'example.com', RemotePort: '80' }))).toBe('example.com:80');
    expect(remoteTarget(r)).toBe('[::1]:22');
    expect(listenHost(r)).toBe('::1');
    expect(listenHost(remote({ LocalHost: '' }))).toBe('0.0.0.0');
    expect(listenPort(r)).toBe(4000);
    expect(listenPort(remote({ LocalPort: '70000' }))).toBeUndefined();
    expect(listenPort(remote({ LocalPort: 'http' }))).toBeUndefined();
  });

  it('names the remotes this server does not implement', () => {
    expect(unsupportedReason(remote({}))).toBeUndefined();
    expect(unsupportedReason(remote({ Reverse: false }))).toMatch(/^forward remotes are not supported/);
    expect(unsupportedReason(remote({ Socks: true }))).toMatch(/^reverse SOCKS remotes/);
    expect(unsupportedReason(remote({ RemoteProto: 'udp' }))).toMatch(/^UDP remotes/);
  });
});
