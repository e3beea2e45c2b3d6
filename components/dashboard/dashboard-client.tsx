'use client';

import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { DashboardView } from '@/server/dashboard/view-model';
import { AuditPanel } from './audit-panel';
import { BackupPanel } from './backup-panel';
import { dashboardKey, fetchDashboard } from './api';
import { ClockProvider } from './clock';
import { DashboardHeader } from './dashboard-header';
import { IdentityPanel } from './identity-panel';
import { LinkPanel } from './link-panel';
import { TunnelPanel } from './tunnel-panel';
import { Notice } from './ui';
import { useLiveUpdates } from './use-live-updates';
import { WorkloadsPanel } from './workloads-panel';

function Dashboard({ initialView }: { initialView: DashboardView }) {
  const live = useLiveUpdates();
  // SSE keeps the entry current, so it never goes stale by time; it is refetched only after a feed interruption.
  const { data: view, error } = useQuery({
    queryKey: dashboardKey,
    queryFn: fetchDashboard,
    initialData: initialView,
    staleTime: Infinity,
  });
  return (
    <main className="mx-auto max-w-7xl p-4 sm:p-6">
      <DashboardHeader view={view} live={live} />
      <div className="mb-4 space-y-2 empty:hidden">
        {view.viewer.readOnly ? (
          <Notice tone="warn">Read-only mode: runbook actions are turned off for everyone on this dashboard.</Notice>
        ) : null}
        {error ? <Notice tone="bad">Could not refresh the dashboard: {error.message}</Notice> : null}
      </div>
      <div className="grid gap-4 md:grid-cols-2">
        <IdentityPanel agent={view.agent} />
        <LinkPanel link={view.link} notConnectedReason={view.agent.readiness.reason} />
        <TunnelPanel tunnel={view.tunnel} className="md:col-span-2" />
        <WorkloadsPanel view={view} className="md:col-span-2" />
        <AuditPanel audit={view.audit} className="md:col-span-2" />
        <BackupPanel view={view} className="md:col-span-2" />
      </div>
    </main>
  );
}

/** The whole /dashboard UI. `initialView` comes from the server render, so the first paint has data. */
export function DashboardClient({ initialView }: { initialView: DashboardView }) {
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { refetchOnWindowFocus: false, retry: 1 } } }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <ClockProvider start={Date.parse(initialView.generatedAt)}>
        <Dashboard initialView={initialView} />
      </ClockProvider>
    </QueryClientProvider>
  );
}
