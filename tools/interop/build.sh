#!/usr/bin/env bash
# Builds the interop test counterparts (never shipped) from their registries:
#   tools/interop/bin/interop-go    go-libp2p v0.52.0 (Go module proxy; go.sum pins it)
#   tools/interop/bin/bench-relay   go-libp2p v0.52.0 relay v2, limits raised (`npm run bench -- --relay go`)
#   tools/interop/bin/interop-rust  rust-libp2p 0.57.1 (crates.io; Cargo.lock pins it, debug build)
# Caches between runs on the same machine: Go's module and build caches (default
# dirs under $HOME) and the cargo registry (~/.cargo) and target dir under
# NATKIT_INTEROP_CACHE (default /var/cache/natkit-interop), so a fresh clone reuses them.
# Prints each build's time. Needs go >= 1.26 and cargo.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/bin"
cache="${NATKIT_INTEROP_CACHE:-/var/cache/natkit-interop}"
mkdir -p "$bin" "$cache"

for tool in go cargo; do
  command -v "$tool" >/dev/null || { echo "interop build: $tool is not installed (needs go >= 1.26 and cargo)" >&2; exit 1; }
done

t0=$(date +%s)
# -mod=readonly: go.mod/go.sum are the pin; a build must not rewrite them
(cd "$here/go" && go build -mod=readonly -trimpath -o "$bin/interop-go.tmp" . && mv "$bin/interop-go.tmp" "$bin/interop-go")
(cd "$here/go" && go build -mod=readonly -trimpath -o "$bin/bench-relay.tmp" ./benchrelay && mv "$bin/bench-relay.tmp" "$bin/bench-relay")
t1=$(date +%s)
echo "interop build: interop-go and bench-relay (go-libp2p v0.52.0) built in $((t1 - t0)) s"

# --locked: Cargo.lock is the pin
CARGO_TARGET_DIR="$cache/rust-target" cargo build --locked --quiet --manifest-path "$here/rust/Cargo.toml"
cp "$cache/rust-target/debug/interop-rust" "$bin/interop-rust.tmp" && mv "$bin/interop-rust.tmp" "$bin/interop-rust"
t2=$(date +%s)
echo "interop build: interop-rust (rust-libp2p 0.57.1, debug) built in $((t2 - t1)) s"
echo "interop build: done in $((t2 - t0)) s -> $bin"
