import { withRole } from '@/server/http/route';
import { downloadBackup } from '@/server/dashboard/runbook-api';

// A backup holds the agent state and workload specs: admins only, although it is a GET.
export const GET = withRole('admin', ({ user }) => downloadBackup(user));
