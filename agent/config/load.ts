import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type AgentConfig } from './schema';

/** A configuration problem; the message is one line naming the key, the bad value and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Environment variables (the seed's names first) and the config keys they set. */
export const envKeys: Record<string, string> = {
  PIPEOPS_API_URL: 'pipeops.api_url',
  PIPEOPS_TOKEN: 'pipeops.token',
  PIPEOPS_CLUSTER_NAME: 'agent.cluster_name',
  PIPEOPS_AGENT_ID: 'agent.id',
  PIPEOPS_NODE_NAME: 'agent.node_name',
  PIPEOPS_POD_NAME: 'agent.pod_name',
  PIPEOPS_POD_NAMESPACE: 'agent.pod_namespace',
  PIPEOPS_LOG_LEVEL: 'logging.level',
  PIPEOPS_PORT: 'agent.port',
  PIPEOPS_STATE_CONFIGMAP_NAME: 'kubernetes.state.configmap_name',
  PIPEOPS_STATE_SECRET_NAME: 'kubernetes.state.secret_name',
  PIPEOPS_STATE_NAMESPACE: 'kubernetes.state.namespace',
  PIPEOPS_ENABLE_STATE_PERSISTENCE: 'kubernetes.state.enabled',
  PIPEOPS_HEARTBEAT_INTERVAL: 'agent.heartbeat_interval',
  PIPEOPS_TIMEOUT: 'pipeops.timeout',
  PIPEOPS_TLS_INSECURE_SKIP_VERIFY: 'pipeops.tls.insecure_skip_verify',
  PIPEOPS_TLS_CA_FILE: 'pipeops.tls.ca_file',
  PIPEOPS_LEADER_ELECTION: 'kubernetes.leader_election.enabled',
  PIPEOPS_LEASE_NAME: 'kubernetes.leader_election.lease_name',
  PIPEOPS_LEASE_DURATION: 'kubernetes.leader_election.lease_duration',
  PIPEOPS_NODE_IP: 'agent.node_ip',
  PIPEOPS_TUNNEL_ENABLED: 'tunnel.enabled',
  PIPEOPS_TUNNEL_INACTIVITY_TIMEOUT: 'tunnel.inactivity_timeout',
  PIPEOPS_TUNNEL_DEFAULT_FORWARDS: 'tunnel.default_forwards',
  PIPEOPS_TUNNEL_REMOTE_BIND_HOST: 'tunnel.remote_bind_host',
  PIPEOPS_TTL_ENABLED: 'ttl.enabled',
  PIPEOPS_TTL_NAMESPACE: 'ttl.namespace',
  PIPEOPS_TTL_WAKE_TIMEOUT: 'ttl.wake_timeout',
  PIPEOPS_TTL_DEFAULT_MIN_UPTIME: 'ttl.default_min_uptime',
  PIPEOPS_TTL_MAX_WRITES_PER_SECOND: 'ttl.max_writes_per_second',
  PIPEOPS_TTL_ACTIVITY_DEBOUNCE: 'ttl.activity_debounce',
  PIPEOPS_RECONNECT_MAX: 'pipeops.reconnect.max',
  PIPEOPS_REJECTED_RETRY_INTERVAL: 'pipeops.reconnect.rejected_retry',
};

const secretKeys = new Set(['pipeops.token']);
const envByKey = new Map(Object.entries(envKeys).map(([env, key]) => [key, env]));

type Tree = Record<string, unknown>;

function setPath(tree: Tree, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    node[part] = next && typeof next === 'object' && !Array.isArray(next) ? next : {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1] as string] = value;
}

function getPath(tree: unknown, parts: PropertyKey[]): unknown {
  let node = tree;
  for (const part of parts) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(/* turbopackIgnore: true */ file, 'utf8');
  } catch (error) {
    throw new ConfigError(`config: cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    throw new ConfigError(`config: ${file} is not valid YAML${where}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(
      `config: ${file} must be a YAML mapping with sections agent, pipeops, tunnel, ttl, kubernetes, logging`,
    );
  }
  return parsed as Tree;
}

function describeValue(key: string, value: unknown): string {
  if (secretKeys.has(key)) return '[redacted]';
  if (value === undefined) return 'missing';
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describeIssue(issue: z.core.$ZodIssue, raw: Tree, fromEnv: Set<string>, file?: string): string {
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const key = issue.path.join('.') || '(root)';
  if (keys.length > 0) {
    const where = key === '(root)' ? 'top level' : `section ${key}`;
    return `config: unknown key ${keys.map((k) => `"${k}"`).join(', ')} in ${where}${file ? ` of ${file}` : ''}: remove it or check its spelling`;
  }
  const env = envByKey.get(key);
  const source = env && fromEnv.has(key) ? ` (from env ${env})` : file ? ` (from ${file})` : '';
  const value = describeValue(key, getPath(raw, issue.path));
  return `config: ${key}${source} = ${value} is invalid: ${issue.message}`;
}

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  /** `--config` path; without it `config.yaml` in the working directory is read when present. */
  configFile?: string;
  cwd?: string;
}

function configFilePath(options: LoadOptions, env: Record<string, string | undefined>): string | undefined {
  const explicit = options.configFile ?? env.PIPEOPS_CONFIG_FILE;
  if (explicit) return explicit;
  const implicit = path.join(options.cwd ?? process.cwd(), 'config.yaml');
  return existsSync(/* turbopackIgnore: true */ implicit) ? implicit : undefined;
}

function applyEnv(raw: Tree, env: Record<string, string | undefined>): Set<string> {
  const fromEnv = new Set<string>();
  for (const [name, key] of Object.entries(envKeys)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, key, value);
    fromEnv.add(key);
  }
  return fromEnv;
}

/** Reads the YAML file (if any), lets the environment override it, and validates the result. */
export function loadConfig(options: LoadOptions = {}): AgentConfig {
  const env = options.env ?? process.env;
  const file = configFilePath(options, env);
  const raw: Tree = file ? readConfigFile(file) : {};
  const fromEnv = applyEnv(raw, env);
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const [first, ...rest] = result.error.issues;
  const line = first ? describeIssue(first, raw, fromEnv, file) : 'config: invalid';
  const more = rest.length === 0 ? '' : ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})`;
  throw new ConfigError(`${line}${more}`);
}

export interface RuntimeConfig extends AgentConfig {
  agent: AgentConfig['agent'] & { cluster_name: string };
  pipeops: AgentConfig['pipeops'] & { api_url: string; token: string };
}

/** The agent runtime cannot register without these; the dashboard alone can run without them. */
export function requireRuntimeConfig(config: AgentConfig): RuntimeConfig {
  const required: [string, unknown][] = [
    ['pipeops.api_url', config.pipeops.api_url],
    ['pipeops.token', config.pipeops.token],
    ['agent.cluster_name', config.agent.cluster_name],
  ];
  for (const [key, value] of required) {
    if (value === undefined) {
      throw new ConfigError(`config: ${key} (env ${envByKey.get(key)}) is required to register with the control plane`);
    }
  }
  return config as RuntimeConfig;
}

/** The config with secrets replaced, safe to log or show in the dashboard. */
export function redactConfig(config: AgentConfig): AgentConfig {
  return {
    ...config,
    pipeops: { ...config.pipeops, token: config.pipeops.token === undefined ? undefined : '[redacted]' },
  };
}
