import { metricsEndpoint } from '@/agent/http/endpoints';
import { serveEndpoint } from '@/server/http/endpoint-response';
import { agentHost } from '@/server/runtime/agent-runtime';

export const dynamic = 'force-dynamic';

// GET /metrics — Prometheus exposition of the agent's own registry.
export function GET(): Promise<Response> {
  return serveEndpoint('/metrics', () => metricsEndpoint(agentHost().metrics));
}
