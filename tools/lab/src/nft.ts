import { assertInboundMode, DEFAULT_INBOUND_MODE, isConeProfile } from './topology.js'
import type { InboundMode, Router } from './topology.js'

/** Chain names miniupnpd is configured to manage (see upnp.ts). */
export const UPNP_FORWARD_CHAIN = 'miniupnpd'
export const UPNP_PREROUTING_CHAIN = 'prerouting_miniupnpd'
export const UPNP_POSTROUTING_CHAIN = 'postrouting_miniupnpd'

/**
 * How long a cone NAT keeps a mapping (and, for `address-restricted`, a
 * contacted remote address) after the last outbound packet that used it.
 * RFC 4787 REQ-5 asks for at least 2 minutes.
 *
 * @default 300
 */
export const CONE_MAPPING_TIMEOUT_S = 300

/**
 * nftables priority of the chain that records cone mappings: after source NAT
 * (100), so the packet already carries its mapped source port.
 *
 * @default 200
 */
export const CONE_MAPPING_PRIORITY = 200

/**
 * First external port of the `symmetric-sequential` profile: new flows get
 * SEQUENTIAL_NAT_FIRST_PORT, +1, +2, … (wrapping after SEQUENTIAL_NAT_PORTS).
 * Below Linux's ephemeral range (32768-60999) so it never meets a LAN
 * host's own ports.
 *
 * @default 20000
 */
export const SEQUENTIAL_NAT_FIRST_PORT = 20_000

/**
 * Size of the `symmetric-sequential` port range.
 *
 * @default 1024
 */
export const SEQUENTIAL_NAT_PORTS = 1024

/**
 * The `symmetric-sequential` source NAT rule: the next port of the range per
 * new flow, from `numgen inc` through a map. A plain `snat to ADDR : numgen
 * inc mod N offset M` loads too, but nft 1.0.6 writes the 32-bit host-order
 * counter into the 16-bit network-order port, so 30000, 30001 come out as
 * 12405, 12661 (byte-swapped: a stride of 256); the map's values are typed
 * ports, so they come out in order (tools/lab/test/nat-behavior.test.ts checks
 * this against real traffic).
 */
export function sequentialSnatRule (wanIp: string, first = SEQUENTIAL_NAT_FIRST_PORT, count = SEQUENTIAL_NAT_PORTS): string {
  const entries = Array.from({ length: count }, (_, i) => `${i} : ${first + i}`).join(', ')
  return `oifname "wan" meta l4proto { tcp, udp } snat ip to ${wanIp} : numgen inc mod ${count} map { ${entries} }`
}

/** The `input` chain body (after its `type` line) for each inbound mode. */
const INPUT_RULES: Record<InboundMode, string[]> = {
  // RFC 5382 REQ-4 / a typical home router: no answer at all
  drop: [
    '    iifname "wan" ct state established,related accept',
    '    iifname "wan" drop'
  ],
  // no rule: the router's own stack answers (TCP RST, ICMP port unreachable for UDP)
  reset: [
    '    comment "inbound reset: no wan rule, the kernel answers unsolicited TCP with RST and UDP with ICMP port unreachable"'
  ],
  // OpenWrt fw4's reject_from_wan (its wan zone's accept rules for ping, DHCP renew, IGMP and IPsec are not modelled)
  reject: [
    '    iifname "wan" ct state established,related accept',
    '    iifname "wan" meta l4proto tcp reject with tcp reset',
    '    iifname "wan" reject with icmpx type port-unreachable'
  ]
}

