# gatehouse container image. Guide: docs/deploy.md.
#
#   docker build -t gatehouse .
#   docker run -d -p 4236:4236 -v gatehouse-data:/data gatehouse
#
# Two stages: `build` has the native toolchain (better-sqlite3 is compiled when no prebuilt binary
# can be fetched) and the devDependencies (tsc); the runtime stage holds only dist/, the production
# node_modules and package.json, and runs as an unprivileged user. test/deploy/container.test.ts
# checks this file against the code (env names, port, health check, command).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# mirrors, e.g. --build-arg NPM_REGISTRY=https://registry.npmmirror.com (the lockfile names no
# registry) --build-arg DEBIAN_MIRROR=http://mirrors.tencent.com
ARG NPM_REGISTRY=https://registry.npmjs.org/
ARG DEBIAN_MIRROR=
RUN if [ -n "$DEBIAN_MIRROR" ]; then sed -i "s#http://deb.debian.org#$DEBIAN_MIRROR#g" /etc/apt/sources.list.d/debian.sources; fi \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp uses the image's own Node headers instead of downloading them
ENV npm_config_nodedir=/usr/local \
    npm_config_registry=${NPM_REGISTRY} \
    npm_config_update_notifier=false
WORKDIR /src
# dependencies first (a layer cached until the lockfile changes); no install script runs but
# better-sqlite3's (the root package's `prepare` would run tsc before the sources are here)
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
RUN groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid gatehouse --home-dir /app --no-create-home --shell /usr/sbin/nologin gatehouse \
 && mkdir -p /data \
 && chown gatehouse:gatehouse /data
WORKDIR /app
# the code stays owned by root: the process can write /data only
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# listen on every interface of the container; the embedded SQLite store lives in the /data volume
# (several nodes: set GATEHOUSE_DATABASE_URL=mariadb://… instead)
ENV NODE_ENV=production \
    GATEHOUSE_HOST=0.0.0.0 \
    GATEHOUSE_PORT=4236 \
    GATEHOUSE_DATABASE_URL=sqlite:/data/gatehouse.db
VOLUME ["/data"]
USER gatehouse
EXPOSE 4236
# liveness: GET /healthz on the port the process listens on (no curl in slim images: Node's fetch)
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.GATEHOUSE_PORT || 4236) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# SIGTERM: in-flight requests finish, the node exits 0 within 10 s (give `docker stop -t 15`)
STOPSIGNAL SIGTERM
CMD ["node", "dist/index.js", "serve"]
