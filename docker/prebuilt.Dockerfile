# Used by tools/docker/compose-test.sh when build containers cannot reach the
# npm registry: packs an already installed and built checkout (npm ci on the
# host) instead of running npm ci in the build. Same runtime layout as the
# repo's Dockerfile. Build context: a tar of the checkout including node_modules.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm prune --omit=dev --offline --no-audit --no-fund \
 && mkdir -p /out \
 && for d in packages/* apps/* tools/*; do \
      [ -f "$d/package.json" ] || continue; \
      mkdir -p "/out/$d"; cp "$d/package.json" "/out/$d/"; \
      for sub in dist bin node_modules; do if [ -d "$d/$sub" ]; then cp -r "$d/$sub" "/out/$d/"; fi; done; \
    done \
 && find /out -name '*.tsbuildinfo' -delete \
 && cp -r node_modules package.json /out/

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
 && natkit-peer --help >/dev/null
USER node
EXPOSE 4001 4002 3478/udp
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["--help"]
