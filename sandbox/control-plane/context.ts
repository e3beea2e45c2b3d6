import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestCounters } from './counters';
import type { FaultState } from './faults';
import type { ResolvedOptions } from './options';
import type { Registry } from './registry';
import type { StateStore } from './state';
import type { AgentSockets } from './websocket';
import type { TunnelServer } from '../tunnel-server/server';

/** Everything a handler needs; `faults` is replaced as a whole when the switches change. */
export interface Context {
  options: ResolvedOptions;
  store: StateStore;
  registry: Registry;
  counters: RequestCounters;
  sockets: AgentSockets;
  faults: FaultState;
  /** The embedded reference tunnel server, when the options ask for one. */
  tunnelServer?: TunnelServer;
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Path parameters in pattern order. */
  params: string[];
}

export type Handler = (ctx: Context, exchange: Exchange) => Promise<void>;

/** Who may call a route: agents, the admin, or the admin with test faults enabled. */
export type Access = 'agent' | 'admin' | 'faults';

export interface Route {
  method: 'GET' | 'POST';
  /** The counter key's path, e.g. "/api/v1/clusters/agent/{cluster_uuid}/heartbeat". */
  pattern: string;
  path: RegExp;
  access: Access;
  handler: Handler;
}
