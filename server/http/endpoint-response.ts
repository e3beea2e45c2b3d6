import 'server-only';
import type { EndpointResponse } from '@/agent/http/endpoints';
import { agentHost } from '@/server/runtime/agent-runtime';

/** Turns a framework-neutral endpoint response into a Response and counts it in the agent metrics. */
export async function serveEndpoint(
  route: string,
  produce: () => EndpointResponse | Promise<EndpointResponse>,
): Promise<Response> {
  const response = await produce();
  agentHost().metrics.httpRequests.inc({ route, status: String(response.status) });
  return new Response(response.body, { status: response.status, headers: response.headers });
}
