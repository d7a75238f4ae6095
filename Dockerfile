# syntax=docker/dockerfile:1
#
# One image for every Node process of the system: the services, the one-shot setup steps
# of docker-compose.yml and the tools (populator, customers CLI). The first stage compiles the
# TypeScript (npm run build: every package's dist/) and drops the development dependencies; the
# image runs that JavaScript, each service through scripts/run-service as `npm start` does, and
# docker-compose.yml picks the service with `command`:
#
#   docker run --rm order-ecosystem:local inventory-service
#   docker run --rm --entrypoint node order-ecosystem:local docker/dist/setup.js --help

FROM node:24-slim AS build
# better-sqlite3 compiles its native addon when no prebuilt binary fits the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Only the manifests first: this layer (and `npm ci`) is rebuilt when a dependency changes,
# not on every source edit. Every workspace of package.json needs its package.json here.
COPY package.json package-lock.json ./
COPY platform/package.json platform/
COPY avro/package.json avro/
COPY streams/package.json streams/
COPY infra/package.json infra/
COPY infra/connectors/package.json infra/connectors/
COPY orders-service/package.json orders-service/
COPY inventory-service/package.json inventory-service/
COPY fraud-service/package.json fraud-service/
COPY order-details-service/package.json order-details-service/
COPY validation-aggregator/package.json validation-aggregator/
COPY order-enrichment/package.json order-enrichment/
COPY email-service/package.json email-service/
COPY populator/package.json populator/
COPY dashboard/package.json dashboard/
COPY examples/word-count/package.json examples/word-count/
COPY examples/order-validator/package.json examples/order-validator/
RUN npm ci --no-audit --no-fund
COPY . .
# The JavaScript of every package, and the dashboard's page (the service would build it on start,
# but cannot write here as `node`); then the development dependencies (TypeScript, tsx, vitest,
# eslint...) go: nothing at run time needs them.
RUN npm run build \
 && node dashboard/dist/build.js \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim
WORKDIR /app
# node_modules (production dependencies, with the workspace links), the compiled packages and
# the files they read (schemas, connector configs).
COPY --from=build /app ./
# What the processes write: the streams state (`.local/state/<service>-<instance>` under the
# working directory), the email outbox and the customers database, whose folder is shared
# with the Connect worker (another user), hence world-writable.
RUN mkdir -p .local/state /var/lib/order-ecosystem/outbox /data \
 && chown -R node:node .local /var/lib/order-ecosystem \
 && chmod 0777 /data
USER node
# The services listen on 127.0.0.1 unless told otherwise; in a container that would be unreachable
# from the published port, so the image opens them (docker-compose.yml publishes on 127.0.0.1).
ENV HOST=0.0.0.0
# orders-service, order-enrichment, then inventory, fraud, order-details, validation-aggregator,
# email-service, customers-source, orders-sink, dashboard (scripts/services.ts).
EXPOSE 8000 8010 8101 8102 8103 8104 8105 8106 8107 8090
ENTRYPOINT ["scripts/run-service"]
CMD ["orders-service"]
