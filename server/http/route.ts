import 'server-only';
import type { NextRequest } from 'next/server';
import { z } from 'zod';
import { dashboardLogger } from '@/server/auth/logger';
import { assertWritable } from '@/server/auth/read-only';
import { hasRole, type Role, type SessionUser } from '@/server/auth/roles';
import { currentSessionUser } from '@/server/auth/session';
import { ApiError, forbidden, fromZodError, internalError, unauthorized } from './api-error';
import { viaTrustedProxy } from './client-address';
import { auditRefusal } from './refusal-audit';

type RawParams = Record<string, string | string[] | undefined>;

export interface RouteSchemas {
  body?: z.ZodType;
  query?: z.ZodType;
  params?: z.ZodType;
  /** Larger bodies than the default 64 KiB (a restore upload). */
  maxBodyBytes?: number;
  /**
   * A POST that changes nothing in the cluster but its audit record (a backup download): it keeps the
   * Origin check of every POST, but read-only mode does not refuse it.
   */
  readsOnly?: boolean;
}

type Parsed<S, Fallback> = S extends z.ZodType ? z.output<S> : Fallback;

export interface RouteContext<S extends RouteSchemas> {
  req: NextRequest;
  user: SessionUser;
  body: Parsed<S['body'], undefined>;
  query: Parsed<S['query'], Record<string, string>>;
  params: Parsed<S['params'], RawParams>;
}

/** What a handler returns: a Response as is, or a value sent as JSON with status 200. */
export type RouteHandler<S extends RouteSchemas> = (context: RouteContext<S>) => Promise<unknown> | unknown;

/** The function Next calls for an exported GET/POST/...; `params` is a promise since Next 15. */
export type NextRouteHandler = (req: NextRequest, context: { params: Promise<RawParams> }) => Promise<Response>;

/** Looks up the signed-in user; the only dependency unit tests replace. */
export type SessionLookup = () => Promise<SessionUser | null>;

const maxBodyBytes = 64 * 1024;
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

