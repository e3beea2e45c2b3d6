# syntax=docker/dockerfile:1
# pipeops-agent: the Next.js standalone server (dashboard + agent runtime in one process) on Node.js LTS.
# Checked without Docker by scripts/lint-dockerfile.mjs (part of `npm test`).
#
#   docker build -t ghcr.io/pipeopshq/pipeops-agent:0.1.0 .
#
# Probes: the Helm chart wires startup/liveness to /health and readiness to /ready; the HEALTHCHECK below is
# only for `docker run` (Kubernetes ignores it).

# Pinned exact release: the Node.js of .node-version (24 LTS "Krypton"), the one the tests run on
# (scripts/lint-dockerfile.mjs checks they agree), on Debian bookworm (glibc). Add @sha256:<digest> when
# promoting an image; both stages must use the same base.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV NEXT_TELEMETRY_DISABLED=1
# python3, make and g++ build ssh2's crypto binding and cpu-features (node-gyp, against the image's own Node
# headers); without them both install scripts fall back to JavaScript and check-native-modules.mjs fails.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
COPY scripts/check-native-modules.mjs scripts/
# Exactly the locked versions, like scripts/lib/bootstrap.mjs; install scripts run only for the packages
# package.json "allowScripts" approves (.npmrc makes any other one an error). devDependencies are needed to
# build and never reach the runtime stage.
RUN npm ci --no-audit --no-fund \
 && node scripts/check-native-modules.mjs
COPY . .
# Standalone output (server.js + traced node_modules + static assets), then the doctor and hash-password
# CLIs as single-file CommonJS bundles next to it (the runtime stage has no tsx or TypeScript).
RUN npm run build \
 && node scripts/build-tools.mjs .next/standalone/tools

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    HOSTNAME=0.0.0.0 \
    PORT=8080 \
    PIPEOPS_PORT=8080 \
    NEXT_MANUAL_SIG_HANDLE=1
# Only the standalone output: root-owned and read-only for the app user. The root filesystem can be
# mounted read-only; the chart mounts emptyDirs at /tmp and /app/.next/cache, the only paths written.
COPY --from=build --chown=0:0 /src/.next/standalone ./
# Next.js's cache is the one directory the app writes under /app (the chart mounts an emptyDir over it).
RUN mkdir -p .next/cache && chown 65532:65532 .next/cache
# A numeric non-root user (65532, like distroless "nonroot") so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The runtime's own SIGTERM handler (NEXT_MANUAL_SIG_HANDLE) drains SSE, closes the link, releases the Lease.
CMD ["node", "server.js"]
