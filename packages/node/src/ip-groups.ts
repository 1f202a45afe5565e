import { tryGetNetConfig } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Bits of an IPv4 address that make its "network" (an ASN-like group, go-libp2p's per-ASN limit without an ASN table). */
export const IPV4_NETWORK_BITS = 16
/** Bits of an IPv6 address that make one host (a host usually owns a whole /64). */
export const IPV6_HOST_BITS = 64
/** Bits of an IPv6 address that make its "network" (a typical ISP allocation). */
export const IPV6_NETWORK_BITS = 32

/** The groups a remote address is counted in: its host and its network. */
export interface IpGroups {
  /** the IPv4 address, or the IPv6 /64, e.g. `127.1.0.1`, `2001:db8:0:1::/64` */
  host: string
  /** the IPv4 /16 or the IPv6 /32, e.g. `127.1.0.0/16`, `2001:db8::/32` */
  network: string
}

/** The 8 groups of an IPv6 address as numbers (`::` expanded, an embedded IPv4 tail converted). */
function ipv6Groups (ip: string): number[] {
  let text = ip.split('%')[0]
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4 != null) {
    const [a, b, c, d] = v4.slice(1).map(Number)
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail == null || tail === '' ? [] : tail.split(':')
  const zeros = tail == null ? [] : new Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...zeros, ...right].map(g => parseInt(g, 16) || 0)
}

function ipv6Prefix (groups: number[], bits: number): string {
  const kept = groups.slice(0, bits / 16).map(g => g.toString(16))
  return `${kept.join(':')}::/${bits}`
}

/**
 * The host and network a connection's remote address belongs to, for
 * per-IP and per-network limits; `undefined` when it has no IP (a relayed
 * or DNS address).
 */
export function ipGroups (addr: Multiaddr): IpGroups | undefined {
  if (addr.toString().includes('/p2p-circuit')) return undefined
  const config = tryGetNetConfig(addr)
  if (config?.type === 'ip4') {
    const [a, b] = config.host.split('.')
    return { host: config.host, network: `${a}.${b}.0.0/${IPV4_NETWORK_BITS}` }
  }
  if (config?.type === 'ip6') {
    const groups = ipv6Groups(config.host)
    return { host: ipv6Prefix(groups, IPV6_HOST_BITS), network: ipv6Prefix(groups, IPV6_NETWORK_BITS) }
  }
  return undefined
}
