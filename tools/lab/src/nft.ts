import type { Router } from './topology.js'

/** Chain names miniupnpd is configured to manage (see upnp.ts). */
export const UPNP_FORWARD_CHAIN = 'miniupnpd'
export const UPNP_PREROUTING_CHAIN = 'prerouting_miniupnpd'
export const UPNP_POSTROUTING_CHAIN = 'postrouting_miniupnpd'

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
 * - The router itself drops unsolicited packets arriving on `wan`, like a home
 *   router (no RST, no ICMP answer to probes).
 * - `upnp` additionally jumps to the chains miniupnpd fills with DNAT/accept
 *   rules for the mappings clients request.
 *
 * Rules are on separate lines: one-line chain bodies did not parse in nft 1.0.6.
 * No chain is called `fwd` (an nft keyword).
 */
export function routerRuleset (router: Router, table: string): string {
  const upnp = router.profile === 'upnp'
  const masquerade = router.profile === 'symmetric' ? 'masquerade fully-random' : 'masquerade'
  const lines = [
    `table inet ${table} {`,
    '  chain prerouting {',
    '    type nat hook prerouting priority -100; policy accept;',
    ...(upnp ? [`    jump ${UPNP_PREROUTING_CHAIN}`] : []),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority 100; policy accept;',
    ...(upnp ? [`    jump ${UPNP_POSTROUTING_CHAIN}`] : []),
    `    oifname "wan" ${masquerade}`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority 0; policy drop;',
    '    iifname "lan" accept',
    '    ct state established,related accept',
    ...(upnp ? [`    jump ${UPNP_FORWARD_CHAIN}`] : []),
    '  }',
    '  chain input {',
    '    type filter hook input priority 0; policy accept;',
    '    iifname "wan" ct state established,related accept',
    '    iifname "wan" drop',
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
