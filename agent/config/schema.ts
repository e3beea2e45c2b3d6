import { z } from 'zod';
import { parseTarget } from '../tunnel/chisel-wire';
import { parseDuration } from './duration';

/** A duration such as `5s`, `500ms` or `1h30m`, or a number of milliseconds; parsed to milliseconds. */
// eslint-disable-next-line @typescript-eslint/explicit-function-return-type -- zod's inferred pipe keeps the key optional
function duration(min: number, max: number, fallback: string) {
  return z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((value, ctx) => {
      const ms = typeof value === 'number' ? value : parseDuration(value);
      if (ms === undefined || !Number.isInteger(ms) || ms < min || ms > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a duration between ${min}ms and ${max / 1000}s, written like 500ms, 5s, 2m or 1h30m`,
        });
        return z.NEVER;
      }
      return ms;
    });
}

const booleanLike = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((value) => value === true || value === 'true' || value === '1' || value === 'yes');

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

// DNS-1123 subdomain, as Kubernetes requires for ConfigMap, Secret, Lease and namespace names.
const k8sName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    error: 'must be a Kubernetes name: lowercase letters, digits, "-" and ".", starting and ending alphanumeric',
  });

const port = z.coerce
  .number({ error: 'must be a port number from 1 to 65535' })
  .int({ error: 'must be a port number from 1 to 65535' })
  .min(1, { error: 'must be a port number from 1 to 65535' })
  .max(65535, { error: 'must be a port number from 1 to 65535' });

export const forwardSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'must be lowercase letters, digits and "-"' }),
  local_addr: z
    .string()
    .max(260)
    .refine((value) => parseTarget(value) !== undefined, {
      error: 'must be host:port with a port from 1 to 65535 (IPv6 hosts in brackets, e.g. [::1]:8080)',
    }),
  remote_port: z.coerce.number().int().min(0).max(65535).default(0),
  // The TTL workload behind this forward, when its target is not the workload's Service (wake on connect).
  workload: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
      error: 'must be "namespace/deployment-name" (lowercase Kubernetes names)',
    })
    .optional(),
});

export const configSchema = z.strictObject({
  agent: z
    .strictObject({
      id: z.string().min(1).max(128).optional(),
      cluster_name: z.string().min(1).max(128).optional(),
      node_name: z.string().max(253).optional(),
      // The node's address (downward API status.hostIP): the kubelet default tunnel forward dials it.
      node_ip: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' }).optional(),
      pod_name: z.string().max(253).optional(),
      pod_namespace: k8sName.optional(),
      port: port.default(8080),
      labels: z.record(z.string().max(317), z.string().max(256)).default({}),
      heartbeat_interval: duration(500, 300_000, '5s'),
    })
    .prefault({}),
  pipeops: z
    .strictObject({
      api_url: httpUrl.optional(),
      token: z.string().min(1).max(16_384).optional(),
      timeout: duration(100, 120_000, '10s'),
      reconnect: z
        .strictObject({
          base: duration(50, 60_000, '500ms'),
          max: duration(100, 600_000, '4s'),
          // After 401/403 the token is wrong; retrying fast would only hammer the control plane.
          rejected_retry: duration(1000, 3_600_000, '5m'),
        })
        .prefault({}),
      tls: z
        .strictObject({
          insecure_skip_verify: booleanLike.default(false),
          ca_file: z.string().min(1).optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  tunnel: z
    .strictObject({
      enabled: booleanLike.default(false),
      inactivity_timeout: duration(1000, 86_400_000, '5m'),
      keepalive: duration(1000, 300_000, '25s'),
      // Forward the Kubernetes API, the kubelet and the agent's own HTTP port unless turned off.
      default_forwards: booleanLike.default(true),
      // Interface the tunnel server binds each reverse port on; unset means chisel's default 0.0.0.0.
      remote_bind_host: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' }).optional(),
      // Only for control planes that pin no host key: accept any tunnel server key (logged as a warning).
      allow_unpinned_host_key: booleanLike.default(false),
      forwards: z
        .array(forwardSchema)
        .max(32)
        .default([])
        .refine((forwards) => new Set(forwards.map((f) => f.name)).size === forwards.length, {
          error: 'forward names must be unique',
        })
        .refine(
          (forwards) => {
            const fixed = forwards.map((f) => f.remote_port).filter((port) => port !== 0);
            return new Set(fixed).size === fixed.length;
          },
          { error: 'forward remote_port values must be unique (0 lets the control plane allocate one)' },
        ),
    })
    .prefault({}),
  ttl: z
    .strictObject({
      // The TTL controller and wake-on-connect (leader only); workloads still opt in by annotation.
      enabled: booleanLike.default(true),
      // Only this namespace (namespace-scoped installs); all namespaces when unset.
      namespace: k8sName.optional(),
      // How long a tunnel connection is held while its workload wakes before it is refused.
      wake_timeout: duration(1000, 1_800_000, '2m'),
      // Minimum uptime after a wake when the workload has no pipeops.io/min-uptime (anti-flap).
      default_min_uptime: duration(0, 86_400_000, '2m'),
      // The controller's own Kubernetes writes, on average (a wake never waits for it).
      max_writes_per_second: z.coerce
        .number({ error: 'must be a number of writes per second from 0.1 to 100' })
        .min(0.1, { error: 'must be a number of writes per second from 0.1 to 100' })
        .max(100, { error: 'must be a number of writes per second from 0.1 to 100' })
        .default(5),
      // At most one last-activity annotation write per workload per this window.
      activity_debounce: duration(1000, 300_000, '15s'),
    })
    .prefault({}),
  kubernetes: z
    .strictObject({
      state: z
        .strictObject({
          enabled: booleanLike.default(true),
          configmap_name: k8sName.default('pipeops-agent-state'),
          secret_name: k8sName.default('pipeops-agent-secrets'),
          namespace: k8sName.optional(),
        })
        .prefault({}),
      leader_election: z
        .strictObject({
          enabled: booleanLike.default(true),
          lease_name: k8sName.default('pipeops-agent-leader'),
          lease_duration: duration(2000, 300_000, '15s'),
          renew_deadline: duration(1000, 300_000, '10s'),
          retry_period: duration(200, 60_000, '2s'),
        })
        .prefault({}),
    })
    .prefault({}),
  logging: z
    .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
    .prefault({}),
});

export type AgentConfig = z.output<typeof configSchema>;
export type ForwardConfig = z.output<typeof forwardSchema>;
