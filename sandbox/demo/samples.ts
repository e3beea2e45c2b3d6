/**
 * The managed workloads `npm run demo` seeds in the `demo` namespace, one per thing the TTL controller
 * does, so a newcomer sees every phase within two minutes without labelling anything by hand. KWOK runs
 * the pods (they become Ready by themselves; no container runs), so any image name serves.
 */
import type { V1Deployment, V1HorizontalPodAutoscaler, V1Namespace, V1Service } from '@kubernetes/client-node';
import { managedLabel, workloadAnnotations as a } from '../../agent/workloads/annotations';
import { timestamp } from '../../agent/workloads/ttl-patches';

export const demoNamespace = 'demo';

/** The forward the demo's agent gets to the notebook sample: connecting to it wakes the notebook. */
export const notebookForward = 'notebook';

export interface DemoSample {
  name: string;
  /** One line for the terminal: what to look at on the dashboard. */
  watch: string;
  deployment: V1Deployment;
  service?: V1Service;
  hpa?: V1HorizontalPodAutoscaler;
}

interface DeploymentSpec {
  name: string;
  image: string;
  replicas: number;
  annotations: Record<string, string>;
}

function deployment(namespace: string, { name, image, replicas, annotations }: DeploymentSpec): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace,
      labels: { app: name, [managedLabel]: 'true', 'app.kubernetes.io/part-of': 'pipeops-demo' },
      annotations,
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image, ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}

function service(namespace: string, name: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { app: name } },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

function hpa(namespace: string, name: string, minReplicas: number, maxReplicas: number): V1HorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas,
      maxReplicas,
      targetCPUUtilizationPercentage: 70,
    },
  };
}

/**
 * The samples as of `now` (the keep-awake deadline and the notebook's sleep are dated from it). Only
 * ever created, never updated: after the first run the agent owns their replicas and state annotations.
 */
export function demoSamples(now: number, namespace: string = demoNamespace): DemoSample[] {
  const minute = 60_000;
  return [
    {
      name: 'web-preview',
      watch: 'TTL 1m: Running, counts down and scales to 0 about a minute after the agent first sees it',
      deployment: deployment(namespace, {
        name: 'web-preview',
        image: 'registry.example/web:1.4',
        replicas: 2,
        annotations: { [a.ttl]: '1m' },
      }),
      service: service(namespace, 'web-preview'),
    },
    {
      name: 'api-staging',
      watch: 'TTL 8h: Running with a long countdown; "Wake" / "Keep awake" reset it',
      deployment: deployment(namespace, {
        name: 'api-staging',
        image: 'registry.example/api:2.0',
        replicas: 1,
        annotations: { [a.ttl]: '8h' },
      }),
      service: service(namespace, 'api-staging'),
    },
    {
      name: 'reports',
      watch: 'TTL 1m but kept awake for 24h (pipeops.io/keep-awake-until): stays Running past its TTL',
      deployment: deployment(namespace, {
        name: 'reports',
        image: 'registry.example/reports:0.9',
        replicas: 1,
        annotations: {
          [a.ttl]: '1m',
          [a.keepAwakeUntil]: timestamp(now + 24 * 60 * minute),
        },
      }),
    },
    {
      name: 'queue-worker',
      watch: 'TTL 2m with an HPA: never scaled to 0, the phase message says why (TTL paused, hpa: …)',
      deployment: deployment(namespace, {
        name: 'queue-worker',
        image: 'registry.example/worker:3.1',
        replicas: 2,
        annotations: { [a.ttl]: '2m' },
      }),
      hpa: hpa(namespace, 'queue-worker', 2, 4),
    },
    {
      name: 'broken-ttl',
      watch: 'pipeops.io/ttl "5 minutes" is invalid: Error phase with the reason, and an InvalidTTL Event',
      deployment: deployment(namespace, {
        name: 'broken-ttl',
        image: 'registry.example/web:1.4',
        replicas: 1,
        annotations: { [a.ttl]: '5 minutes' },
      }),
    },
    {
      name: 'notebook',
      watch: `asleep (ScaledDown): connect to the tunnel forward "${notebookForward}" (printed below) and it wakes`,
      deployment: deployment(namespace, {
        name: 'notebook',
        image: 'registry.example/notebook:7.2',
        replicas: 0,
        annotations: {
          [a.ttl]: '2m',
          [a.originalReplicas]: '1',
          [a.lastActivity]: timestamp(now - 10 * minute),
          [a.lastActivitySource]: 'demo-seed',
          [a.scaledDownAt]: timestamp(now - 8 * minute),
          [a.scaleDownReason]: 'no activity for 2m (TTL 2m; last: demo-seed)',
        },
      }),
      service: service(namespace, 'notebook'),
    },
  ];
}

export function demoNamespaceObject(name: string = demoNamespace): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'app.kubernetes.io/part-of': 'pipeops-demo' } },
  };
}
