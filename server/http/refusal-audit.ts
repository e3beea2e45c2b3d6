import 'server-only';
import { dashboardLogger } from '@/server/auth/logger';
import type { SessionUser } from '@/server/auth/roles';
import { ApiError } from './api-error';
import { clientAddress } from './client-address';

const refusalStatuses = new Set([401, 403]);

/**
 * Refused attempts (401, 403 incl. CSRF and read-only) leave a JSON audit line on stdout, like every
 * change does: a probe or a forged request is as much a part of the audit trail as an action.
 */
export function auditRefusal(req: Request, error: unknown, user?: SessionUser | null): void {
  if (!(error instanceof ApiError) || !refusalStatuses.has(error.status)) return;
  const audit = {
    action: 'refused',
    status: error.status,
    code: error.code,
    method: req.method,
    path: new URL(req.url).pathname,
    address: clientAddress(req.headers),
    ...(user ? { actor: { name: user.name, role: user.role } } : {}),
  };
  dashboardLogger().warn({ audit }, `refused ${req.method} ${audit.path}: ${error.message}`);
}
