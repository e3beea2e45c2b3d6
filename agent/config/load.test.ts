import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig, requireRuntimeConfig } from './load';

const baseEnv = {
  PIPEOPS_API_URL: 'https://cp.example.test',
  PIPEOPS_TOKEN: 'super-secret-token',
  PIPEOPS_CLUSTER_NAME: 'prod-eu-1',
};

async function yamlFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'agent-config-'));
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, text);
  return file;
}

function errorOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults and the seed environment names', () => {
    const config = loadConfig({
      env: { ...baseEnv, PIPEOPS_PORT: '9090', PIPEOPS_LOG_LEVEL: 'debug' },
      cwd: '/nonexistent',
    });
    expect(config.pipeops.api_url).toBe('https://cp.example.test');
    expect(config.agent.port).toBe(9090);
    expect(config.agent.heartbeat_interval).toBe(5000);
    expect(config.logging.level).toBe('debug');
    expect(config.kubernetes.state).toEqual({
      enabled: true,
      configmap_name: 'pipeops-agent-state',
      secret_name: 'pipeops-agent-secrets',
    });
    expect(config.kubernetes.leader_election.lease_duration).toBe(15_000);
  });

  it('reads the YAML file sections and lets the environment override them', async () => {
    const file = await yamlFile(`
agent:
  cluster_name: from-file
  heartbeat_interval: 2s
pipeops:
  api_url: http://127.0.0.1:9999
  timeout: 1m
tunnel:
  enabled: true
  inactivity_timeout: 10m
  forwards:
    - name: kubernetes-api
      local_addr: kubernetes.default.svc:443
logging:
  level: warn
`);
    const config = loadConfig({ env: { PIPEOPS_CLUSTER_NAME: 'from-env' }, configFile: file });
    expect(config.agent.cluster_name).toBe('from-env');
    expect(config.agent.heartbeat_interval).toBe(2000);
    expect(config.pipeops.timeout).toBe(60_000);
    expect(config.tunnel.forwards).toEqual([
      { name: 'kubernetes-api', local_addr: 'kubernetes.default.svc:443', remote_port: 0 },
    ]);
    expect(config.tunnel.inactivity_timeout).toBe(600_000);
    expect(config.logging.level).toBe('warn');
  });

  it('names the key, its source, the bad value and what is allowed', () => {
    expect(errorOf(() => loadConfig({ env: { ...baseEnv, PIPEOPS_PORT: 'eighty' } }))).toBe(
      'config: agent.port (from env PIPEOPS_PORT) = "eighty" is invalid: must be a port number from 1 to 65535',
    );
    expect(errorOf(() => loadConfig({ env: { ...baseEnv, PIPEOPS_API_URL: 'ftp://cp' } }))).toBe(
      'config: pipeops.api_url (from env PIPEOPS_API_URL) = "ftp://cp" is invalid: must be an http:// or https:// URL',
    );
    expect(errorOf(() => loadConfig({ env: { ...baseEnv, PIPEOPS_HEARTBEAT_INTERVAL: '5 seconds' } }))).toMatch(
      /^config: agent\.heartbeat_interval \(from env PIPEOPS_HEARTBEAT_INTERVAL\) = "5 seconds" is invalid: must be a duration between 500ms and 300s/,
    );
    expect(errorOf(() => loadConfig({ env: { ...baseEnv, PIPEOPS_STATE_CONFIGMAP_NAME: 'Bad_Name' } }))).toMatch(
      /kubernetes\.state\.configmap_name .* = "Bad_Name" is invalid: must be a Kubernetes name/,
    );
    expect(errorOf(() => loadConfig({ env: { ...baseEnv, PIPEOPS_LOG_LEVEL: 'loud' } }))).toMatch(
      /^config: logging\.level \(from env PIPEOPS_LOG_LEVEL\) = "loud" is invalid: .*"info"/,
    );
  });

  it('rejects bad tunnel settings with what is allowed', async () => {
    const badTarget = await yamlFile('tunnel:\n  forwards:\n    - name: api\n      local_addr: kubernetes:99999\n');
    expect(errorOf(() => loadConfig({ env: {}, configFile: badTarget }))).toMatch(
      /tunnel\.forwards\.0\.local_addr .*"kubernetes:99999" is invalid: must be host:port with a port from 1 to 65535/,
    );
    const twice = await yamlFile(
      'tunnel:\n  forwards:\n    - { name: api, local_addr: "a:1" }\n    - { name: api, local_addr: "b:2" }\n',
    );
    expect(errorOf(() => loadConfig({ env: {}, configFile: twice }))).toMatch(/forward names must be unique/);
    const samePort = await yamlFile(
      'tunnel:\n  forwards:\n    - { name: a, local_addr: "a:1", remote_port: 9000 }\n    - { name: b, local_addr: "b:2", remote_port: 9000 }\n',
    );
    expect(errorOf(() => loadConfig({ env: {}, configFile: samePort }))).toMatch(
      /forward remote_port values must be unique \(0 lets the control plane allocate one\)/,
    );
    const allocated = await yamlFile(
      'tunnel:\n  forwards:\n    - { name: a, local_addr: "a:1" }\n    - { name: b, local_addr: "b:2", remote_port: 0 }\n',
    );
    expect(() => loadConfig({ env: {}, configFile: allocated })).not.toThrow();
    expect(errorOf(() => loadConfig({ env: { ...baseEnv, PIPEOPS_NODE_IP: 'node-1' } }))).toMatch(
      /agent\.node_ip \(from env PIPEOPS_NODE_IP\) = "node-1" is invalid: must be an IPv4 or IPv6 address/,
    );
    expect(errorOf(() => loadConfig({ env: { ...baseEnv, PIPEOPS_TUNNEL_INACTIVITY_TIMEOUT: '10' } }))).toMatch(
      /tunnel\.inactivity_timeout .* must be a duration between 1000ms and 86400s/,
    );
  });

  it('points at misspelled keys in the file instead of ignoring them', async () => {
    const file = await yamlFile('agent:\n  heartbeat_intervall: 5s\n');
    expect(errorOf(() => loadConfig({ env: {}, configFile: file }))).toBe(
      `config: unknown key "heartbeat_intervall" in section agent of ${file}: remove it or check its spelling`,
    );
  });

  it('reports YAML syntax errors with the line', async () => {
    const file = await yamlFile('agent:\n  port: [1, 2\n');
    expect(errorOf(() => loadConfig({ env: {}, configFile: file }))).toMatch(/is not valid YAML at line \d+/);
  });

  it('never shows the token, even when it is the bad value', () => {
    const message = errorOf(() => loadConfig({ env: { ...baseEnv, PIPEOPS_TOKEN: 'x'.repeat(20_000) } }));
    expect(message).toContain('pipeops.token (from env PIPEOPS_TOKEN) = [redacted] is invalid');
    expect(message).not.toContain('xxxx');
    const config = loadConfig({ env: baseEnv });
    expect(JSON.stringify(redactConfig(config))).not.toContain('super-secret-token');
  });

  it('counts further problems on the same line', () => {
    expect(errorOf(() => loadConfig({ env: { PIPEOPS_PORT: '0', PIPEOPS_API_URL: 'nope' } }))).toMatch(
      /\(and 1 more problem\)$/,
    );
  });
});

