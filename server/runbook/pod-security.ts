/**
 * The Pod Security Standards *baseline* profile (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
 * checked on a pod template before an edited or foreign backup may restore it. Each violation names the
 * field path and the rule, so a refusal says exactly what to change. Pure: no Kubernetes calls.
 */

type Json = Record<string, unknown>;

/** Capabilities a baseline pod may add (everything else, e.g. SYS_ADMIN or NET_ADMIN, is refused). */
export const baselineCapabilities = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

/** The "safe" sysctls: namespaced per pod and isolated from other pods on the node. */
export const baselineSysctls = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

const selinuxTypes = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const appArmorTypes = new Set(['RuntimeDefault', 'Localhost']);
const seccompTypes = new Set(['RuntimeDefault', 'Localhost']);
const appArmorAnnotationPrefix = 'container.apparmor.security.beta.kubernetes.io/';

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(obj) : [];
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Rules shared by the pod-level and container-level securityContext. */
function contextViolations(context: Json, path: string): string[] {
  const found: string[] = [];
  if (obj(context.windowsOptions).hostProcess === true)
    found.push(`${path}.windowsOptions.hostProcess is true (baseline: HostProcess containers are not allowed)`);
  const seLinux = obj(context.seLinuxOptions);
  if (isSet(seLinux.type) && !selinuxTypes.has(String(seLinux.type)))
    found.push(
      `${path}.seLinuxOptions.type is ${String(seLinux.type)} (baseline: only container_t, container_init_t, container_kvm_t or container_engine_t)`,
    );
  for (const key of ['user', 'role'] as const) {
    if (isSet(seLinux[key]) && seLinux[key] !== '')
      found.push(`${path}.seLinuxOptions.${key} is set (baseline: custom SELinux users and roles are not allowed)`);
  }
  const seccomp = obj(context.seccompProfile);
  if (isSet(seccomp.type) && !seccompTypes.has(String(seccomp.type)))
    found.push(`${path}.seccompProfile.type is ${String(seccomp.type)} (baseline: only RuntimeDefault or Localhost)`);
  const appArmor = obj(context.appArmorProfile);
  if (isSet(appArmor.type) && !appArmorTypes.has(String(appArmor.type)))
    found.push(`${path}.appArmorProfile.type is ${String(appArmor.type)} (baseline: only RuntimeDefault or Localhost)`);
  return found;
}

function probeHost(handler: Json, path: string): string[] {
  const found: string[] = [];
  for (const kind of ['httpGet', 'tcpSocket'] as const) {
    const host = obj(handler[kind]).host;
    if (isSet(host) && host !== '')
      found.push(`${path}.${kind}.host is ${String(host)} (baseline: probes and hooks may not target another host)`);
  }
  return found;
}

function containerViolations(container: Json, path: string): string[] {
  const context = obj(container.securityContext);
  const found = contextViolations(context, `${path}.securityContext`);
  if (context.privileged === true)
    found.push(`${path}.securityContext.privileged is true (baseline: no privileged containers)`);
  if (isSet(context.procMount) && context.procMount !== 'Default')
    found.push(`${path}.securityContext.procMount is ${String(context.procMount)} (baseline: only Default)`);
  const added = Array.isArray(obj(context.capabilities).add) ? (obj(context.capabilities).add as unknown[]) : [];
  const extra = added.map(String).filter((c) => !baselineCapabilities.has(c.replace(/^CAP_/, '')));
  if (extra.length > 0)
    found.push(
      `${path}.securityContext.capabilities.add has ${extra.join(', ')} (baseline allows only ${[...baselineCapabilities].join(', ')})`,
    );
  list(container.ports).forEach((port, i) => {
    if (isSet(port.hostPort) && port.hostPort !== 0)
      found.push(`${path}.ports[${i}].hostPort is ${String(port.hostPort)} (baseline: no host ports)`);
  });
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const)
    found.push(...probeHost(obj(container[probe]), `${path}.${probe}`));
  const lifecycle = obj(container.lifecycle);
  for (const hook of ['postStart', 'preStop'] as const)
    found.push(...probeHost(obj(lifecycle[hook]), `${path}.lifecycle.${hook}`));
  return found;
}

function annotationViolations(annotations: Json, path: string): string[] {
  return Object.entries(annotations)
    .filter(([key]) => key.startsWith(appArmorAnnotationPrefix))
    .filter(([, value]) => value !== 'runtime/default' && !String(value).startsWith('localhost/'))
    .map(
      ([key, value]) =>
        `${path}.annotations["${key}"] is ${String(value)} (baseline: only runtime/default or localhost/<profile>)`,
    );
}

/**
 * Every baseline violation of a pod template (`spec.template` of a Deployment); empty when it passes.
 * `path` prefixes each field path, e.g. `spec.template`.
 */
export function baselineViolations(template: unknown, path = 'spec.template'): string[] {
  const spec = obj(obj(template).spec);
  const found = annotationViolations(obj(obj(obj(template).metadata).annotations), `${path}.metadata`);
  const specPath = `${path}.spec`;
  for (const key of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[key] === true) found.push(`${specPath}.${key} is true (baseline: host namespaces are not shared)`);
  }
  const podContext = obj(spec.securityContext);
  found.push(...contextViolations(podContext, `${specPath}.securityContext`));
  list(podContext.sysctls).forEach((sysctl, i) => {
    if (!baselineSysctls.has(String(sysctl.name)))
      found.push(
        `${specPath}.securityContext.sysctls[${i}] is ${String(sysctl.name)} (baseline allows only ${[...baselineSysctls].join(', ')})`,
      );
  });
  list(spec.volumes).forEach((volume, i) => {
    if (isSet(volume.hostPath))
      found.push(
        `${specPath}.volumes[${i}] (${String(volume.name)}) is a hostPath volume (baseline: no hostPath volumes)`,
      );
  });
  for (const group of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    list(spec[group]).forEach((container, i) => {
      found.push(...containerViolations(container, `${specPath}.${group}[${i}]`));
    });
  }
  return found;
}
