import { describe, expect, it } from 'vitest';
import { baselineViolations } from './pod-security';

function template(spec: Record<string, unknown>, annotations?: Record<string, string>): unknown {
  return { metadata: { annotations }, spec };
}

const plain = { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] };

function withContainer(extra: Record<string, unknown>): unknown {
  return template({ containers: [{ name: 'app', image: 'x', ...extra }] });
}

describe('Pod Security Standards baseline', () => {
  it('passes a minimally specified pod and the allowed values', () => {
    expect(baselineViolations(template(plain))).toEqual([]);
    const allowed = template(
      {
        hostNetwork: false,
        securityContext: {
          seccompProfile: { type: 'RuntimeDefault' },
          seLinuxOptions: { type: 'container_t' },
          appArmorProfile: { type: 'Localhost', localhostProfile: 'p' },
          sysctls: [{ name: 'net.ipv4.tcp_keepalive_time', value: '60' }],
        },
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: [
          {
            name: 'app',
            image: 'x',
            ports: [{ containerPort: 80, hostPort: 0 }],
            securityContext: {
              privileged: false,
              procMount: 'Default',
              capabilities: { add: ['NET_BIND_SERVICE', 'CAP_CHOWN'], drop: ['ALL'] },
            },
          },
        ],
      },
      { 'container.apparmor.security.beta.kubernetes.io/app': 'runtime/default' },
    );
    expect(baselineViolations(allowed)).toEqual([]);
  });

  it.each([
    ['host network', template({ ...plain, hostNetwork: true }), 'spec.template.spec.hostNetwork is true'],
    ['host PID', template({ ...plain, hostPID: true }), 'spec.template.spec.hostPID is true'],
    ['host IPC', template({ ...plain, hostIPC: true }), 'spec.template.spec.hostIPC is true'],
    [
      'a hostPath volume',
      template({ ...plain, volumes: [{ name: 'root', hostPath: { path: '/' } }] }),
      'spec.template.spec.volumes[0] (root) is a hostPath volume',
    ],
    [
      'privileged',
      withContainer({ securityContext: { privileged: true } }),
      'containers[0].securityContext.privileged is true',
    ],
    [
      'SYS_ADMIN',
      withContainer({ securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }),
      'containers[0].securityContext.capabilities.add has SYS_ADMIN',
    ],
    ['a host port', withContainer({ ports: [{ containerPort: 80, hostPort: 80 }] }), 'ports[0].hostPort is 80'],
    ['procMount Unmasked', withContainer({ securityContext: { procMount: 'Unmasked' } }), 'procMount is Unmasked'],
    [
      'seccomp Unconfined on the pod',
      template({ ...plain, securityContext: { seccompProfile: { type: 'Unconfined' } } }),
      'spec.template.spec.securityContext.seccompProfile.type is Unconfined',
    ],
    [
      'seccomp Unconfined on a container',
      withContainer({ securityContext: { seccompProfile: { type: 'Unconfined' } } }),
      'containers[0].securityContext.seccompProfile.type is Unconfined',
    ],
    [
      'an unsafe sysctl',
      template({ ...plain, securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }] } }),
      'sysctls[0] is kernel.msgmax',
    ],
    [
      'AppArmor unconfined (field)',
      withContainer({ securityContext: { appArmorProfile: { type: 'Unconfined' } } }),
      'appArmorProfile.type is Unconfined',
    ],
    [
      'AppArmor unconfined (annotation)',
      template(plain, { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' }),
      'container.apparmor.security.beta.kubernetes.io/app"] is unconfined',
    ],
    [
      'an SELinux type',
      template({ ...plain, securityContext: { seLinuxOptions: { type: 'spc_t' } } }),
      'seLinuxOptions.type is spc_t',
    ],
    [
      'an SELinux user',
      withContainer({ securityContext: { seLinuxOptions: { user: 'system_u' } } }),
      'seLinuxOptions.user is set',
    ],
    [
      'a Windows HostProcess container',
      withContainer({ securityContext: { windowsOptions: { hostProcess: true } } }),
      'windowsOptions.hostProcess is true',
    ],
    [
      'a probe against another host',
      withContainer({ livenessProbe: { httpGet: { host: '10.0.0.1', port: 80 } } }),
      'livenessProbe.httpGet.host is 10.0.0.1',
    ],
    [
      'a privileged init container',
      template({ ...plain, initContainers: [{ name: 'init', image: 'x', securityContext: { privileged: true } }] }),
      'initContainers[0].securityContext.privileged is true',
    ],
  ])('refuses %s and names the field and the rule', (_, pod, message) => {
    const violations = baselineViolations(pod);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain(message);
    expect(violations[0]).toMatch(/\(baseline[^)]*\)$/);
  });

  it('lists every violation of one pod, not only the first', () => {
    const pod = template({
      hostNetwork: true,
      hostPID: true,
      volumes: [{ name: 'root', hostPath: { path: '/' } }],
      containers: [
        { name: 'app', image: 'x', securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } } },
      ],
    });
    expect(baselineViolations(pod)).toHaveLength(5);
  });
});
