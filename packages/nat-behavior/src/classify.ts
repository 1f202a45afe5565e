/**
 * Pure NAT classification (RFC 4787 terms, RFC 5780 tests): a function from
 * what the probes observed to what the NAT does. No I/O here, so every class
 * is unit-tested with synthetic observations.
 */

/** An IP address and port. */
export interface Endpoint {
  address: string
  port: number
}

/**
 * RFC 4787 §4.1 mapping behaviour. `none`: the observers saw this host's own
 * address and port (no NAT). `endpoint-dependent`: the mapping changes per
 * remote address, but no two observers shared an address to tell
 * address-dependent from address-and-port-dependent. `unknown`: too few
 * observers answered (at least two remote addresses are needed).
 */
export type MappingBehavior = 'none' | 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'endpoint-dependent' | 'unknown'

/** RFC 4787 §5 filtering behaviour; `unknown` without an RFC 5780 (CHANGE-REQUEST) server. */
export type FilteringBehavior = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown'

/**
 * RFC 4787 §4.2.1 port allocation: `preserving` (the external port is the
 * local port), `sequential` (each new mapping is the previous one plus a fixed
 * `stride`), `random`, or `unknown` (fewer than {@link MIN_ALLOCATION_SAMPLES}
 * new mappings seen).
 */
export type PortAllocation = 'preserving' | 'sequential' | 'random' | 'unknown'

/**
 * What the NAT does with an unsolicited inbound TCP SYN (one no mapping
 * admits): `drop` (no answer, RFC 5382 REQ-4), `reset` (a TCP RST), `reject`
 * (an ICMP error), `open` (it reached this host: no NAT or firewall in the
 * way), `unknown` (not tested).
 */
export type UnsolicitedInbound = 'drop' | 'reset' | 'reject' | 'open' | 'unknown'

/** Outcome of one TCP connect-back attempt, as the observer saw it. */
export type ConnectBackResult = 'connected' | 'reset' | 'timeout' | 'unreachable'

/**
 * Fewest distinct new mappings whose ports must step by one constant before
 * allocation is called `sequential` (two equal steps).
 *
 * @default 3
 */
export const MIN_ALLOCATION_SAMPLES = 3

/** One Binding transaction that opened a flow to an observer. */
export interface MappingSample {
  /** The observer (STUN server endpoint) asked. */
  server: Endpoint
  /** The local socket it was sent from (the bound address may be a wildcard). */
  local: Endpoint
  /** The address and port the observer saw; absent when it did not answer. */
  mapped?: Endpoint
}

/** The TCP connect-back probe: the observer connected to `target` from another address. */
export interface TcpConnectBackObservation {
  /** Where the observer saw our TCP connection come from. */
  observed: Endpoint
  /** Where it connected back to (our observed address, a port we listen on but never sent from). */
  target: Endpoint
  result: ConnectBackResult
}

/** Everything the probes observed. */
export interface NatObservations {
  /** This host's interface addresses (an observer that sees one of them, with the local port, means no NAT). */
  localAddresses: string[]
  /** Every transaction that opened a new flow, in the order sent (allocation is read from this order). */
  samples: MappingSample[]
  /**
   * RFC 5780 filtering tests from the first socket: did the answer to
   * CHANGE-REQUEST change-IP-and-port (test II) / change-port (test III)
   * arrive? Absent without an RFC 5780 server.
   */
  filtering?: { changeIpAndPort: boolean, changePort: boolean }
  /** A datagram from a second local socket to the first socket's mapped address arrived. */
  hairpin?: boolean
  /** The TCP connect-back probe, if an observer offered one. */
  tcp?: TcpConnectBackObservation
  /** Why the TCP connect-back probe gave no result (observer refused, absent or silent). */
  tcpError?: string
  /**
   * Mapping lifetime probe: the longest idle time after which a delayed
   * answer still got through (`aliveMs`), and the shortest after which it did
   * not (`expiredMs`), both bounded by the probe's maximum.
   */
  lifetime?: { aliveMs?: number, expiredMs?: number }
}

/** What the NAT does, with the evidence behind each answer. */
export interface NatClassification {
  /** False when the observers saw this host's own address and port. */
  natted?: boolean
  /** The external address observers saw (first answer). */
  publicAddress?: string
  mapping: MappingBehavior
  filtering: FilteringBehavior
  allocation: PortAllocation
  /** With `sequential`: the step between consecutive new mappings' ports (may be negative). */
  stride?: number
  hairpin?: boolean
  inbound: UnsolicitedInbound
  /** Mapping lifetime bounds in milliseconds (see {@link NatObservations.lifetime}). */
  lifetime?: { minMs?: number, maxMs?: number }
  /** One line per observation behind the answers, for people and logs. */
  evidence: string[]
}

