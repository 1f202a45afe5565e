/**
 * Topology as code: which namespaces exist, which segment each host sits on,
 * and which NAT profile each router applies.
 *
 * The simulated "internet" uses 11.0.0.0/16. js-libp2p treats 10/8,
 * 100.64/10, 172.16/12, 192.168/16, 198.18/15 and the documentation ranges
 * as private or reserved, so those would make every lab address "private" to
 * the nodes under test. 11.0.0.0/16 is real public address space; using it is
 * safe only because lab namespaces have no link to the host's namespace or
 * to any real interface, so no packet can leave the lab.
 */

/**
 * NAT behaviour of a router.
 *
 * - `none`: no router; the peer sits directly on the internet segment.
 * - `port-restricted`: Linux `masquerade` + conntrack: endpoint-independent
 *   mapping (source port preserved when free), address+port-dependent filtering.
 * - `symmetric`: `masquerade fully-random`: a new external port per
 *   destination (endpoint-dependent mapping), address+port-dependent filtering.
 * - `upnp`: `port-restricted` plus miniupnpd (UPnP IGDv2) on the LAN side.
 * - `address-restricted`: endpoint-independent mapping (as `port-restricted`),
 *   address-dependent filtering: once a LAN endpoint sent to a remote address,
 *   any port of that address may send to its mapping.
 * - `full-cone`: endpoint-independent mapping and filtering: once mapped, any
 *   remote may send to the mapping.
 * - `symmetric-sequential`: like `symmetric` (endpoint-dependent mapping,
 *   address+port-dependent filtering) but with predictable allocation: every
 *   new flow gets the next port of a fixed range (see `SEQUENTIAL_NAT_FIRST_PORT`).
 *
 * The cone profiles keep their mappings in nftables dynamic sets updated from
 * the packet path and DNAT new inbound flows to them (see `routerRuleset`).
 */
export type NatProfile = 'none' | 'port-restricted' | 'symmetric' | 'upnp' | 'full-cone' | 'address-restricted' | 'symmetric-sequential'

/** Every profile name, for CLI validation. */
export const NAT_PROFILES: readonly NatProfile[] = ['none', 'port-restricted', 'symmetric', 'upnp', 'full-cone', 'address-restricted', 'symmetric-sequential']

/** Profiles the lab can build (all of them since the cone profiles use nftables dynamic sets). */
export const SUPPORTED_NAT_PROFILES: readonly NatProfile[] = NAT_PROFILES

/** Profiles with endpoint-independent filtering beyond conntrack's 5-tuple (built from dynamic sets). */
export function isConeProfile (profile: NatProfile): profile is 'full-cone' | 'address-restricted' {
  return profile === 'full-cone' || profile === 'address-restricted'
}

/**
 * What a router does with unsolicited inbound packets on its WAN (packets no
 * mapping admits, addressed to the router itself):
 *
 * - `drop`: silently dropped (RFC 5382 REQ-4, most home routers).
 * - `reset`: no input rule, so the router's own stack answers: TCP RST, ICMP
 *   port unreachable for UDP (a bare Linux router).
 * - `reject`: OpenWrt's wan zone: `reject with tcp reset` for TCP, ICMP port
 *   unreachable for everything else.
 */
export type InboundMode = 'drop' | 'reset' | 'reject'

/** Every inbound mode, for CLI validation. */
export const INBOUND_MODES: readonly InboundMode[] = ['drop', 'reset', 'reject']

/**
 * Inbound mode of a router that does not name one.
 *
 * @default 'drop'
 */
export const DEFAULT_INBOUND_MODE: InboundMode = 'drop'

export type HostRole = 'relay' | 'bootstrap' | 'autonat' | 'peer'

export interface Host {
  /** Short name, `[a-z0-9-]`, unique in the topology (becomes part of the namespace name). */
  name: string
  /** `'internet'` or the `name` of the router whose LAN the host is on. */
  segment: 'internet' | string
  /** IPv4 address without prefix length. */
  ip: string
  /** More addresses of the host on the same segment (e.g. a STUN server's alternate address). @default [] */
  aliases?: string[]
  role?: HostRole
}

export interface Router {
  /** Short name, `[a-z0-9-]`, unique in the topology. LAN hosts name it as their segment. */
  name: string
  profile: NatProfile
  /** Address on the internet segment. */
  wanIp: string
  /** The LAN, e.g. `192.168.1.0/24`. */
  lanCidr: string
  /** The router's address on its LAN (the LAN hosts' default gateway). */
  lanIp: string
  /** What the router does with unsolicited inbound on its WAN. @default 'drop' */
  inbound?: InboundMode
}

export interface Topology {
  name: string
  hosts: Host[]
  routers: Router[]
  /** The internet segment, e.g. `11.0.0.0/16`. */
  internetCidr: string
}

