// Runs once per server process before requests are served: starts the agent runtime next to Next.js.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { exitOnUnsupportedNode } = await import('./agent/node-support');
  exitOnUnsupportedNode();
  const { startAgentHost } = await import('./server/runtime/agent-runtime');
  startAgentHost();
}
