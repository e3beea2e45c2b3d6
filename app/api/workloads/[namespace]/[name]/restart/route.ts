import { withRole } from '@/server/http/route';
import { restartWorkload, workloadParamsSchema } from '@/server/dashboard/runbook-api';

export const POST = withRole('admin', ({ user, params }) => restartWorkload(user, params), {
  params: workloadParamsSchema,
});
