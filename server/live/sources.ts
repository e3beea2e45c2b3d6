import 'server-only';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { managedSelector } from '@/agent/workloads/annotations';
import { auditComponent } from '@/server/runbook/audit';
import { agentParts, auditPart, workloadsPart } from '@/server/dashboard/view';
import type { LiveUpdate } from '@/server/dashboard/view-model';
import type { AgentRuntime } from '@/agent/runtime';
import type { LiveSource } from './live-hub';

type Publish = (update: LiveUpdate) => void;

/**
 * Coalesces bursts (a rollout fires dozens of pod events) into one recompute, at most every `delayMs`,
 * and never runs two recomputes at once.
 */
export class Coalescer {
  readonly #delayMs: number;
  readonly #run: () => Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;

  constructor(delayMs: number, run: () => Promise<void>) {
    this.#delayMs = delayMs;
    this.#run = run;
  }

  trigger(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#timer ??= setTimeout(() => void this.#fire(), this.#delayMs);
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#again = false;
  }

  async #fire(): Promise<void> {
    this.#timer = undefined;
    this.#running = true;
    try {
      await this.#run();
    } catch {
      // a failed recompute is retried by the next change
    } finally {
      this.#running = false;
    }
    if (this.#again) {
      this.#again = false;
      this.trigger();
    }
  }
}

/** The runtime's state (identity, link, tunnel) whenever the runtime says it changed. */
export function runtimeSource(runtime: AgentRuntime | undefined): LiveSource {
  let listener: (() => void) | undefined;
  let coalescer: Coalescer | undefined;
  return {
    start(publish: Publish): void {
      if (!runtime) return;
      coalescer = new Coalescer(100, async () => {
        publish({ topic: 'agent', sentAt: Date.now(), data: agentParts() });
      });
      listener = (): void => coalescer?.trigger();
      runtime.events.on('change', listener);
    },
    async stop(): Promise<void> {
      if (runtime && listener) runtime.events.off('change', listener);
      coalescer?.cancel();
      listener = undefined;
    },
  };
}

interface WatchSpec {
  path: string;
  query: Record<string, string>;
  /** Which recompute an event of this watch triggers. */
  affects: (object: {
    metadata?: { namespace?: string };
    source?: { component?: string };
  }) => 'workloads' | 'audit' | undefined;
}

/**
 * Kubernetes watches that feed the workloads and audit parts: managed Deployments (label selector), pods
 * (only events in namespaces that hold a managed workload trigger a recompute) and the dashboard's own audit
 * Events. A watch that ends or fails is restarted after a short pause; the recompute itself LISTs once per
 * burst, which keeps the views exactly what GET /api/dashboard would return.
 */
export function clusterSource(kc: KubeConfig): LiveSource {
  const namespaces = new Set<string>();
  const aborts = new Set<AbortController>();
  let stopped = true;
  let workloads: Coalescer | undefined;
  let audit: Coalescer | undefined;

  const specs: WatchSpec[] = [
    { path: '/apis/apps/v1/deployments', query: { labelSelector: managedSelector }, affects: () => 'workloads' },
    {
      path: '/api/v1/pods',
      query: {},
      affects: (pod) => (pod.metadata?.namespace && namespaces.has(pod.metadata.namespace) ? 'workloads' : undefined),
    },
    {
      path: '/api/v1/events',
      query: { fieldSelector: `source=${auditComponent}` },
      affects: (event) => (event.source?.component === auditComponent ? 'audit' : undefined),
    },
  ];

  function onEvent(spec: WatchSpec, phase: string, object: Parameters<WatchSpec['affects']>[0]): void {
    if (phase === 'BOOKMARK') return;
    const target = spec.affects(object);
    if (target === 'workloads') workloads?.trigger();
    else if (target === 'audit') audit?.trigger();
  }

  /** One watch until it ends (timeout, error, stop); resolves then. */
  function watchOnce(spec: WatchSpec): Promise<void> {
    return new Promise<void>((resolve) => {
      let controller: AbortController | undefined;
      const done = (): void => {
        if (controller) aborts.delete(controller);
        resolve();
      };
      new Watch(kc)
        .watch(spec.path, spec.query, (phase: string, object) => onEvent(spec, phase, object), done)
        .then((started) => {
          controller = started;
          if (stopped) started.abort();
          else aborts.add(started);
        }, done);
    });
  }

  async function watchLoop(spec: WatchSpec): Promise<void> {
    while (!stopped) {
      await watchOnce(spec);
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }

  return {
    start(publish: Publish): void {
      stopped = false;
      workloads = new Coalescer(150, async () => {
        const part = await workloadsPart(kc);
        namespaces.clear();
        for (const workload of part.workloads) namespaces.add(workload.namespace);
        publish({ topic: 'workloads', sentAt: Date.now(), data: part });
      });
      audit = new Coalescer(150, async () => {
        publish({ topic: 'audit', sentAt: Date.now(), data: await auditPart(kc) });
      });
      workloads.trigger();
      for (const spec of specs) void watchLoop(spec);
    },
    async stop(): Promise<void> {
      stopped = true;
      workloads?.cancel();
      audit?.cancel();
      for (const controller of aborts) controller.abort();
      aborts.clear();
    },
  };
}
