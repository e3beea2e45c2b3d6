// Next's App Router hydrates with inline scripts (no nonce without dynamic rendering), so script-src
// keeps 'unsafe-inline'; `next dev` also needs 'unsafe-eval'. Everything else is same-origin only, and
// no other site may frame the dashboard (clickjacking of the runbook buttons).
const development = process.env.NODE_ENV !== 'production';
const contentSecurityPolicy = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${development ? " 'unsafe-eval'" : ''}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  `connect-src 'self'${development ? ' ws: wss:' : ''}`,
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent on every response: pages, API routes, health and metrics. */
export const securityHeaders = [
  { key: 'Content-Security-Policy', value: contentSecurityPolicy },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'same-origin' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=()' },
];

/** @type {import('next').NextConfig} */
const nextConfig = {
  async headers() {
    return [{ source: '/:path*', headers: securityHeaders }];
  },
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
