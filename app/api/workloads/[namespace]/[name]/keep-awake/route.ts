import { withRole } from '@/server/http/route';
import { keepAwakeBodySchema, keepWorkloadAwake, workloadParamsSchema } from '@/server/dashboard/runbook-api';

export const POST = withRole('admin', ({ user, params, body }) => keepWorkloadAwake(user, params, body.hours), {
  params: workloadParamsSchema,
  body: keepAwakeBodySchema,
});
