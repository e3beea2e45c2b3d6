/** @type {import('next').NextConfig} */
const nextConfig = {
  output: 'standalone',
  // One process-wide instance each: bundling prom-client per server entry splits its registry, and the
  // Kubernetes client and ws keep sockets and watches that must be shared with the agent runtime.
  serverExternalPackages: ['prom-client', 'ws', '@kubernetes/client-node', 'pino', 'ssh2', 'yaml'],
  // `next dev` would otherwise write an AGENTS.md into the repository.
  agentRules: false,
  poweredByHeader: false,
  typedRoutes: true,
};

export default nextConfig;
