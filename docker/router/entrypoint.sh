#!/bin/bash
# natkit lab router / LAN gateway holder.
#
#   natkit-router router            apply NAT_PROFILE between the WAN (address in
#                                   INTERNET_CIDR) and LAN (address in LAN_CIDR)
#                                   interfaces, run miniupnpd for "upnp", then wait
#   natkit-router gateway <ip>      replace the default route with <ip> (the
#                                   router's LAN address), then wait; LAN peers
#                                   share this container's network namespace
#
# Environment (router): NAT_PROFILE port-restricted|address-restricted|
# full-cone|symmetric|upnp, NAT_INBOUND drop|reset|reject (what the router does
# with unsolicited packets on its WAN; default drop), LAN_CIDR (e.g.
# 192.168.1.0/24), INTERNET_CIDR (default 11.0.0.0/16), NFT_TABLE (default
# natkit). Rulesets: /etc/natkit/rulesets/<profile>[-inbound-<mode>].nft,
# generated from tools/lab/src/nft.ts (interface names "wan"/"lan" are
# replaced by the detected ones).
set -Eeuo pipefail

log () { echo "natkit-router: $*"; }
die () { echo "natkit-router: error: $*" >&2; exit 1; }

ip2int () {
  local IFS=. a b c d
  read -r a b c d <<<"$1"
  echo $(( (a << 24) + (b << 16) + (c << 8) + d ))
}

in_cidr () { # ip cidr
  local net=${2%/*} bits=${2#*/}
  local mask=$(( bits == 0 ? 0 : (0xffffffff << (32 - bits)) & 0xffffffff ))
  (( ($(ip2int "$1") & mask) == ($(ip2int "$net") & mask) ))
}

iface_in () { # cidr -> name of the interface holding an address in it
  local name addr
  while read -r _ name _ addr _; do
    addr=${addr%/*}
    if in_cidr "$addr" "$1"; then echo "$name"; return 0; fi
  done < <(ip -o -4 addr show)
  return 1
}

hold () { # wait until stopped; exit promptly on SIGTERM
  trap 'log "stopping"; exit 0' TERM INT
  while :; do sleep 3600 & wait $!; done
}

gateway () {
  local gw=${1:?usage: natkit-router gateway <router-lan-ip>}
  ip route replace default via "$gw"
  log "default route via $gw: $(ip route show default)"
  touch /run/natkit-gateway.ready
  hold
}

router () {
  local profile=${NAT_PROFILE:-port-restricted} inbound=${NAT_INBOUND:-drop} lan_cidr=${LAN_CIDR:?LAN_CIDR is required, e.g. 192.168.1.0/24}
  local inet_cidr=${INTERNET_CIDR:-11.0.0.0/16} table=${NFT_TABLE:-natkit}
  case $profile in
    port-restricted|address-restricted|full-cone|symmetric|upnp) ;;
    none) die "NAT profile \"none\" means no router: put the peer on the internet network instead (see docker/README.md)" ;;
    *) die "unknown NAT profile \"$profile\"; expected port-restricted, address-restricted, full-cone, symmetric or upnp" ;;
  esac
  case $inbound in
    drop|reset|reject) ;;
    *) die "unknown NAT_INBOUND \"$inbound\"; expected drop, reset or reject" ;;
  esac
  [[ $(cat /proc/sys/net/ipv4/ip_forward) == 1 ]] || die "net.ipv4.ip_forward is 0: run the container with sysctls net.ipv4.ip_forward=1"
  local wan lan
  wan=$(iface_in "$inet_cidr") || die "no interface with an address in INTERNET_CIDR $inet_cidr: $(ip -o -4 addr show | awk '{print $2, $4}' | tr '\n' ' ')"
  lan=$(iface_in "$lan_cidr") || die "no interface with an address in LAN_CIDR $lan_cidr: $(ip -o -4 addr show | awk '{print $2, $4}' | tr '\n' ' ')"
  [[ $wan != "$lan" ]] || die "WAN and LAN are the same interface ($wan)"
  # docker's internal networks give no default route; a router has none either (like the netns lab)
  ip route del default 2>/dev/null || true
  local ruleset=/etc/natkit/rulesets/$profile.nft
  [[ $inbound == drop ]] || ruleset=/etc/natkit/rulesets/$profile-inbound-$inbound.nft
  [[ -f $ruleset ]] || die "missing $ruleset"
  sed -e "s/\"wan\"/\"$wan\"/g" -e "s/\"lan\"/\"$lan\"/g" -e "s/^table inet natkit /table inet $table /" "$ruleset" >/run/natkit-ruleset.nft
  nft -f /run/natkit-ruleset.nft || die "nft rejected the $profile ruleset"
  log "profile $profile, inbound $inbound: wan $wan ($(ip -o -4 addr show dev "$wan" | awk '{print $4}')) lan $lan ($(ip -o -4 addr show dev "$lan" | awk '{print $4}')) table inet $table"
  if [[ $profile == upnp ]]; then
    sed -e "s/@WAN@/$wan/g" -e "s/@LAN@/$lan/g" -e "s#@LAN_CIDR@#$lan_cidr#g" -e "s/@TABLE@/$table/g" \
      -e "s/@UUID@/$(cat /proc/sys/kernel/random/uuid)/g" /etc/natkit/miniupnpd.conf.in >/run/miniupnpd.conf
    miniupnpd -d -f /run/miniupnpd.conf -P /run/miniupnpd.pid 2>&1 | sed -u 's/^/natkit-router: miniupnpd: /' &
    log "miniupnpd (IGDv2 + NAT-PMP) on $lan"
  fi
  touch /run/natkit-router.ready
  hold
}

cmd=${1:-router}
shift || true
case $cmd in
  router) router "$@" ;;
  gateway) gateway "$@" ;;
  *) exec "$cmd" "$@" ;;
esac
