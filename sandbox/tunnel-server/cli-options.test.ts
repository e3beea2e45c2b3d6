import { describe, expect, it } from 'vitest';
import { parseCli, parseDuration } from './cli-options';

describe('tunnel server command line', () => {
  it('parses Go durations', () => {
    expect(parseDuration('25s')).toBe(25_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('25')).toThrow('invalid duration "25"');
    expect(() => parseDuration('5x')).toThrow('invalid duration');
  });

  it('defaults like chisel server, with loopback reverse binds', () => {
    expect(parseCli([], {})).toEqual({
      host: '0.0.0.0',
      port: 8080,
      reverse: false,
      auth: undefined,
      authfile: undefined,
      keyfile: undefined,
      keygen: undefined,
      keepaliveMs: 25_000,
      bindHost: '127.0.0.1',
      tlsCert: undefined,
      tlsKey: undefined,
    });
  });

  it('reads flags and the HOST/PORT/AUTH environment', () => {
    const options = parseCli(['-p', '9000', '--reverse', '--keepalive', '2s', '--bind-host', 'client', '-v'], {
      HOST: '127.0.0.1',
      AUTH: 'u:p',
    });
    expect(options).toMatchObject({ host: '127.0.0.1', port: 9000, reverse: true, auth: 'u:p', bindHost: null });
    expect(parseCli(['--help'])).toBe('help');
  });

  it('explains bad input', () => {
    expect(() => parseCli(['--port', 'x'], {})).toThrow('--port "x" is invalid: expected 0-65535');
    expect(() => parseCli(['--tls-cert', 'c'], {})).toThrow('--tls-cert and --tls-key must be given together');
    expect(() => parseCli(['--nope'], {})).toThrow(/Unknown option '--nope'/);
  });
});
