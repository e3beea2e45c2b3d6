import { detailedHealthEndpoint } from '@/agent/http/endpoints';
import { serveEndpoint } from '@/server/http/endpoint-response';
import { agentHost } from '@/server/runtime/agent-runtime';

export const dynamic = 'force-dynamic';

// GET /api/health/detailed — per hop: control plane, Kubernetes API, tunnel.
export function GET(): Promise<Response> {
  return serveEndpoint('/api/health/detailed', () => detailedHealthEndpoint(agentHost().runtime));
}
