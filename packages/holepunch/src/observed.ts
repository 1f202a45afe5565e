import { isLoopback, isPrivate } from '@libp2p/utils'
import { CODE_IP4, CODE_IP6, CODE_P2P, CODE_TCP, multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_MAX_OBSERVED_ADDRS, DEFAULT_MAX_OBSERVERS } from './constants.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options of {@link ObservedAddresses}. */
export interface ObservedAddressesInit {
  /**
   * How many most-recent observed addresses to keep.
   *
   * @default DEFAULT_MAX_OBSERVED_ADDRS
   */
  maxAddrs?: number
  /**
   * How many observers (remote peers) to remember for symmetric NAT detection.
   *
   * @default DEFAULT_MAX_OBSERVERS
   */
  maxObservers?: number
  /**
   * Keep private and loopback observations too (LAN / loopback tests).
   *
   * @default false
   */
  allowPrivateAddresses?: boolean
}

/** True for private (RFC 1918, ULA, link-local, CGNAT…) and loopback addresses. */
export function isPrivateOrLoopback (ma: Multiaddr): boolean {
  try {
    return isPrivate(ma) || isLoopback(ma)
  } catch {
    return false
  }
}

/**
 * Returns `/ip4|ip6/<ip>/tcp/<port>` if `ma` is exactly a TCP address
 * (optionally followed by `/p2p/<id>`), otherwise `undefined`.
 */
export function toTcpAddr (ma: Multiaddr): { addr: Multiaddr, ip: string, port: number } | undefined {
  const components = ma.getComponents()
  const last = components[components.length - 1]
  const parts = last?.code === CODE_P2P ? components.slice(0, -1) : components
  if (parts.length !== 2) return undefined
  const [ip, tcp] = parts
  if ((ip.code !== CODE_IP4 && ip.code !== CODE_IP6) || tcp.code !== CODE_TCP || ip.value == null || tcp.value == null) {
    return undefined
  }
  const port = Number(tcp.value)
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined
  return { addr: multiaddr(`/${ip.name}/${ip.value}/tcp/${port}`), ip: ip.value, port }
}

/**
 * Where the connection an observation came over was dialled from: its local
 * port, and whether that was our listen port (port reuse) or an ephemeral one.
 */
export interface ObservationSource {
  port: number
  reused: boolean
}

/** Why our NAT is thought to map per destination. */
export interface SymmetricNatEvidence {
  /**
   * `different-ports`: two observers saw different ports for connections
   * dialled from the same listen port (the mapping varies per destination).
   * `port-not-kept`: an observer saw a port other than the listen port the
   * connection was dialled from (only one observer: a NAT that changes the
   * port often maps per destination, but an endpoint-independent NAT may
   * also change it). `discovered`: NAT behaviour discovery (STUN observers
   * on two addresses) found an endpoint-dependent mapping.
   */
  kind: 'different-ports' | 'port-not-kept' | 'discovered'
  /** What was observed, one sentence. */
  message: string
}

/**
 * What we know of our own NAT's TCP mapping, from identify observations of
 * connections dialled from our listen port. Shared with the peer in natkit's
 * DCUtR extension (see `codec.ts`), so that an easy peer can predict the
 * ports our next mappings get.
 */
export interface MappingHint {
  /**
   * `endpoint-dependent`: some observer saw a port other than our listen port
   * (see {@link SymmetricNatEvidence}); `endpoint-independent`: every
   * observer saw the listen port.
   */
  mapping: 'endpoint-independent' | 'endpoint-dependent'
  /**
   * Port allocation, from the observed ports in the order they were seen:
   * `sequential` when at least {@link MIN_SEQUENCE_SAMPLES} steps were equal,
   * `random` when they were not, `unknown` with fewer observations.
   */
  allocation: 'unknown' | 'sequential' | 'random'
  /** With `sequential`: the step between consecutive mappings. */
  stride?: number
  /** The newest observed port (base of a prediction). */
  port: number
}

/**
 * Fewest observed mappings (from the listen port) before the allocation is
 * called sequential or random.
 *
 * @default 3
 */
export const MIN_SEQUENCE_SAMPLES = 3

interface Observation {
  ip: string
  port: number
  source?: ObservationSource
}

