import type { Metadata } from 'next';
import { DashboardClient } from '@/components/dashboard/dashboard-client';
import { requireSession } from '@/server/auth/session';
import { buildDashboardView } from '@/server/dashboard/view';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Dashboard · pipeops-agent' };

export default async function DashboardPage() {
  const user = await requireSession('/dashboard');
  // The same view GET /api/dashboard returns, so the first paint has data before the SSE feed connects.
  const view = await buildDashboardView(user);
  return <DashboardClient initialView={view} />;
}
