import { withSession } from '@/server/http/route';
import { buildDashboardView } from '@/server/dashboard/view';

export const dynamic = 'force-dynamic';

export const GET = withSession(({ user }) => buildDashboardView(user));
