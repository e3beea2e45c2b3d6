import 'server-only';
import type { NextRequest } from 'next/server';
import { dashboardLogger } from '@/server/auth/logger';
import { assertWritable } from '@/server/auth/read-only';
import { workloadParamsSchema } from '@/server/dashboard/runbook-api';
import { ApiError, fromZodError, internalError, unauthorized } from '@/server/http/api-error';
import { auditRefusal } from '@/server/http/refusal-audit';
import { readBodyText, withRole, type NextRouteHandler } from '@/server/http/route';
import { kubeConfig } from '@/server/kubernetes/client';
import { activityBodySchema, activityToken, bearerOf, recordActivity, tokenMatches } from './activity';

const maxBodyBytes = 4096;

/** Signed-in admins (dashboard session, Origin-checked like every dashboard mutation). */
const sessionPost = withRole(
  'admin',
  ({ params, body }) => recordActivity(kubeConfig(), params, body.source ?? 'admin'),
  { params: workloadParamsSchema, body: activityBodySchema },
);

async function tokenBody(req: NextRequest): Promise<{ source?: string }> {
  const text = await readBodyText(req, maxBodyBytes);
  let raw: unknown = {};
  try {
    raw = text.trim() === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    throw new ApiError(400, 'invalid_request', 'request body is not valid JSON');
  }
  const parsed = activityBodySchema.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error, 'request body', raw);
  return parsed.data;
}

/** Tools with `Authorization: Bearer <PIPEOPS_ACTIVITY_TOKEN>`: no session, no cookie, so no CSRF check. */
async function tokenPost(req: NextRequest, bearer: string, rawParams: unknown): Promise<Response> {
  if (!tokenMatches(bearer, activityToken())) throw unauthorized('invalid activity token');
  assertWritable();
  const params = workloadParamsSchema.safeParse(rawParams);
  if (!params.success) throw fromZodError(params.error, 'path parameters', rawParams);
  const body = await tokenBody(req);
  const result = await recordActivity(kubeConfig(), params.data, body.source ?? 'token');
  return Response.json(result, { headers: { 'Cache-Control': 'no-store' } });
}

/** `POST /api/ttl/{namespace}/{name}/activity`: a bearer token when one is sent, else the admin session. */
export const activityPost: NextRouteHandler = async (req, context) => {
  let bearer: string | undefined;
  try {
    bearer = bearerOf(req.headers.get('authorization'));
    if (bearer === undefined) return await sessionPost(req, context);
    return await tokenPost(req, bearer, await context.params);
  } catch (error) {
    // The session path audits its own refusals in the route wrapper.
    if (bearer !== undefined) auditRefusal(req, error);
    if (error instanceof ApiError) return error.toResponse();
    dashboardLogger().error({ err: error, path: new URL(req.url).pathname }, 'activity API failed');
    return internalError().toResponse();
  }
};
