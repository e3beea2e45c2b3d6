// GET /health — the process is alive and serving HTTP (liveness); readiness is a separate endpoint.
export const dynamic = 'force-dynamic';

export function GET(): Response {
  return Response.json({ status: 'ok' }, { headers: { 'Cache-Control': 'no-store' } });
}
