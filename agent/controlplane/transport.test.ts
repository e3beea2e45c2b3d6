import { describe, expect, it } from 'vitest';
import { loadConfig, requireRuntimeConfig } from '../config/load';
import { ControlPlaneTransport } from './transport';

function transportFor(apiUrl: string, extra: Record<string, string> = {}): ControlPlaneTransport {
  const env = { PIPEOPS_API_URL: apiUrl, PIPEOPS_TOKEN: 't', PIPEOPS_CLUSTER_NAME: 'c', ...extra };
  return new ControlPlaneTransport(requireRuntimeConfig(loadConfig({ env, cwd: '/nonexistent' })));
}

describe('ControlPlaneTransport', () => {
  it('never downgrades: https becomes wss and http becomes ws', () => {
    expect(transportFor('https://cp.example.test').webSocketUrl('/api/v1/clusters/agent/ws')).toBe(
      'wss://cp.example.test/api/v1/clusters/agent/ws',
    );
    expect(transportFor('http://127.0.0.1:8090').webSocketUrl('/api/v1/clusters/agent/ws')).toBe(
      'ws://127.0.0.1:8090/api/v1/clusters/agent/ws',
    );
  });

  it('sends the token only as a Bearer header', () => {
    expect(transportFor('https://cp.example.test').authHeaders()).toEqual({
      Authorization: 'Bearer t',
      'User-Agent': 'pipeops-agent',
    });
  });

  it('verifies TLS unless explicitly disabled', () => {
    expect(transportFor('https://cp.example.test').tlsOptions().rejectUnauthorized).toBe(true);
    const insecure = transportFor('https://cp.example.test', { PIPEOPS_TLS_INSECURE_SKIP_VERIFY: 'true' });
    expect(insecure.tlsOptions().rejectUnauthorized).toBe(false);
  });
});
