import { NextRequest } from 'next/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { SessionUser } from '@/server/auth/roles';
import { badRequest } from './api-error';
import { createRouteWrappers } from './route';

const admin: SessionUser = { name: 'alice', role: 'admin' };
const viewer: SessionUser = { name: 'victor', role: 'viewer' };
const noParams = { params: Promise.resolve({}) };

function post(body: unknown, headers: Record<string, string> = {}): NextRequest {
  return new NextRequest('http://127.0.0.1:8443/api/workloads/web/scale?dry=1', {
    method: 'POST',
    headers: {
      host: '127.0.0.1:8443',
      origin: 'http://127.0.0.1:8443',
      'content-type': 'application/json',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const scaleBody = z.object({ replicas: z.number().int().min(0).max(50, { error: 'must be 0 to 50' }) }).strict();
const scaleQuery = z.object({ dry: z.enum(['0', '1']).transform((v) => v === '1') });

function scaleRoute(user: SessionUser | null): ReturnType<ReturnType<typeof createRouteWrappers>['withRole']> {
  const { withRole } = createRouteWrappers(async () => user);
  return withRole(
    'admin',
    ({ user: who, body, query, params }) => ({ who: who.name, replicas: body.replicas, dry: query.dry, params }),
    { body: scaleBody, query: scaleQuery },
  );
}

async function call(
  route: ReturnType<typeof scaleRoute>,
  req: NextRequest,
  params: Record<string, string> = { name: 'web' },
): Promise<{ status: number; json: unknown }> {
  const response = await route(req, { params: Promise.resolve(params) });
  return { status: response.status, json: await response.json() };
}

describe('withRole / withSession', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('runs the handler for an admin with parsed body, query and params', async () => {
    expect(await call(scaleRoute(admin), post({ replicas: 3 }))).toEqual({
      status: 200,
      json: { who: 'alice', replicas: 3, dry: true, params: { name: 'web' } },
    });
  });

  it('401 without a session', async () => {
    expect(await call(scaleRoute(null), post({ replicas: 3 }))).toEqual({
      status: 401,
      json: { error: { code: 'unauthorized', message: 'sign in to use the dashboard API' } },
    });
  });

  it('403 for a viewer on an admin route', async () => {
    expect(await call(scaleRoute(viewer), post({ replicas: 3 }))).toEqual({
      status: 403,
      json: { error: { code: 'forbidden', message: 'this needs the admin role; victor is signed in as viewer' } },
    });
  });

  it('403 for every mutation in read-only mode, reads still work', async () => {
    vi.stubEnv('PIPEOPS_DASHBOARD_READ_ONLY', 'true');
    expect(await call(scaleRoute(admin), post({ replicas: 3 }))).toEqual({
      status: 403,
      json: {
        error: {
          code: 'read_only',
          message: 'the dashboard is read-only (PIPEOPS_DASHBOARD_READ_ONLY=true): changes are disabled',
        },
      },
    });
    const { withSession } = createRouteWrappers(async () => viewer);
    const read = withSession(({ user }) => ({ name: user.name }));
    const response = await read(new NextRequest('http://127.0.0.1:8443/api/me'), noParams);
    expect(await response.json()).toEqual({ name: 'victor' });
  });

  it('403 for a cross-site POST or one without Origin', async () => {
    expect(await call(scaleRoute(admin), post({ replicas: 3 }, { origin: 'https://evil.example' }))).toEqual({
      status: 403,
      json: {
        error: {
          code: 'csrf',
          message: 'cross-site request refused: Origin https://evil.example does not match http://127.0.0.1:8443',
        },
      },
    });
    const req = post({ replicas: 3 });
    req.headers.delete('origin');
    expect(await call(scaleRoute(admin), req)).toEqual({
      status: 403,
      json: {
        error: {
          code: 'csrf',
          message: 'missing Origin header: changes are accepted only from the dashboard page in a browser',
        },
      },
    });
  });

  it('behind a trusted proxy: Origin against X-Forwarded-Proto/Host (default ports ignored)', async () => {
    vi.stubEnv('PIPEOPS_TRUSTED_PROXIES', '10.0.0.0/8');
    const headers = {
      origin: 'https://ops.example.com',
      host: '10.0.0.7:3000',
      'x-forwarded-host': 'ops.example.com:443',
      'x-forwarded-proto': 'https',
      'x-pipeops-peer-address': '10.0.0.1',
    };
    expect((await call(scaleRoute(admin), post({ replicas: 1 }, headers))).status).toBe(200);
    const spoofed = { ...headers, 'x-forwarded-host': 'other.example.com' };
    expect((await call(scaleRoute(admin), post({ replicas: 1 }, spoofed))).status).toBe(403);
  });

  it('X-Forwarded-Host from an untrusted peer is ignored; scheme and port must match too (finding 7)', async () => {
    const forged = {
      origin: 'https://attacker.example',
      host: '127.0.0.1:8443',
      'x-forwarded-host': 'attacker.example',
      'x-forwarded-proto': 'https',
      'x-pipeops-peer-address': '192.0.2.1',
    };
    expect((await call(scaleRoute(admin), post({ replicas: 1 }, forged))).status).toBe(403);
    expect((await call(scaleRoute(admin), post({ replicas: 1 }, { origin: 'https://127.0.0.1:8443' }))).status).toBe(
      403,
    );
    expect((await call(scaleRoute(admin), post({ replicas: 1 }, { origin: 'http://127.0.0.1:9999' }))).status).toBe(
      403,
    );
  });

  it('NEXTAUTH_URL is an accepted origin next to the direct one', async () => {
    vi.stubEnv('NEXTAUTH_URL', 'https://ops.example.com/');
    const headers = { origin: 'https://ops.example.com', host: '10.0.0.7:3000' };
    expect((await call(scaleRoute(admin), post({ replicas: 1 }, headers))).status).toBe(200);
    expect((await call(scaleRoute(admin), post({ replicas: 1 }))).status).toBe(200);
  });

  it('400 for a bad body, bad JSON or a bad query', async () => {
    expect(await call(scaleRoute(admin), post({ replicas: 99, force: true }))).toEqual({
      status: 400,
      json: {
        error: {
          code: 'invalid_request',
          message: 'invalid request body: replicas = 99 is invalid: must be 0 to 50; unknown field "force"',
        },
      },
    });
    expect((await call(scaleRoute(admin), post('{"replicas":'))).json).toEqual({
      error: { code: 'invalid_request', message: 'request body is not valid JSON' },
    });
    const badQuery = new NextRequest('http://127.0.0.1:8443/x?dry=maybe', post({ replicas: 1 }));
    expect((await call(scaleRoute(admin), badQuery)).status).toBe(400);
  });

  it('maps a thrown ApiError to its status and anything else to a logged 500', async () => {
    const { withSession } = createRouteWrappers(async () => admin);
    const fails = withSession(() => {
      throw badRequest('replicas must be set');
    });
    const response = await fails(new NextRequest('http://127.0.0.1:8443/x'), noParams);
    expect(response.status).toBe(400);
    const crashes = withSession(() => {
      throw new Error('kube exploded: token abc');
    });
    const crashed = await crashes(new NextRequest('http://127.0.0.1:8443/x'), noParams);
    expect(crashed.status).toBe(500);
    expect(await crashed.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
  });

  it('passes a handler Response through unchanged', async () => {
    const { withSession } = createRouteWrappers(async () => viewer);
    const route = withSession(() => new Response('text', { status: 202 }));
    const response = await route(new NextRequest('http://127.0.0.1:8443/x'), noParams);
    expect([response.status, await response.text()]).toEqual([202, 'text']);
  });
});

describe('refused attempts are audited', () => {
  it('writes a JSON audit line for 401, 403, CSRF and read-only refusals, with the socket address', async () => {
    const { dashboardLogger } = await import('@/server/auth/logger');
    const warn = vi.spyOn(dashboardLogger(), 'warn').mockImplementation(() => undefined);
    try {
      const peer = { 'x-pipeops-peer-address': '192.0.2.9' };
      await call(scaleRoute(null), post({ replicas: 1 }, peer));
      await call(scaleRoute(viewer), post({ replicas: 1 }, peer));
      await call(scaleRoute(admin), post({ replicas: 1 }, { ...peer, origin: 'https://evil.example' }));
      vi.stubEnv('PIPEOPS_DASHBOARD_READ_ONLY', 'true');
      await call(scaleRoute(admin), post({ replicas: 1 }, peer));
      const audits = warn.mock.calls.map(([fields]) => (fields as { audit: Record<string, unknown> }).audit);
      expect(audits.map((a) => [a.status, a.code, a.address])).toEqual([
        [401, 'unauthorized', '192.0.2.9'],
        [403, 'forbidden', '192.0.2.9'],
        [403, 'csrf', '192.0.2.9'],
        [403, 'read_only', '192.0.2.9'],
      ]);
      expect(audits[1]).toMatchObject({ action: 'refused', method: 'POST', actor: { name: 'victor', role: 'viewer' } });
    } finally {
      warn.mockRestore();
      vi.unstubAllEnvs();
    }
  });
});

describe('request bodies are bounded before they are read', () => {
  const { withRole } = createRouteWrappers(async () => admin);
  const restart = withRole('admin', () => ({ ok: true }));

  function streamOf(bytes: number, chunk = 64 * 1024): ReadableStream<Uint8Array> {
    let sent = 0;
    return new ReadableStream({
      pull(controller) {
        if (sent >= bytes) return controller.close();
        const size = Math.min(chunk, bytes - sent);
        sent += size;
        controller.enqueue(new Uint8Array(size).fill(32));
      },
    });
  }

  function streamed(bytes: number, headers: Record<string, string> = {}): NextRequest {
    return new NextRequest('http://127.0.0.1:8443/api/workloads/web/restart', {
      method: 'POST',
      headers: {
        host: '127.0.0.1:8443',
        origin: 'http://127.0.0.1:8443',
        'content-type': 'application/json',
        ...headers,
      },
      body: streamOf(bytes),
      duplex: 'half',
    } as ConstructorParameters<typeof NextRequest>[1]);
  }

  it('a route without a body refuses one (finding 7: restart acted on a 50 MB body)', async () => {
    const response = await call(restart, post({ replicas: 3 }));
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({
      error: { message: 'this endpoint takes no request body (send none, or {})' },
    });
    expect((await call(restart, post({}))).status).toBe(200);
    expect((await call(restart, post(''))).status).toBe(200);
  });

  it('a declared Content-Length over the limit is refused with 413 before reading', async () => {
    const response = await call(restart, streamed(50 * 1024 * 1024, { 'content-length': String(50 * 1024 * 1024) }));
    expect(response.status).toBe(413);
  });

  it('a chunked body is cut off once it passes the limit', async () => {
    const route = withRole('admin', ({ body }) => body, { body: z.object({}).passthrough() });
    const response = await call(route, streamed(50 * 1024 * 1024));
    expect(response.status).toBe(413);
    expect(response.json).toMatchObject({ error: { message: 'request body is larger than 64 KiB' } });
  });
});

describe('state-changing work only on POST (GET /api/backup wrote an audit Event on a cross-site navigation)', () => {
  afterEach(() => vi.unstubAllEnvs());

  function backupRequest(method: 'GET' | 'POST', origin?: string): NextRequest {
    return new NextRequest('http://127.0.0.1:8443/api/backup', {
      method,
      headers: { host: '127.0.0.1:8443', ...(origin ? { origin } : {}) },
    });
  }

  it('GET /api/backup answers 405 naming POST, without running the download', async () => {
    const { GET } = await import('@/app/api/backup/route');
    const response = GET();
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toMatchObject({
      error: { code: 'method_not_allowed', message: expect.stringMatching(/^use POST: /) },
    });
  });

  it('a POST that only reads keeps the Origin check and is allowed in read-only mode', async () => {
    const ran = vi.fn(() => ({ ok: true }));
    const { withRole } = createRouteWrappers(async () => admin);
    const download = withRole('admin', ran, { readsOnly: true });
    const crossSite = await download(backupRequest('POST', 'https://attacker.example'), noParams);
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toMatchObject({ error: { code: 'csrf' } });
    expect((await download(backupRequest('POST'), noParams)).status).toBe(403);
    expect(ran).not.toHaveBeenCalled();

    vi.stubEnv('PIPEOPS_DASHBOARD_READ_ONLY', 'true');
    expect((await download(backupRequest('POST', 'http://127.0.0.1:8443'), noParams)).status).toBe(200);
    expect(ran).toHaveBeenCalledTimes(1);
  });
});
