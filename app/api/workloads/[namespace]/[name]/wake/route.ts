import { withRole } from '@/server/http/route';
import { wakeWorkload, workloadParamsSchema } from '@/server/dashboard/runbook-api';

export const POST = withRole('admin', ({ user, params }) => wakeWorkload(user, params), {
  params: workloadParamsSchema,
});
