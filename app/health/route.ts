import { healthEndpoint } from '@/agent/http/endpoints';
import { serveEndpoint } from '@/server/http/endpoint-response';

export const dynamic = 'force-dynamic';

// GET /health — the process is alive and serving HTTP (liveness); readiness is /ready.
export function GET(): Promise<Response> {
  return serveEndpoint('/health', () => healthEndpoint());
}
