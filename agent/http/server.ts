import http from 'node:http';
import type { AgentMetrics } from '../metrics/agent-metrics';
import type { AgentRuntime } from '../runtime';
import { endpointAccess } from './endpoint-access';
import {
  detailedHealthEndpoint,
  healthEndpoint,
  metricsEndpoint,
  readyEndpoint,
  versionEndpoint,
  type EndpointResponse,
} from './endpoints';

type Route = (req: http.IncomingMessage) => EndpointResponse | Promise<EndpointResponse>;

/** The headless agent's HTTP surface (`npm run agent`); the Next.js app serves the same endpoints. */
export function createAgentHttpServer(runtime: AgentRuntime, metrics: AgentMetrics): http.Server {
  const routes: Record<string, Route> = {
    '/health': () => healthEndpoint(),
    '/ready': () => readyEndpoint(runtime),
    '/version': () => versionEndpoint(),
    '/metrics': (req) => metricsEndpoint(metrics, endpointAccess(req.headers.authorization)),
    '/api/health/detailed': (req) => detailedHealthEndpoint(runtime, endpointAccess(req.headers.authorization)),
  };
  return http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    const route = routes[path];
    const respond = (response: EndpointResponse, label: string): void => {
      metrics.httpRequests.inc({ route: label, status: String(response.status) });
      res.writeHead(response.status, response.headers).end(response.body);
    };
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
      respond(
        {
          status: route ? 405 : 404,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            error: {
              code: route ? 'method_not_allowed' : 'not_found',
              message: route ? 'only GET is allowed' : `no route ${path}`,
            },
          }),
        },
        route ? path : 'unmatched',
      );
      return;
    }
    Promise.resolve(route(req)).then(
      (response) => respond(response, path),
      (error: unknown) =>
        respond(
          {
            status: 500,
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ error: { code: 'internal', message: String(error) } }),
          },
          path,
        ),
    );
  });
}
