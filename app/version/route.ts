import { versionEndpoint } from '@/agent/http/endpoints';
import { serveEndpoint } from '@/server/http/endpoint-response';

export const dynamic = 'force-dynamic';

// GET /version — the agent's version.
export function GET(): Promise<Response> {
  return serveEndpoint('/version', () => versionEndpoint());
}
