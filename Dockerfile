# syntax=docker/dockerfile:1
# StoreOps: one image for every role (api, worker, migrate). Node runs the TypeScript sources
# directly (type stripping), so there is no build step; the image holds production dependencies only.
# test/platform/container-proof.test.ts assembles exactly what the COPY lines below copy and starts it.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    STOREOPS_DATA_DIR=/data \
    SHUTDOWN_TIMEOUT_MS=10000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
COPY drizzle ./drizzle
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `serve` drains on SIGTERM (HTTP first, then running jobs, within SHUTDOWN_TIMEOUT_MS) and exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "src/cli/main.ts", "serve"]
