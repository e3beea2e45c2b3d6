import path from 'node:path';
import type { SandboxPki } from './pki';
import type { ComponentName, SandboxLayout } from './state';
import type { BinaryPaths } from './versions';

export interface SandboxPorts {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

export interface ComponentLaunch {
  name: ComponentName;
  bin: string;
  port: number;
  args: string[];
}

interface LaunchContext {
  bins: BinaryPaths;
  pki: SandboxPki;
  layout: SandboxLayout;
  ports: SandboxPorts;
}

// Everything binds to 127.0.0.1 only; `--advertise-address=127.0.0.1` needs the `none` endpoint
// reconciler because the API server refuses to write loopback addresses into the kubernetes Endpoints.
export function etcdLaunch({ bins, layout, ports }: LaunchContext): ComponentLaunch {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return {
    name: 'etcd',
    bin: bins.etcd,
    port: ports.etcdClient,
    args: [
      '--name=sandbox',
      `--data-dir=${layout.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=sandbox=${peer}`,
      '--listen-metrics-urls=',
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=2147483648',
      '--log-level=warn',
    ],
  };
}

export function apiServerLaunch({ bins, pki, layout, ports }: LaunchContext): ComponentLaunch {
  return {
    name: 'kube-apiserver',
    bin: bins.kubeApiserver,
    port: ports.apiServer,
    args: [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.apiServer}`,
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      `--audit-policy-file=${path.join(layout.dir, 'audit-policy.yaml')}`,
      `--audit-log-path=${path.join(layout.logDir, 'audit.log')}`,
      '--audit-log-maxsize=100',
      '--audit-log-maxbackup=1',
      '--v=1',
    ],
  };
}

/**
 * Audit only what the agent's ServiceAccounts do (metadata level), so tests and benchmarks can count the
 * agent's API requests; everything else is not audited.
 */
export const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ['system:serviceaccounts:pipeops-system']
  - level: None
`;

export function controllerManagerLaunch({ bins, pki, layout, ports }: LaunchContext): ComponentLaunch {
  const kubeconfig = layout.controllerManagerKubeconfig;
  return {
    name: 'kube-controller-manager',
    bin: bins.kubeControllerManager,
    port: ports.controllerManager,
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--cluster-cidr=10.244.0.0/16',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--v=1',
    ],
  };
}

export function schedulerLaunch({ bins, layout, ports }: LaunchContext): ComponentLaunch {
  const kubeconfig = layout.schedulerKubeconfig;
  return {
    name: 'kube-scheduler',
    bin: bins.kubeScheduler,
    port: ports.scheduler,
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      '--leader-elect=false',
      '--v=1',
    ],
  };
}

export function kwokLaunch({ bins, layout, ports }: LaunchContext): ComponentLaunch {
  return {
    name: 'kwok',
    bin: bins.kwok,
    port: ports.kwok,
    args: [
      `--kubeconfig=${layout.adminKubeconfig}`,
      `--config=${bins.kwokStages}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--node-ip=127.0.0.1',
      '--cidr=10.244.0.0/16',
      '--node-lease-duration-seconds=40',
      `--server-address=127.0.0.1:${ports.kwok}`,
    ],
  };
}

export function logFile(layout: SandboxLayout, name: ComponentName): string {
  return path.join(layout.logDir, `${name}.log`);
}