/**
 * Bounded record of how remote peers see us (identify `observedAddr`).
 *
 * - `addrs()` lists the most recent distinct public TCP observed addresses
 *   (without `/p2p`), newest first — hole punch candidates.
 * - `symmetricNatEvidence()` says why the NAT mapping seems to depend on the
 *   destination. Only observations of connections dialled FROM a listen port
 *   (port reuse, `source.reused`) count: with an ephemeral source port every
 *   connection has its own mapping, so differing ports prove nothing
 *   (`@natkit/tcp-reuse` falls back to ephemeral ports when the listen port
 *   cannot be bound; inbound connections carry no `source`).
 */
export class ObservedAddresses {
  readonly #maxAddrs: number
  readonly #maxObservers: number
  readonly #allowPrivate: boolean
  /** addr string → multiaddr, insertion order = recency (oldest first). */
  readonly #addrs = new Map<string, Multiaddr>()
  /** observer peer id → its latest observation of us. */
  readonly #observations = new Map<string, Observation>()

  constructor (init: ObservedAddressesInit = {}) {
    this.#maxAddrs = init.maxAddrs ?? DEFAULT_MAX_OBSERVED_ADDRS
    this.#maxObservers = init.maxObservers ?? DEFAULT_MAX_OBSERVERS
    this.#allowPrivate = init.allowPrivateAddresses ?? false
  }

