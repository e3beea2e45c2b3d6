import { describe, expect, it } from 'vitest';
import { ChiselClient, type ChiselRemote } from './chisel-client';

function remote(name: string, remotePort: number, bindHost?: string): ChiselRemote {
  return { name, remotePort, target: { host: '127.0.0.1', port: 8080 }, ...(bindHost ? { bindHost } : {}) };
}

function create(remotes: ChiselRemote[]): ChiselClient {
  return new ChiselClient({ serverUrl: 'example.com', auth: 'u:p', allowInsecureHostKey: true, remotes });
}

describe('ChiselClient remote validation', () => {
  it('refuses two remotes on one port before connecting, naming both', () => {
    expect(() => create([remote('api', 9000), remote('kubelet', 9000)])).toThrow(
      'tunnel remotes refused: remotes "api" (R:9000:127.0.0.1:8080) and "kubelet" (R:9000:127.0.0.1:8080) both bind port 9000',
    );
  });

  it('refuses a port bound on a wildcard and on a specific host', () => {
    expect(() => create([remote('a', 9000, '0.0.0.0'), remote('b', 9000, '127.0.0.1')])).toThrow(/both bind port 9000/);
    expect(() => create([remote('a', 9000, '::'), remote('b', 9000, '10.0.0.1')])).toThrow(/both bind port 9000/);
  });

  it('accepts one port on two distinct specific hosts, and distinct ports', () => {
    expect(() => create([remote('a', 9000, '127.0.0.1'), remote('b', 9000, '127.0.0.2')])).not.toThrow();
    expect(() => create([remote('a', 9000), remote('b', 9001)])).not.toThrow();
  });

  it('refuses a remote port outside 1–65535', () => {
    expect(() => create([remote('zero', 0)])).toThrow(
      'tunnel remotes refused: remote "zero" has port 0: must be a port number from 1 to 65535',
    );
    expect(() => create([remote('big', 70000)])).toThrow(/port 70000: must be a port number from 1 to 65535/);
  });
});