/** The simulated internet: public (non-private) space, isolated in namespaces. */
export const DEFAULT_INTERNET_CIDR = '11.0.0.0/16'

export const DEFAULT_RELAY_IP = '11.0.0.10'
export const DEFAULT_BOOTSTRAP_IP = '11.0.0.11'
export const DEFAULT_AUTONAT_IP = '11.0.0.12'
/**
 * The relay host's second address: its STUN server's alternate
 * (`--stun-alternate`, RFC 5780 CHANGE-REQUEST / OTHER-ADDRESS), so a peer's
 * NAT discovery at start sees two observer addresses (mapping) and answers
 * from another address and port (filtering).
 */
export const DEFAULT_RELAY_ALT_IP = '11.0.0.13'
/** Public peer slot (a peer with no NAT in front of it). */
export const DEFAULT_PUBLIC_PEER_IP = '11.0.0.20'

/** Longest host/router name; keeps derived names short. */
export const MAX_NODE_NAME_LENGTH = 20

export class UnsupportedNatProfileError extends Error {
  override name = 'UnsupportedNatProfileError'
}

export class InvalidTopologyError extends Error {
  override name = 'InvalidTopologyError'
}

/** Throws UnsupportedNatProfileError for names that are not a NAT profile. */
export function assertSupportedProfile (profile: string): asserts profile is NatProfile {
  if (!(SUPPORTED_NAT_PROFILES as readonly string[]).includes(profile)) {
    throw new UnsupportedNatProfileError(`unknown NAT profile "${profile}"; expected one of ${SUPPORTED_NAT_PROFILES.join(', ')}`)
  }
}

/** Throws InvalidTopologyError for names that are not an inbound mode. */
export function assertInboundMode (mode: string): asserts mode is InboundMode {
  if (!(INBOUND_MODES as readonly string[]).includes(mode)) {
    throw new InvalidTopologyError(`unknown inbound mode "${mode}"; expected one of ${INBOUND_MODES.join(', ')}`)
  }
}

export interface DefaultTopologyOptions {
  /** What both routers do with unsolicited inbound on their WAN. @default 'drop' */
  inbound?: InboundMode
}

/**
 * Two peers behind two routers, plus relay, bootstrap and autonat on the
 * internet. A side with profile `none` gets no router: its peer is put on the
 * internet directly (peer-a at 11.0.1.10, peer-b at 11.0.2.10).
 */
export function defaultTopology (profileA: NatProfile, profileB: NatProfile, opts: DefaultTopologyOptions = {}): Topology {
  assertSupportedProfile(profileA)
  assertSupportedProfile(profileB)
  if (opts.inbound != null) assertInboundMode(opts.inbound)
  const inbound = opts.inbound != null && opts.inbound !== DEFAULT_INBOUND_MODE ? { inbound: opts.inbound } : {}
  const hosts: Host[] = [
    { name: 'relay', segment: 'internet', ip: DEFAULT_RELAY_IP, aliases: [DEFAULT_RELAY_ALT_IP], role: 'relay' },
    { name: 'bootstrap', segment: 'internet', ip: DEFAULT_BOOTSTRAP_IP, role: 'bootstrap' },
    { name: 'autonat', segment: 'internet', ip: DEFAULT_AUTONAT_IP, role: 'autonat' }
  ]
  const routers: Router[] = []
  const sides: Array<[string, NatProfile, number]> = [['a', profileA, 1], ['b', profileB, 2]]
  for (const [side, profile, n] of sides) {
    if (profile === 'none') {
      hosts.push({ name: `peer-${side}`, segment: 'internet', ip: `11.0.${n}.10`, role: 'peer' })
    } else {
      routers.push({ name: `router-${side}`, profile, wanIp: `11.0.${n}.1`, lanCidr: `192.168.${n}.0/24`, lanIp: `192.168.${n}.1`, ...inbound })
      hosts.push({ name: `peer-${side}`, segment: `router-${side}`, ip: `192.168.${n}.10`, role: 'peer' })
    }
  }
  return { name: `${profileA}-vs-${profileB}${inbound.inbound != null ? `-inbound-${inbound.inbound}` : ''}`, hosts, routers, internetCidr: DEFAULT_INTERNET_CIDR }
}

/** Parses `a.b.c.d` into a 32-bit unsigned number; throws on malformed input. */
export function ipToInt (ip: string): number {
  const parts = ip.split('.')
  if (parts.length !== 4) throw new InvalidTopologyError(`invalid IPv4 address "${ip}"`)
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new InvalidTopologyError(`invalid IPv4 address "${ip}"`)
    n = n * 256 + Number(p)
  }
  return n
}