const fmt = (e: Endpoint): string => e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`
const same = (a: Endpoint, b: Endpoint): boolean => a.address === b.address && a.port === b.port

/** The signed step from port a to port b, modulo 65536, in [-32767, 32768]. */
function portStep (a: number, b: number): number {
  const d = (b - a + 65_536) % 65_536
  return d > 32_768 ? d - 65_536 : d
}

type Answered = MappingSample & { mapped: Endpoint }

/** Mapping behaviour from the answers to one local socket. */
export function classifyMapping (answered: Answered[], localAddresses: string[]): MappingBehavior {
  const first = answered[0]
  if (first == null) return 'unknown'
  if (answered.every(s => localAddresses.includes(s.mapped.address) && s.mapped.port === s.local.port)) return 'none'
  let differentAddress = 0
  let addressChanges = false
  let samePortPairs = 0
  let portChanges = false
  for (let i = 0; i < answered.length; i++) {
    for (let j = i + 1; j < answered.length; j++) {
      const a = answered[i] as Answered
      const b = answered[j] as Answered
      if (a.server.address !== b.server.address) {
        differentAddress++
        if (!same(a.mapped, b.mapped)) addressChanges = true
      } else if (a.server.port !== b.server.port) {
        samePortPairs++
        if (!same(a.mapped, b.mapped)) portChanges = true
      }
    }
  }
  if (differentAddress === 0) return portChanges ? 'address-and-port-dependent' : 'unknown'
  if (!addressChanges) return portChanges ? 'address-and-port-dependent' : 'endpoint-independent'
  if (samePortPairs === 0) return 'endpoint-dependent'
  return portChanges ? 'address-and-port-dependent' : 'address-dependent'
}

/**
 * Port allocation from every answered sample in sending order: `preserving`
 * when each mapping kept its local port, `sequential` when the distinct new
 * mappings step by one constant, else `random`.
 */
export function classifyAllocation (answered: Answered[]): { allocation: PortAllocation, stride?: number } {
  if (answered.length === 0) return { allocation: 'unknown' }
  if (answered.every(s => s.mapped.port === s.local.port)) return { allocation: 'preserving' }
  // a mapping reused (endpoint-independent mapping, same socket) is not a new allocation
  const fresh: Answered[] = []
  for (const s of answered) {
    if (!fresh.some(f => same(f.local, s.local) && same(f.mapped, s.mapped))) fresh.push(s)
  }
  if (fresh.length < MIN_ALLOCATION_SAMPLES) return { allocation: 'unknown' }
  const steps = fresh.slice(1).map((s, i) => portStep((fresh[i] as Answered).mapped.port, s.mapped.port))
  const stride = steps[0] as number
  if (stride !== 0 && steps.every(d => d === stride)) return { allocation: 'sequential', stride }
  return { allocation: 'random' }
}

/** RFC 5780 §4.4: test II (change IP and port) answered → endpoint-independent; else test III (change port) → address-dependent; else address-and-port-dependent. */
export function classifyFiltering (filtering: NatObservations['filtering']): FilteringBehavior {
  if (filtering == null) return 'unknown'
  if (filtering.changeIpAndPort) return 'endpoint-independent'
  return filtering.changePort ? 'address-dependent' : 'address-and-port-dependent'
}

const INBOUND: Record<ConnectBackResult, UnsolicitedInbound> = { connected: 'open', reset: 'reset', timeout: 'drop', unreachable: 'reject' }

/** Classifies the observations; pure. */
export function classifyNat (o: NatObservations): NatClassification {
  const evidence: string[] = []
  const answered = o.samples.filter((s): s is Answered => s.mapped != null)
  for (const s of o.samples) {
    evidence.push(s.mapped == null
      ? `${fmt(s.server)} did not answer (from local port ${s.local.port})`
      : `${fmt(s.server)} saw ${fmt(s.mapped)} (from local port ${s.local.port})`)
  }
  const firstLocal = answered[0]?.local
  const main = firstLocal == null ? [] : answered.filter(s => same(s.local, firstLocal))
  const mapping = classifyMapping(main, o.localAddresses)
  const { allocation, stride } = mapping === 'none' ? { allocation: 'preserving' as const, stride: undefined } : classifyAllocation(answered)
  if (o.filtering != null) {
    evidence.push(`answer from the other address and port ${o.filtering.changeIpAndPort ? 'arrived' : 'did not arrive'}; from the other port ${o.filtering.changePort ? 'arrived' : 'did not arrive'}`)
  }
  if (o.hairpin != null) evidence.push(`a datagram to our own mapped address ${o.hairpin ? 'came back (hairpinning)' : 'did not come back'}`)
  if (o.tcpError != null) evidence.push(`TCP connect-back: ${o.tcpError}`)
  if (o.tcp != null) evidence.push(`TCP: observer saw ${fmt(o.tcp.observed)}; its connect back to ${fmt(o.tcp.target)} from another address: ${o.tcp.result}`)
  let lifetime: NatClassification['lifetime']
  if (o.lifetime != null) {
    lifetime = { ...(o.lifetime.aliveMs != null ? { minMs: o.lifetime.aliveMs } : {}), ...(o.lifetime.expiredMs != null ? { maxMs: o.lifetime.expiredMs } : {}) }
    evidence.push(`mapping lifetime: ${o.lifetime.aliveMs != null ? `alive after ${o.lifetime.aliveMs} ms idle` : 'not alive after the shortest idle time'}${o.lifetime.expiredMs != null ? `, gone after ${o.lifetime.expiredMs} ms` : ''}`)
  }
  const first = answered[0]?.mapped
  return {
    ...(mapping === 'unknown' ? {} : { natted: mapping !== 'none' }),
    ...(first != null ? { publicAddress: first.address } : {}),
    mapping,
    filtering: classifyFiltering(o.filtering),
    allocation,
    ...(stride != null ? { stride } : {}),
    ...(o.hairpin != null ? { hairpin: o.hairpin } : {}),
    inbound: o.tcp == null ? 'unknown' : INBOUND[o.tcp.result],
    ...(lifetime != null ? { lifetime } : {}),
    evidence
  }
}
