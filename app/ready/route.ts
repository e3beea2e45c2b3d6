import { readyEndpoint } from '@/agent/http/endpoints';
import { serveEndpoint } from '@/server/http/endpoint-response';
import { agentHost } from '@/server/runtime/agent-runtime';

export const dynamic = 'force-dynamic';

// GET /ready — registered and the control link healthy; 503 with the reason otherwise.
export function GET(): Promise<Response> {
  return serveEndpoint('/ready', () => readyEndpoint(agentHost().runtime));
}