describe('requireRuntimeConfig', () => {
  it('says which setting the runtime lacks', () => {
    const config = loadConfig({ env: { PIPEOPS_API_URL: 'https://cp.example.test' }, cwd: '/nonexistent' });
    expect(errorOf(() => requireRuntimeConfig(config))).toBe(
      'config: pipeops.token (env PIPEOPS_TOKEN) is required to register with the control plane',
    );
    expect(requireRuntimeConfig(loadConfig({ env: baseEnv })).agent.cluster_name).toBe('prod-eu-1');
  });
});

describe('ttl config', () => {
  it('has safe defaults and names the key on a bad value', () => {
    expect(loadConfig({ cwd: '/nonexistent', env: {} }).ttl).toEqual({
      enabled: true,
      wake_timeout: 120_000,
      default_min_uptime: 120_000,
      max_writes_per_second: 5,
      activity_debounce: 15_000,
    });
    expect(() => loadConfig({ cwd: '/nonexistent', env: { PIPEOPS_TTL_WAKE_TIMEOUT: 'fast' } })).toThrow(
      'config: ttl.wake_timeout (from env PIPEOPS_TTL_WAKE_TIMEOUT) = "fast" is invalid: must be a duration between 1000ms and 1800s',
    );
    expect(() => loadConfig({ cwd: '/nonexistent', env: { PIPEOPS_TTL_MAX_WRITES_PER_SECOND: '0' } })).toThrow(
      /ttl\.max_writes_per_second .* from 0\.1 to 100/,
    );
  });
});
