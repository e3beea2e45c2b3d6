import { withRole } from '@/server/http/route';
import { restoreBodySchema, restoreMaxBodyBytes, restorePreview } from '@/server/dashboard/runbook-api';

export const POST = withRole('admin', ({ body }) => restorePreview(body.yaml), {
  body: restoreBodySchema,
  maxBodyBytes: restoreMaxBodyBytes,
});
