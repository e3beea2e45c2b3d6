import { withRole } from '@/server/http/route';
import { restoreApply, restoreBodySchema, restoreMaxBodyBytes } from '@/server/dashboard/runbook-api';

export const POST = withRole('admin', ({ user, body }) => restoreApply(user, body.yaml), {
  body: restoreBodySchema,
  maxBodyBytes: restoreMaxBodyBytes,
});