/**
 * The nftables ruleset of one router namespace, as one `inet` table.
 *
 * - NAT: `oifname "wan" masquerade`. Conntrack keeps the source port when it
 *   is free, and reuses the mapping for every destination (endpoint-independent
 *   mapping). `symmetric` adds `fully-random`, which picks a new random port for
 *   every new conntrack entry, i.e. per destination (endpoint-dependent mapping).
 *   Measured on kernel 6.18: `masquerade random` also changed the port per
 *   destination (keyed hash), `persistent` and plain masquerade did not;
 *   `fully-random` is used because it does not rely on the hash inputs.
 * - Filtering: forward policy drop; only LAN-originated flows and their replies
 *   (`ct state established,related`) pass. Replies must come from the exact
 *   remote address and port: address+port-dependent filtering.
 * - Cone profiles (`address-restricted`, `full-cone`) keep their mappings in
 *   dynamic sets filled from the packet path: after source NAT, every outbound
 *   packet of a LAN-originated flow refreshes `portmap` (protocol . mapped port
 *   → LAN address . port) and, for `address-restricted`, `seen` (protocol .
 *   remote address . mapped port). A new inbound flow to a mapped port is
 *   DNATed to its LAN endpoint — from any remote (`full-cone`,
 *   endpoint-independent filtering) or only from a remote address the LAN
 *   endpoint has sent to, any port (`address-restricted`, address-dependent
 *   filtering) — and the forward chain accepts `ct status dnat`.
 * - Unsolicited packets to the router itself (any inbound flow not admitted
 *   above) meet {@link Router.inbound}: `drop` (default; no answer, like a home
 *   router and RFC 5382 REQ-4), `reset` (no rule: the router's own stack
 *   answers TCP with RST and UDP with ICMP port unreachable, like a bare Linux
 *   router) or `reject` (OpenWrt's wan zone: `reject with tcp reset`, ICMP port
 *   unreachable for everything else).
 * - `symmetric-sequential`: TCP and UDP flows get the next port of a fixed
 *   range per new flow ({@link sequentialSnatRule}); other protocols masquerade.
 * - `upnp` additionally jumps to the chains miniupnpd fills with DNAT/accept
 *   rules for the mappings clients request.
 *
 * Rules are on separate lines: one-line chain bodies did not parse in nft 1.0.6.
 * No chain is called `fwd` (an nft keyword).
 */
export function routerRuleset (router: Router, table: string): string {
  const upnp = router.profile === 'upnp'
  const cone = isConeProfile(router.profile)
  const addressRestricted = router.profile === 'address-restricted'
  const masquerade = router.profile === 'symmetric' ? 'masquerade fully-random' : 'masquerade'
  const inbound = router.inbound ?? DEFAULT_INBOUND_MODE
  assertInboundMode(inbound)
  const l4 = 'meta l4proto { tcp, udp }'
  const dynamic = ['    flags dynamic,timeout', `    timeout ${CONE_MAPPING_TIMEOUT_S}s`]
  const lines = [
    `table inet ${table} {`,
    ...(cone
      ? [
          '  map portmap {',
          '    type inet_proto . inet_service : ipv4_addr . inet_service',
          ...dynamic,
          '  }',
          ...(addressRestricted
            ? [
                '  set seen {',
                '    type inet_proto . ipv4_addr . inet_service',
                ...dynamic,
                '  }'
              ]
            : [])
        ]
      : []),
    '  chain prerouting {',
    '    type nat hook prerouting priority -100; policy accept;',
    ...(upnp ? [`    jump ${UPNP_PREROUTING_CHAIN}`] : []),
    ...(cone ? [`    iifname "wan" ${l4}${addressRestricted ? ' meta l4proto . ip saddr . th dport @seen' : ''} dnat ip to meta l4proto . th dport map @portmap`] : []),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority 100; policy accept;',
    ...(upnp ? [`    jump ${UPNP_POSTROUTING_CHAIN}`] : []),
    ...(router.profile === 'symmetric-sequential' ? [`    ${sequentialSnatRule(router.wanIp)}`] : []),
    `    oifname "wan" ${masquerade}`,
    '  }',
    ...(cone
      ? [
          '  chain cone_mappings {',
          `    type filter hook postrouting priority ${CONE_MAPPING_PRIORITY}; policy accept;`,
          `    oifname "wan" ct direction original ${l4} update @portmap { meta l4proto . th sport : ct original ip saddr . ct original proto-src }`,
          ...(addressRestricted ? [`    oifname "wan" ct direction original ${l4} update @seen { meta l4proto . ip daddr . th sport }`] : []),
          '  }'
        ]
      : []),
    '  chain forward {',
    '    type filter hook forward priority 0; policy drop;',
    '    iifname "lan" accept',
    '    ct state established,related accept',
    ...(cone ? ['    ct status dnat accept'] : []),
    ...(upnp ? [`    jump ${UPNP_FORWARD_CHAIN}`] : []),
    '  }',
    '  chain input {',
    '    type filter hook input priority 0; policy accept;',
    ...INPUT_RULES[inbound],
    '  }',
    ...(upnp
      ? [
          `  chain ${UPNP_FORWARD_CHAIN} {`,
          '  }',
          `  chain ${UPNP_PREROUTING_CHAIN} {`,
          '  }',
          `  chain ${UPNP_POSTROUTING_CHAIN} {`,
          '  }'
        ]
      : []),
    '}',
    ''
  ]
  return lines.join('\n')
}