function firstValue(header: string | null): string | undefined {
  return header?.split(',')[0]?.trim() || undefined;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * The origins this request may come from: the one it was sent to (scheme, host and port; the app
 * itself speaks plain HTTP, and X-Forwarded-Proto/Host count only from a trusted proxy, see
 * client-address.ts), and NEXTAUTH_URL's when it is set.
 */
export function expectedOrigins(req: Request): string[] {
  const origins = new Set<string>();
  const configured = process.env.NEXTAUTH_URL ? originOf(process.env.NEXTAUTH_URL) : undefined;
  if (configured) origins.add(configured);
  const trusted = viaTrustedProxy(req.headers);
  const forwardedHost = trusted ? firstValue(req.headers.get('x-forwarded-host')) : undefined;
  const host = forwardedHost ?? firstValue(req.headers.get('host'));
  const proto = (trusted ? firstValue(req.headers.get('x-forwarded-proto')) : undefined) ?? 'http';
  const direct = host && /^https?$/.test(proto) ? originOf(`${proto}://${host}`) : undefined;
  if (direct) origins.add(direct);
  return [...origins];
}

/**
 * CSRF defence for cookie-authenticated mutations: the browser's Origin header must be exactly (scheme,
 * host and port) an origin this request may come from. Browsers always send Origin on cross-site
 * POST/PUT/PATCH/DELETE and a page cannot forge it; a request without one did not come from our page.
 */
export function assertSameOrigin(req: Request): void {
  const origin = req.headers.get('origin');
  if (!origin) {
    throw forbidden('missing Origin header: changes are accepted only from the dashboard page in a browser', 'csrf');
  }
  const expected = expectedOrigins(req);
  const given = originOf(origin);
  if (!given || !expected.includes(given)) {
    throw forbidden(
      `cross-site request refused: Origin ${origin} does not match ${expected.join(' or ') || '(no Host header)'}`,
      'csrf',
    );
  }
}

function parseWith(schema: z.ZodType, input: unknown, where: string): unknown {
  const result = schema.safeParse(input);
  if (!result.success) throw fromZodError(result.error, where, input);
  return result.data;
}

function tooLarge(limit: number): ApiError {
  const size = limit >= 1024 ? `${Math.floor(limit / 1024)} KiB` : `${limit} bytes`;
  return new ApiError(413, 'payload_too_large', `request body is larger than ${size}`);
}

/**
 * Reads at most `limit` bytes: a declared Content-Length over it is refused before reading, and a
 * chunked or lying body is cut off (and the stream cancelled) as soon as it passes the limit.
 */
export async function readBodyText(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJsonBody(req: Request, limit: number): Promise<unknown> {
  const text = await readBodyText(req, limit);
  if (text.trim() === '') return {};
  if (!req.headers.get('content-type')?.toLowerCase().includes('application/json')) {
    throw new ApiError(415, 'unsupported_media_type', 'request body must be JSON (Content-Type: application/json)');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'invalid_request', 'request body is not valid JSON');
  }
}

// A route without a body schema takes none; an empty JSON object is what generic clients send.
const noBodyLimit = 16;

async function refuseBody(req: Request): Promise<void> {
  if (safeMethods.has(req.method.toUpperCase())) return;
  const text = (await readBodyText(req, noBodyLimit)).trim();
  if (text !== '' && text !== '{}') {
    throw new ApiError(400, 'invalid_request', 'this endpoint takes no request body (send none, or {})');
  }
}

async function parseInputs<S extends RouteSchemas>(
  req: NextRequest,
  rawParams: RawParams,
  schemas: S,
): Promise<Pick<RouteContext<S>, 'body' | 'query' | 'params'>> {
  const rawQuery = Object.fromEntries(new URL(req.url).searchParams);
  const params = schemas.params ? parseWith(schemas.params, rawParams, 'path parameters') : rawParams;
  const query = schemas.query ? parseWith(schemas.query, rawQuery, 'query') : rawQuery;
  const limit = schemas.maxBodyBytes ?? maxBodyBytes;
  if (!schemas.body) await refuseBody(req);
  const body = schemas.body ? parseWith(schemas.body, await readJsonBody(req, limit), 'request body') : undefined;
  return { body, query, params } as Pick<RouteContext<S>, 'body' | 'query' | 'params'>;
}

function toResponse(result: unknown): Response {
  if (result instanceof Response) return result;
  return Response.json(result ?? null, { headers: { 'Cache-Control': 'no-store' } });
}

function errorResponse(error: unknown, req: Request): Response {
  if (error instanceof ApiError) return error.toResponse();
  if (error instanceof z.ZodError) return fromZodError(error, 'input').toResponse();
  const path = new URL(req.url).pathname;
  dashboardLogger().error({ err: error, method: req.method, path }, 'API route failed');
  return internalError().toResponse();
}

function authorize(req: Request, user: SessionUser | null, role: Role, readsOnly = false): SessionUser {
  if (!user) throw unauthorized('sign in to use the dashboard API');
  if (!hasRole(user.role, role)) {
    throw forbidden(`this needs the ${role} role; ${user.name} is signed in as ${user.role}`);
  }
  if (!safeMethods.has(req.method.toUpperCase())) {
    assertSameOrigin(req);
    if (!readsOnly) assertWritable();
  }
  return user;
}

/** Route wrappers bound to a session lookup; the app uses the exports below, tests pass their own lookup. */
export function createRouteWrappers(lookup: SessionLookup): {
  withRole: <S extends RouteSchemas = RouteSchemas>(
    role: Role,
    handler: RouteHandler<S>,
    schemas?: S,
  ) => NextRouteHandler;
  withSession: <S extends RouteSchemas = RouteSchemas>(handler: RouteHandler<S>, schemas?: S) => NextRouteHandler;
} {
  function withRole<S extends RouteSchemas = RouteSchemas>(
    role: Role,
    handler: RouteHandler<S>,
    schemas?: S,
  ): NextRouteHandler {
    return async (req, context) => {
      let session: SessionUser | null = null;
      try {
        session = await lookup();
        const user = authorize(req, session, role, schemas?.readsOnly);
        const inputs = await parseInputs(req, (await context?.params) ?? {}, schemas ?? ({} as S));
        return toResponse(await handler({ req, user, ...inputs }));
      } catch (error) {
        auditRefusal(req, error, session);
        return errorResponse(error, req);
      }
    };
  }
  const withSession = <S extends RouteSchemas = RouteSchemas>(
    handler: RouteHandler<S>,
    schemas?: S,
  ): NextRouteHandler => withRole('viewer', handler, schemas);
  return { withRole, withSession };
}

/**
 * `withRole('admin', handler, { body, query, params })`: 401 without a session, 403 for a lower role, and for
 * any non-GET also the Origin check and read-only mode; inputs are parsed with zod (400); ApiError becomes its
 * status, anything else a logged 500. The session is read here on the server; no proxy is trusted for this.
 */
export const { withRole, withSession } = createRouteWrappers(currentSessionUser);

/**
 * The answer for a method a route does not take, e.g. `GET /api/backup`: work with a side effect runs only
 * on POST, which a link or an image cannot send, and whose Origin check stops a cross-site form.
 */
export function methodNotAllowed(allowed: 'POST', why: string): Response {
  const error = new ApiError(405, 'method_not_allowed', `use ${allowed}: ${why}`);
  return Response.json(error.toJSON(), { status: 405, headers: { Allow: allowed, 'Cache-Control': 'no-store' } });
}
