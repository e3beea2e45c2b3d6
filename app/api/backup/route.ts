import { methodNotAllowed, withRole } from '@/server/http/route';
import { downloadBackup } from '@/server/dashboard/runbook-api';

// A backup holds the agent state and workload specs: admins only. It writes an audit Event, so it is a
// POST (with the Origin check of every POST); it changes nothing else, so read-only mode allows it.
export const POST = withRole('admin', ({ user }) => downloadBackup(user), { readsOnly: true });

export function GET(): Response {
  return methodNotAllowed(
    'POST',
    'a backup download is recorded in the audit log, so it is a POST from the dashboard page; a link cannot take one',
  );
}
