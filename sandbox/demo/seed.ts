/**
 * Creates the demo samples (sandbox/demo/samples.ts) with an admin kubeconfig. Idempotent: an object
 * that already exists is left exactly as it is, because after the first run the TTL controller owns
 * the samples' replicas and state annotations; re-running the demo never duplicates or resets them
 * (`kubectl delete namespace demo` starts over).
 */
import {
  ApiException,
  AppsV1Api,
  AutoscalingV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Deployment,
  type V1HorizontalPodAutoscaler,
  type V1Service,
} from '@kubernetes/client-node';
import { demoNamespace, demoNamespaceObject, demoSamples, type DemoSample } from './samples';

export type SeedOutcome = 'created' | 'kept';

export interface SeededSample {
  name: string;
  watch: string;
  outcome: SeedOutcome;
}

/** Runs `create`; a 409 AlreadyExists means the object is there already and is kept. */
async function createUnlessPresent(create: () => Promise<unknown>): Promise<SeedOutcome> {
  try {
    await create();
    return 'created';
  } catch (error) {
    if (error instanceof ApiException && error.code === 409) return 'kept';
    throw error;
  }
}

interface Clients {
  core: CoreV1Api;
  apps: AppsV1Api;
  autoscaling: AutoscalingV1Api;
}

async function seedSample(clients: Clients, namespace: string, sample: DemoSample): Promise<SeedOutcome> {
  const outcome = await createUnlessPresent(() =>
    clients.apps.createNamespacedDeployment({ namespace, body: sample.deployment satisfies V1Deployment }),
  );
  const { service, hpa } = sample;
  if (service) {
    await createUnlessPresent(() =>
      clients.core.createNamespacedService({ namespace, body: service satisfies V1Service }),
    );
  }
  if (hpa) {
    await createUnlessPresent(() =>
      clients.autoscaling.createNamespacedHorizontalPodAutoscaler({
        namespace,
        body: hpa satisfies V1HorizontalPodAutoscaler,
      }),
    );
  }
  return outcome;
}

/** Creates what is missing of the `demo` namespace and its samples; says per sample what to watch. */
export async function seedDemo(
  kc: KubeConfig,
  options: { namespace?: string; now?: number } = {},
): Promise<SeededSample[]> {
  const namespace = options.namespace ?? demoNamespace;
  const clients: Clients = {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    autoscaling: kc.makeApiClient(AutoscalingV1Api),
  };
  await createUnlessPresent(() => clients.core.createNamespace({ body: demoNamespaceObject(namespace) }));
  const seeded: SeededSample[] = [];
  for (const sample of demoSamples(options.now ?? Date.now(), namespace)) {
    seeded.push({ name: sample.name, watch: sample.watch, outcome: await seedSample(clients, namespace, sample) });
  }
  return seeded;
}
