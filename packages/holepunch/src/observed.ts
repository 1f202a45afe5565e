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
 * Bounded record of how remote peers see us (identify `observedAddr`).
 *
 * - `addrs()` lists the most recent distinct public TCP observed addresses
 *   (without `/p2p`), newest first — hole punch candidates.
 * - `symmetricNatSuspected()` is true when two different observers report the
 *   same public IP with different ports, i.e. the NAT mapping depends on the
 *   destination. This is only meaningful when outbound TCP connections reuse
 *   the listen port (natkit `tcp-reuse`); with ephemeral source ports every
 *   connection has its own port and this reports a false positive.
 */
export class ObservedAddresses {
  readonly #maxAddrs: number
  readonly #maxObservers: number
  readonly #allowPrivate: boolean
  /** addr string → multiaddr, insertion order = recency (oldest first). */
  readonly #addrs = new Map<string, Multiaddr>()
  /** observer peer id → its latest observation of us. */
  readonly #observations = new Map<string, { ip: string, port: number }>()

  constructor (init: ObservedAddressesInit = {}) {
    this.#maxAddrs = init.maxAddrs ?? DEFAULT_MAX_OBSERVED_ADDRS
    this.#maxObservers = init.maxObservers ?? DEFAULT_MAX_OBSERVERS
    this.#allowPrivate = init.allowPrivateAddresses ?? false
  }

  /**
   * Records that `observer` sees us at `observed`. Returns the normalised
   * address if it was accepted (TCP, and public unless private is allowed).
   */
  add (observed: Multiaddr, observer: string): Multiaddr | undefined {
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
    this.#observations.set(observer, { ip: tcp.ip, port: tcp.port })
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

  /** See the class description. */
  symmetricNatSuspected (): boolean {
    const portsByIp = new Map<string, Set<number>>()
    for (const { ip, port } of this.#observations.values()) {
      let ports = portsByIp.get(ip)
      if (ports == null) {
        ports = new Set()
        portsByIp.set(ip, ports)
      }
      ports.add(port)
      if (ports.size >= 2) return true
    }
    return false
  }
}
