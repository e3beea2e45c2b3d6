import { withRole } from '@/server/http/route';
import { scaleBodySchema, scaleWorkload, workloadParamsSchema } from '@/server/dashboard/runbook-api';

export const POST = withRole('admin', ({ user, params, body }) => scaleWorkload(user, params, body.replicas), {
  params: workloadParamsSchema,
  body: scaleBodySchema,
});
