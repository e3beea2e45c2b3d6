import type { KubeConfig } from '@kubernetes/client-node';
import type { AgentConfig } from '../config/schema';
import type { Logger } from '../logging/logger';
import type { AgentMetrics } from '../metrics/agent-metrics';
import type { TunnelForward } from '../tunnel/forwards';
import { systemClock, type Clock } from './clock';
import { TtlController, type TtlStatus } from './controller';
import { WakeCoordinator, type WakeRecord } from './wake';
import { WorkloadResolver } from './workload-map';

export interface TtlServiceOptions {
  kc: KubeConfig;
  logger: Logger;
  metrics: AgentMetrics;
  config: AgentConfig['ttl'];
  forwards: readonly TunnelForward[];
  /** Open connections per tunnel forward right now (an open connection keeps its workload awake). */
  activeConnections?: (forward: string) => number;
  clock?: Clock;
}

export interface TtlServiceStatus extends TtlStatus {
  waking: string[];
  recentWakes: readonly WakeRecord[];
}

/** The TTL controller, the forward → workload resolver and the wake coordinator, wired from config. */
export class TtlService {
  readonly controller: TtlController;
  readonly resolver: WorkloadResolver;
  readonly coordinator: WakeCoordinator;

  constructor(options: TtlServiceOptions) {
    const clock = options.clock ?? systemClock;
    const { config } = options;
    this.controller = new TtlController({
      kc: options.kc,
      logger: options.logger,
      metrics: options.metrics,
      clock,
      namespace: config.namespace,
      defaultMinUptimeMs: config.default_min_uptime,
      maxWritesPerSecond: config.max_writes_per_second,
      activityDebounceMs: config.activity_debounce,
      isConnected: (key) => this.#connected(key, options.activeConnections),
    });
    this.resolver = new WorkloadResolver({
      kc: options.kc,
      clock,
      logger: options.logger,
      forwards: options.forwards,
      deployments: () => this.controller.deployments(),
      namespace: config.namespace,
    });
    this.coordinator = new WakeCoordinator({
      kc: options.kc,
      clock,
      logger: options.logger,
      metrics: options.metrics,
      controller: this.controller,
      resolver: this.resolver,
      wakeTimeoutMs: config.wake_timeout,
    });
  }

  #connected(key: string, active: TtlServiceOptions['activeConnections']): boolean {
    if (!active) return false;
    return this.resolver.forwardsFor(key).some((forward) => active(forward) > 0);
  }

  start(): Promise<void> {
    return this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  status(): TtlServiceStatus {
    return {
      ...this.controller.status(),
      waking: this.coordinator.inFlight(),
      recentWakes: this.coordinator.recentWakes(),
    };
  }
}
