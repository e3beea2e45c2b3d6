import type { DashboardView } from '@/server/dashboard/view-model';
import { SignOutButton } from '@/components/sign-out-button';
import type { LiveStatus } from './use-live-updates';
import { Badge } from './ui';

const liveText: Record<LiveStatus, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
};

function LiveIndicator({ status }: { status: LiveStatus }) {
  const dot = status === 'live' ? 'bg-green-500' : 'animate-pulse bg-amber-500';
  return (
    <span
      role="status"
      data-testid="live-indicator"
      data-state={status}
      title={status === 'live' ? 'Receiving live updates' : 'Live updates interrupted; the data may be stale'}
      className="inline-flex items-center gap-1.5 text-xs text-zinc-600 dark:text-zinc-300"
    >
      <span aria-hidden="true" className={`h-2 w-2 rounded-full ${dot}`} />
      {liveText[status]}
    </span>
  );
}

export function DashboardHeader({ view, live }: { view: DashboardView; live: LiveStatus }) {
  const { agent, viewer } = view;
  return (
    <header className="mb-4 flex flex-wrap items-center justify-between gap-x-6 gap-y-2">
      <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
        <h1 className="text-2xl font-bold">pipeops-agent</h1>
        <span className="font-mono text-sm">{agent.clusterName ?? 'unnamed cluster'}</span>
        <span className="font-mono text-sm text-zinc-500 dark:text-zinc-400">v{agent.version}</span>
        <LiveIndicator status={live} />
      </div>
      <div className="flex items-center gap-2 text-sm">
        <span data-testid="viewer-name">{viewer.name}</span>
        <Badge tone={viewer.role === 'admin' ? 'info' : 'neutral'}>{viewer.role}</Badge>
        <SignOutButton />
      </div>
    </header>
  );
}
