import 'server-only';
import { ApiError } from '@/server/http/api-error';
import { isReadOnly } from './auth-config';

export const readOnlyMessage = 'the dashboard is read-only (PIPEOPS_DASHBOARD_READ_ONLY=true): changes are disabled';

/**
 * Read-only mode is checked where a change is made, not only in one route wrapper: a route or token
 * path that skips the wrapper (the bearer-token activity API did) must not become a way around it.
 */
export function assertWritable(): void {
  if (isReadOnly()) throw new ApiError(403, 'read_only', readOnlyMessage);
}