/** Parses `a.b.c.d/n`. */
export function parseCidr (cidr: string): { network: number, bits: number } {
  const [ip, bitsText] = cidr.split('/')
  const bits = Number(bitsText)
  if (ip == null || bitsText == null || !Number.isInteger(bits) || bits < 8 || bits > 30) throw new InvalidTopologyError(`invalid CIDR "${cidr}" (prefix length must be 8..30)`)
  const mask = (0xffffffff << (32 - bits)) >>> 0
  return { network: (ipToInt(ip) & mask) >>> 0, bits }
}

export function cidrContains (cidr: string, ip: string): boolean {
  const { network, bits } = parseCidr(cidr)
  const mask = (0xffffffff << (32 - bits)) >>> 0
  return ((ipToInt(ip) & mask) >>> 0) === network
}

/** Throws InvalidTopologyError describing the first problem found. */
export function validateTopology (topology: Topology): void {
  const names = new Set<string>()
  const ips = new Set<string>()
  const claim = (name: string, ip: string): void => {
    if (!new RegExp(`^[a-z0-9][a-z0-9-]{0,${MAX_NODE_NAME_LENGTH - 1}}$`).test(name)) throw new InvalidTopologyError(`invalid name "${name}": use 1-${MAX_NODE_NAME_LENGTH} characters [a-z0-9-]`)
    if (name === 'inet') throw new InvalidTopologyError('"inet" is reserved for the internet namespace')
    if (names.has(name)) throw new InvalidTopologyError(`duplicate name "${name}"`)
    names.add(name)
    if (ips.has(ip)) throw new InvalidTopologyError(`duplicate address ${ip}`)
    ips.add(ip)
  }
  parseCidr(topology.internetCidr)
  for (const r of topology.routers) {
    assertSupportedProfile(r.profile)
    if (r.profile === 'none') throw new InvalidTopologyError(`router "${r.name}" has profile "none"; put its hosts on the internet segment instead`)
    if (r.inbound != null) assertInboundMode(r.inbound)
    claim(r.name, r.wanIp)
    if (!cidrContains(topology.internetCidr, r.wanIp)) throw new InvalidTopologyError(`router "${r.name}" WAN ${r.wanIp} is outside ${topology.internetCidr}`)
    if (!cidrContains(r.lanCidr, r.lanIp)) throw new InvalidTopologyError(`router "${r.name}" LAN address ${r.lanIp} is outside ${r.lanCidr}`)
    if (ips.has(r.lanIp)) throw new InvalidTopologyError(`duplicate address ${r.lanIp}`)
    ips.add(r.lanIp)
  }
  for (const h of topology.hosts) {
    claim(h.name, h.ip)
    for (const alias of h.aliases ?? []) {
      if (ips.has(alias)) throw new InvalidTopologyError(`duplicate address ${alias}`)
      ips.add(alias)
      const inside = h.segment === 'internet' ? cidrContains(topology.internetCidr, alias) : topology.routers.some(r => r.name === h.segment && cidrContains(r.lanCidr, alias))
      if (!inside) throw new InvalidTopologyError(`host "${h.name}" alias ${alias} is outside its segment`)
    }
    if (h.segment === 'internet') {
      if (!cidrContains(topology.internetCidr, h.ip)) throw new InvalidTopologyError(`host "${h.name}" ${h.ip} is outside ${topology.internetCidr}`)
    } else {
      const r = topology.routers.find(r => r.name === h.segment)
      if (r == null) throw new InvalidTopologyError(`host "${h.name}" is on unknown segment "${h.segment}"`)
      if (!cidrContains(r.lanCidr, h.ip)) throw new InvalidTopologyError(`host "${h.name}" ${h.ip} is outside ${r.lanCidr}`)
    }
  }
}

/** A human-readable multi-line description. */
export function describeTopology (topology: Topology): string {
  const lines = [`topology ${topology.name} (internet ${topology.internetCidr})`]
  for (const h of topology.hosts.filter(h => h.segment === 'internet')) lines.push(`  internet  ${h.name.padEnd(12)} ${[h.ip, ...(h.aliases ?? [])].join(' ')}${h.role != null ? `  [${h.role}]` : ''}`)
  for (const r of topology.routers) {
    lines.push(`  router    ${r.name.padEnd(12)} wan ${r.wanIp}  lan ${r.lanIp} (${r.lanCidr})  nat ${r.profile}${r.inbound != null && r.inbound !== DEFAULT_INBOUND_MODE ? `  inbound ${r.inbound}` : ''}`)
    for (const h of topology.hosts.filter(h => h.segment === r.name)) lines.push(`    lan     ${h.name.padEnd(12)} ${h.ip} via ${r.lanIp}${h.role != null ? `  [${h.role}]` : ''}`)
  }
  return lines.join('\n')
}
