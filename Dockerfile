# syntax=docker/dockerfile:1
# The exemplar-demo service. Node 24 runs the TypeScript sources directly (type stripping), so "building" means
# type-checking; the runtime stage gets the sources and the production dependencies only.
ARG NODE_IMAGE=node:24.21.0-trixie-slim

FROM ${NODE_IMAGE} AS check
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install scripts are the `node` dev dependency's, which downloads a second Node binary
# for npm scripts on hosts with an older Node; this image already runs Node 24, so tsc runs with it directly.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node node_modules/typescript/bin/tsc --noEmit

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
# Copied from the check stage, so the image holds only sources that passed tsc.
COPY --from=check /app/src ./src
COPY --from=check /app/scripts ./scripts
USER node
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/ready').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1's child under `init: true` (Compose) and receives SIGTERM, so shutdown flushes spans.
# --import starts OpenTelemetry (its loader hook and the SDK) before any module of the app loads.
CMD ["node", "--import", "./src/telemetry/instrumentation.ts", "src/main.ts"]
