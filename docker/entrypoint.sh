#!/bin/sh
# natkit image entrypoint: `docker run natkit <role> [args]`, where <role> is
# natkit-relay, natkit-bootstrap, natkit-peer, natkit-autonat (or relay,
# bootstrap, peer, autonat); anything else is executed as is (node, sh, ...).
set -e
case "${1:-}" in
  relay|bootstrap|peer|autonat) role="natkit-$1"; shift; set -- "$role" "$@" ;;
  ''|-h|--help)
    echo "usage: docker run natkit <natkit-relay|natkit-bootstrap|natkit-peer|natkit-autonat> [options]"
    echo "       docker run natkit natkit-peer --help"
    exit 0 ;;
esac
exec "$@"
