import { endpointAccess } from '@/agent/http/endpoint-access';
import { detailedHealthEndpoint } from '@/agent/http/endpoints';
import { serveEndpoint } from '@/server/http/endpoint-response';
import { agentHost } from '@/server/runtime/agent-runtime';

export const dynamic = 'force-dynamic';

// GET /api/health/detailed — per hop: control plane, Kubernetes API, tunnel (addresses only with the metrics token).
export function GET(req: Request): Promise<Response> {
  const access = endpointAccess(req.headers.get('authorization'));
  return serveEndpoint('/api/health/detailed', () => detailedHealthEndpoint(agentHost().runtime, access));
}
