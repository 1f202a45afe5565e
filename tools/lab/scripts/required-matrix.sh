#!/usr/bin/env bash
# Issue 10's required NAT matrix ("Done when"), as four natkit-lab matrix runs
# writing reports/<name>.{json,svg}. Needs root, a built checkout (npm ci) and a
# natkit-peer with --direct-paths (the "auto" path); runs for hours, so run it
# on a quiet machine (timings depend on the load; the JSON records it).
#
#   bash tools/lab/scripts/required-matrix.sh            # all four parts
#   bash tools/lab/scripts/required-matrix.sh --dry-run  # list cells and trial counts only
#   PARTS="auto tcp-reset" bash tools/lab/scripts/required-matrix.sh
#   bash tools/lab/scripts/required-matrix.sh --resume   # continue stopped parts (keeps complete cells)
#
# Parts (trials per cell in brackets):
#   auto       reports/matrix.*            every ordered endpoint-independent-mapping pair and cone ↔ symmetric,
#                                          drop/reset routers, auto paths, zero/interop delay, CPU idle/loaded [10]
#                                          (issue: 100 % direct; cone ↔ symmetric direct)
#   tcp-reset  reports/matrix-tcp-reset.*  every ordered EIM pair, reset routers, TCP alone, zero/interop [10] (issue: ≥ 90 %)
#   paths      reports/matrix-paths.*      the default pairs (incl. symmetric ones) × drop/reset × tcp/webrtc/auto
#                                          × zero/interop [3]: which path works where
#   loss       reports/matrix-loss.*       port-restricted and address-restricted ↔ symmetric, drop/reset, auto,
#                                          1 % and 5 % loss per link and direction [10]
#
# Estimated duration (measured 2026-12-02 on a shared 2-core machine, load
# average 5-11: zero delay ~5 s per trial, interop ~9-13 s, a cell that ends
# relayed ~24 s (3 punch attempts), a loaded-CPU trial ~15-28 s):
#   auto ~6 h (2080 trials), tcp-reset ~1.1 h (480), paths ~2 h (612),
#   loss ~0.2 h (80): about 9.5 h in all, less on an idle machine.
# The pair sets grew (2026-12-03: EIM pairs in both orders); --resume keeps a
# report's complete cells and measures only the cells its dimensions lack.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
LAB=(node tools/lab/bin/natkit-lab.js matrix)
EXTRA=("$@")
PARTS=${PARTS:-auto tcp-reset paths loss}

for part in $PARTS; do
  case $part in
    auto) "${LAB[@]}" --name matrix --pairs eim,cone-symmetric --inbound drop,reset --paths auto --delay zero,interop --cpu-load off,on \
            --trials 10 --max-trials 2080 --label "issue 10 required matrix: auto paths" "${EXTRA[@]}" ;;
    tcp-reset) "${LAB[@]}" --name matrix-tcp-reset --pairs eim --inbound reset --paths tcp --delay zero,interop \
            --trials 10 --max-trials 480 --label "issue 10 required matrix: TCP alone, reset routers" "${EXTRA[@]}" ;;
    paths) "${LAB[@]}" --name matrix-paths --pairs default --inbound drop,reset --paths tcp,webrtc,auto --delay zero,interop \
            --trials 3 --max-trials 612 --label "issue 10 matrix: every path per pair" "${EXTRA[@]}" ;;
    loss) "${LAB[@]}" --name matrix-loss --pairs port-restricted:port-restricted,address-restricted:symmetric --inbound drop,reset --paths auto \
            --loss 1%,5% --trials 10 --max-trials 80 --label "issue 10 matrix: loss" "${EXTRA[@]}" ;;
    *) echo "required-matrix: unknown part \"$part\" (auto, tcp-reset, paths, loss)" >&2; exit 2 ;;
  esac
done
