import type { Metadata } from 'next';
import { agentVersion } from '@/agent/version';
import { Field, Panel, StatusBadge } from '@/components/panel';
import { getClusterSummary } from '@/server/kubernetes/cluster-summary';
import { dashboardAgentState } from '@/server/runtime/dashboard-snapshot';
import { AgentIdentityPanel, ControlLinkPanel } from '@/components/agent-panels';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Dashboard · pipeops-agent' };

export default async function DashboardPage() {
  const cluster = await getClusterSummary();
  const agent = dashboardAgentState();
  return (
    <main className="mx-auto max-w-5xl p-4 sm:p-8">
      <header className="mb-6 flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-bold">pipeops-agent</h1>
        <span className="font-mono text-sm text-zinc-500">v{agentVersion}</span>
      </header>
      <div className="grid gap-4 md:grid-cols-2">
        <Panel title="Kubernetes API" testId="kubernetes-panel">
          <dl>
            <Field label="Status">
              <StatusBadge ok={cluster.reachable}>{cluster.reachable ? 'connected' : 'unreachable'}</StatusBadge>
            </Field>
            <Field label="Server">{cluster.server}</Field>
            {cluster.reachable ? (
              <>
                <Field label="Version">{cluster.version}</Field>
                <Field label="Identity">{cluster.identity}</Field>
                <Field label="Nodes">
                  {cluster.nodes.ready}/{cluster.nodes.total} Ready
                </Field>
              </>
            ) : (
              <Field label="Error">{cluster.error}</Field>
            )}
          </dl>
        </Panel>
        {agent.configured ? (
          <>
            <AgentIdentityPanel snapshot={agent.snapshot} />
            <ControlLinkPanel snapshot={agent.snapshot} />
          </>
        ) : (
          <Panel title="Agent identity" testId="identity-panel">
            <p className="text-sm">{agent.reason}</p>
          </Panel>
        )}
      </div>
    </main>
  );
}
