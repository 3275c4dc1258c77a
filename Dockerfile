# ClusterKit node image: `clusterkit agent`, configured by environment variables (see docs/DEPLOYMENT.md).
#
#   docker build -t clusterkit .
#   docker run --rm -e NODE_ID=node-1 -e HTTP_PORT=8080 -p 8080:8080 -v ck1:/data clusterkit
#
# Not built in this repository's CI (its machines have no Docker engine); what it runs, `clusterkit agent`
# configured by environment, is tested there with real processes (test/cli/agent-process.test.ts).

# --- build: compile TypeScript with the exact locked toolchain ------------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# --- runtime: the compiled CLI and the runtime dependencies only ------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# `clusterkit` on the PATH, for `docker exec <container> clusterkit status`.
RUN printf '#!/bin/sh\nexec node /app/dist/cli/main.js "$@"\n' > /usr/local/bin/clusterkit \
 && chmod 755 /usr/local/bin/clusterkit \
 && mkdir -p /data && chown node:node /data
USER node
# The Raft log, snapshots and the node identity. Keep it on a volume: a node that loses it joins as a new node.
VOLUME /data
# Listen on every interface at 8080 (HTTP API and Raft on one port). Set ADVERTISE_ADDR to a name the other nodes
# can resolve (the compose service name); without it the container's first IPv4 address is advertised.
ENV DATA_DIR=/data \
    HTTP_PORT=8080
EXPOSE 8080
# Ready = a member of the cluster with a partition table. Follows HTTP_PORT (set HTTP_PORT, not HTTP_ADDR, when
# relying on this check). Plain http: with TLS_CERT the port speaks TLS only, so override it (docs/DEPLOYMENT.md).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM: leave the cluster gracefully (partitions handed over), then exit 0. Give it time: stop_grace_period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["clusterkit"]
CMD ["agent"]