  /**
   * Records that `observer` sees us at `observed`, over a connection dialled
   * from `source` (undefined: inbound, or not known). Returns the normalised
   * address if it was accepted (TCP, and public unless private is allowed).
   */
  add (observed: Multiaddr, observer: string, source?: ObservationSource): Multiaddr | undefined {
    const tcp = toTcpAddr(observed)
    if (tcp == null) return undefined
    if (!this.#allowPrivate && isPrivateOrLoopback(tcp.addr)) return undefined

    const key = tcp.addr.toString()
    this.#addrs.delete(key)
    this.#addrs.set(key, tcp.addr)
    while (this.#addrs.size > this.#maxAddrs) {
      const oldest = this.#addrs.keys().next().value
      if (oldest == null) break
      this.#addrs.delete(oldest)
    }

    this.#observations.delete(observer)
    this.#observations.set(observer, { ip: tcp.ip, port: tcp.port, source: source != null ? { ...source } : undefined })
    while (this.#observations.size > this.#maxObservers) {
      const oldest = this.#observations.keys().next().value
      if (oldest == null) break
      this.#observations.delete(oldest)
    }
    return tcp.addr
  }

  /** Recent observed addresses, newest first. */
  addrs (): Multiaddr[] {
    return [...this.#addrs.values()].reverse()
  }

  /** True if {@link symmetricNatEvidence} finds any. */
  symmetricNatSuspected (): boolean {
    return this.symmetricNatEvidence() != null
  }

  /**
   * What our mapping does, from observations of connections dialled from our
   * listen port (newest last); undefined without any.
   */
  mappingHint (): MappingHint | undefined {
    const seen = [...this.#observations.values()].filter(o => o.source?.reused === true)
    const newest = seen.at(-1)
    if (newest == null) return undefined
    if (seen.every(o => o.port === o.source?.port)) return { mapping: 'endpoint-independent', allocation: 'unknown', port: newest.port }
    const ports = seen.filter(o => o.ip === newest.ip).map(o => o.port)
    if (ports.length < MIN_SEQUENCE_SAMPLES) return { mapping: 'endpoint-dependent', allocation: 'unknown', port: newest.port }
    const steps = ports.slice(1).map((p, i) => p - ports[i])
    const stride = steps[0]
    return steps.every(s => s === stride) && stride !== 0
      ? { mapping: 'endpoint-dependent', allocation: 'sequential', stride, port: newest.port }
      : { mapping: 'endpoint-dependent', allocation: 'random', port: newest.port }
  }

  /** See the class description; the stronger `different-ports` evidence first. */
  symmetricNatEvidence (): SymmetricNatEvidence | undefined {
    const byListenPort = new Map<string, { port: number, observer: string }>()
    let notKept: SymmetricNatEvidence | undefined
    for (const [observer, { ip, port, source }] of this.#observations) {
      if (source?.reused !== true) continue
      const key = `${ip} ${source.port}`
      const seen = byListenPort.get(key)
      if (seen != null && seen.port !== port) {
        return {
          kind: 'different-ports',
          message: `two peers saw connections we dialled from listen port ${source.port} at different ports (${ip}:${seen.port} by ${short(seen.observer)}, ${ip}:${port} by ${short(observer)}): our NAT's mapping varies per destination (symmetric NAT)`
        }
      }
      byListenPort.set(key, { port, observer })
      if (notKept == null && port !== source.port) {
        notKept = {
          kind: 'port-not-kept',
          message: `our NAT mapped a connection we dialled from listen port ${source.port} to ${ip}:${port} (seen by ${short(observer)}): a NAT that does not keep the port is likely one whose mapping varies per destination (symmetric NAT)`
        }
      }
    }
    return notKept
  }
}

const short = (id: string): string => id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id

/**
 * What NAT behaviour discovery (RFC 5780-style tests against STUN observers,
 * `@natkit/nat-behavior`'s `discoverNat`) found of our own NAT, in RFC 4787
 * terms. Structural, so this package does not depend on the discovery code.
 */
export interface DiscoveredNat {
  mapping: 'none' | 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'endpoint-dependent' | 'unknown'
  allocation: 'preserving' | 'sequential' | 'random' | 'unknown'
  /** With `sequential`: the step between consecutive new mappings' ports. */
  stride?: number
  /**
   * Which remote endpoints our NAT lets reach a mapping (RFC 4787), once
   * discovery's filtering test ended: `endpoint-independent` or
   * `address-dependent` admits a symmetric peer's new mapping (its SYN comes
   * from a new port of an address we sent to), so the easy side needs no probes.
   */
  filtering?: 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown'
}

/** What we know of our own NAT's mapping; `port` only with an identify observation (the base of a prediction). */
export type OwnMapping = Omit<MappingHint, 'port'> & { port?: number }

const DEPENDENT: ReadonlySet<DiscoveredNat['mapping']> = new Set(['address-dependent', 'address-and-port-dependent', 'endpoint-dependent'])

/** True for a discovered mapping that varies per destination ("symmetric"). */
export function isEndpointDependent (mapping: DiscoveredNat['mapping']): boolean {
  return DEPENDENT.has(mapping)
}

/**
 * Why our NAT is thought to map per destination, from both sources: discovery
 * overrules identify's weak `port-not-kept` guess either way (an
 * endpoint-independent NAT may change the port too), never two identify
 * observers' `different-ports`.
 */
export function mergeEvidence (observed: SymmetricNatEvidence | undefined, discovered: DiscoveredNat | undefined): SymmetricNatEvidence | undefined {
  if (discovered == null || observed?.kind === 'different-ports') return observed
  if (discovered.mapping === 'endpoint-independent' || discovered.mapping === 'none') return undefined
  if (!isEndpointDependent(discovered.mapping)) return observed
  const allocation = discovered.allocation === 'sequential' ? `sequential ports, stride ${discovered.stride ?? '?'}` : `${discovered.allocation} port allocation`
  return { kind: 'discovered', message: `NAT discovery found our NAT's mapping ${discovered.mapping} (${allocation}): it varies per destination (symmetric NAT)` }
}

/**
 * Our own mapping from both sources: discovery's mapping when it knows it
 * (two observer addresses), else identify's; the allocation identify saw over
 * TCP when it knows it (≥ {@link MIN_SEQUENCE_SAMPLES} observers), else
 * discovery's `sequential`/`random`. The port is always identify's (TCP; UDP
 * ports say nothing of the next TCP mapping).
 */
export function mergeMapping (observed: MappingHint | undefined, discovered: DiscoveredNat | undefined): OwnMapping | undefined {
  const mapping = discovered?.mapping === 'endpoint-independent' || discovered?.mapping === 'none'
    ? 'endpoint-independent'
    : discovered != null && isEndpointDependent(discovered.mapping) ? 'endpoint-dependent' : observed?.mapping
  if (mapping == null) return undefined
  const port = observed != null ? { port: observed.port } : {}
  if (observed != null && observed.allocation !== 'unknown') return { mapping, allocation: observed.allocation, ...(observed.stride != null ? { stride: observed.stride } : {}), ...port }
  if (discovered?.allocation === 'sequential' && discovered.stride != null && discovered.stride !== 0) return { mapping, allocation: 'sequential', stride: discovered.stride, ...port }
  if (discovered?.allocation === 'random') return { mapping, allocation: 'random', ...port }
  return { mapping, allocation: 'unknown', ...port }
}
