# nines as a container: `docker build -t nines .` (or `podman build`), then
#   docker run -p 4000:4000 -v nines-data:/data nines
# with your config mounted over /etc/nines/nines.yaml. docs/deploy.md explains each choice below.
#
# NODE_IMAGE: the base of every stage. Build and runtime use the same one, so the better-sqlite3
# binary chosen at run time (it ships prebuilds for glibc and musl and picks by the running libc)
# is the one npm installed for. Any Debian-based Node 24 image with node, npm and /bin/sh fits.
ARG NODE_IMAGE=node:24-slim

# --- build: dev dependencies and TypeScript, compiled to dist/
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# scripts off: `prepare` would compile before src/ is here; better-sqlite3 needs none (prebuilds)
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# --- deps: production dependencies only
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && rm -rf /root/.npm

# --- runtime
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY deploy/image/nines.yaml /etc/nines/nines.yaml
# The only writable path: the SQLite file (or nothing, on PostgreSQL). Run with a read-only root
# filesystem (`--read-only`); nines writes nowhere else.
RUN mkdir -p /data && chown 1000:1000 /data
VOLUME /data
# uid 1000 is `node` in the official images; numeric so Kubernetes' runAsNonRoot can check it
USER 1000:1000
EXPOSE 4000
# Node is PID 1 and handles SIGTERM itself: nines installs the handler (GracefulShutdown), so the
# kernel's "PID 1 ignores signals without a handler" rule does not apply. No tini needed; see docs/deploy.md.
STOPSIGNAL SIGTERM
# Slim images have no curl. Port 4000 is the image config's; change both together.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4000/liveness').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The V8 flags of the `nines` shebang (docs/benchmarks.md: half the RSS). Never `npm start`:
# npm does not forward SIGTERM and nines would be killed without draining.
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=50", "dist/cli/index.js", "serve", "--config", "/etc/nines/nines.yaml"]
