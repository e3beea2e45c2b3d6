import { endpointAccess } from '@/agent/http/endpoint-access';
import { metricsEndpoint } from '@/agent/http/endpoints';
import { serveEndpoint } from '@/server/http/endpoint-response';
import { agentHost } from '@/server/runtime/agent-runtime';

export const dynamic = 'force-dynamic';

// GET /metrics — Prometheus exposition of the agent's own registry (PIPEOPS_METRICS_TOKEN: see endpoint-access).
export function GET(req: Request): Promise<Response> {
  const access = endpointAccess(req.headers.get('authorization'));
  return serveEndpoint('/metrics', () => metricsEndpoint(agentHost().metrics, access));
}
