import 'server-only';
import type { RuntimeSnapshot } from '@/agent/runtime';
import { agentHost } from './agent-runtime';

export type DashboardAgentState =
  { configured: true; snapshot: RuntimeSnapshot } | { configured: false; reason: string };

/** What the dashboard shows about the agent runtime (never secrets: the snapshot holds none). */
export function dashboardAgentState(): DashboardAgentState {
  const host = agentHost();
  if (!host.runtime) return { configured: false, reason: host.disabledReason ?? 'agent runtime not configured' };
  return { configured: true, snapshot: host.runtime.snapshot() };
}
