# natkit: one image for every role.
#   docker build -t natkit .
#   docker run --rm natkit natkit-relay --help
#   docker run --rm natkit natkit-peer run --relay /ip4/.../p2p/<relay id> --json
# Roles: natkit-relay, natkit-bootstrap, natkit-peer, natkit-autonat.

# ---- build: install everything, compile (npm ci runs `prepare` = tsc -b) ----
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc nx.json tsconfig.base.json tsconfig.build.json vitest.shared.ts ./
COPY packages/ packages/
COPY apps/ apps/
COPY tools/ tools/
COPY examples/ examples/
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && mkdir -p /out \
 && for d in packages/* apps/* tools/*; do \
      [ -f "$d/package.json" ] || continue; \
      mkdir -p "/out/$d"; cp "$d/package.json" "/out/$d/"; \
      for sub in dist bin node_modules; do if [ -d "$d/$sub" ]; then cp -r "$d/$sub" "/out/$d/"; fi; done; \
    done \
 && find /out -name '*.tsbuildinfo' -delete \
 && cp -r node_modules package.json /out/

# ---- runtime: production dependencies and compiled output only ----
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out/ /app/
COPY docker/entrypoint.sh docker/healthcheck.mjs docker/timeline.mjs /app/docker/
RUN for role in relay:relay bootstrap:bootstrap peer:peer autonat:autonat-probe; do \
      name=${role%%:*}; app=${role#*:}; \
      ln -s "/app/apps/$app/bin/natkit-$name.js" "/usr/local/bin/natkit-$name"; \
    done \
 && ln -s /app/docker/healthcheck.mjs /usr/local/bin/natkit-healthcheck \
 && install -d -o node -g node /data \
 && chmod 0755 /app/docker/*.sh /app/docker/*.mjs \
 && NODE_DISABLE_COMPILE_CACHE=1 natkit-peer --help >/dev/null
# the binaries keep V8's compile cache in /tmp (as the node user; the check above leaves none owned by root)
USER node
# ports the roles use by default (nothing is published unless you ask): relay 4001/tcp 4002/tcp(ws), STUN 3478/udp
EXPOSE 4001 4002 3478/udp
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["--help"]
