/**
 * Peers that find relays themselves (issue 14; go-libp2p's AutoRelay): a peer
 * without `--relay` looks up the providers of its network's relay key in the
 * DHT (relays advertise there, see relay-advertiser.ts), dials and pings the
 * candidates (every dial through the connection gater), keeps a reservation
 * on the `relays` fastest ones and, when one is lost (the relay closed the
 * connection, went away or refused a renewal), takes the next candidate at
 * once, looking relays up again when none is left. Every circuit address it
 * holds is announced (the circuit listeners confirm them; the peer's DHT
 * record follows its `reservation` events).
 */
import { serviceDependencies, type Connection, type ContentRouting, type Logger, type PeerId, type PeerInfo, type Startable } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { CIRCUIT_TRANSPORT_TAG } from '@natkit/libp2p-internals'
import { retryDelay, sleep } from './backoff.js'
import { DEFAULT_DISCOVERED_RELAYS, DEFAULT_RESERVATION_JITTER, DEFAULT_RESERVATION_RETRY, DEFAULT_RESERVATION_RETRY_MAX } from './defaults.js'
import { anyOf, relayRendezvousCid, waitForRoutingTablePeer } from './discovery.js'
import { isLimited } from './observe.js'
import { pingConnection } from './ping.js'
import { DEFAULT_RESERVATION_RENEW_MIN, DEFAULT_RESERVATION_TIMEOUT, ReservationHolder, type ReservationKeeperComponents } from './reservations.js'
import type { NatkitEvents } from '@natkit/events'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** Provider records of the relay key read per lookup (each one a candidate that is dialled and pinged). @default 8 */
export const DEFAULT_RELAY_CANDIDATES = 8
/** Bound on one relay lookup in the DHT (ms), waiting for a DHT peer included. @default 10000 */
export const DEFAULT_RELAY_LOOKUP_TIMEOUT = 10_000
/** Bound on dialling and pinging one candidate relay (ms). @default 5000 */
export const DEFAULT_RELAY_PING_TIMEOUT = 5_000
/**
 * A relay held is pinged this often (ms; 0 = never); one that does not answer
 * within {@link DEFAULT_RELAY_HEALTH_TIMEOUT} is dropped and replaced, so a relay
 * that vanished silently (no TCP reset or close) is replaced within about
 * interval + timeout, sooner than libp2p's connection monitor notices. Costs
 * the relay one ping per interval per peer that found it.
 *
 * @default 5000
 */
export const DEFAULT_RELAY_HEALTH_INTERVAL = 5_000
/** Bound on one health ping of a relay held (ms). @default 3000 */
export const DEFAULT_RELAY_HEALTH_TIMEOUT = 3_000

export interface RelayDiscoveryInit {
  /** The network's name in the relay key: the `--network` preset. */
  network: string
  events: NatkitEvents
  /**
   * Reservations kept at once, on as many relays (`--relays`).
   *
   * @default DEFAULT_DISCOVERED_RELAYS
   */
  relays?: number
  /**
   * Provider records read per lookup.
   *
   * @default DEFAULT_RELAY_CANDIDATES
   */
  candidates?: number
  /**
   * Bound on one lookup (ms).
   *
   * @default DEFAULT_RELAY_LOOKUP_TIMEOUT
   */
  lookupTimeout?: number
  /**
   * Bound on dialling and pinging one candidate (ms).
   *
   * @default DEFAULT_RELAY_PING_TIMEOUT
   */
  pingTimeout?: number
  /**
   * Ping each relay held this often (ms); 0 = never.
   *
   * @default DEFAULT_RELAY_HEALTH_INTERVAL
   */
  healthInterval?: number
  /**
   * Bound on one health ping (ms); a relay that does not answer is dropped and replaced.
   *
   * @default DEFAULT_RELAY_HEALTH_TIMEOUT
   */
  healthTimeout?: number
  /**
   * First delay before looking up again when fewer than `relays` relays could be reserved (ms), doubled per try.
   *
   * @default DEFAULT_RESERVATION_RETRY
   */
  retry?: number
  /**
   * Upper bound of that delay (ms).
   *
   * @default DEFAULT_RESERVATION_RETRY_MAX
   */
  retryMax?: number
  /**
   * Random fraction taken off each delay.
   *
   * @default DEFAULT_RESERVATION_JITTER
   */
  jitter?: number
  /**
   * Bound on one dial + reservation exchange with a chosen relay (ms).
   *
   * @default DEFAULT_RESERVATION_TIMEOUT
   */
  timeout?: number
  /**
   * Shortest wait before renewing a reservation (ms).
   *
   * @default DEFAULT_RESERVATION_RENEW_MIN
   */
  renewMin?: number
}

/** The libp2p components relay discovery uses. */
export interface RelayDiscoveryComponents extends ReservationKeeperComponents {
  peerId: PeerId
  contentRouting: Pick<ContentRouting, 'findProviders'>
  connectionManager: Pick<ConnectionManager, 'openConnection' | 'getConnections'>
  /** the node's @libp2p/kad-dht service, registered as `dht` (lookups wait for its first peer; required, optional only in a role's service map) */
  dht?: unknown
}

/** A relay that answered: where it was reached and its ping round trip. */
interface Candidate {
  id: string
  addr: Multiaddr
  rttMs: number
  /** the connection, when the measurement opened it (closed again if the relay is not chosen) */
  opened?: Connection
}

/** Finds relays in the DHT and keeps reservations on the fastest ones (see the module comment). */
export class RelayDiscovery implements Startable {
  readonly [Symbol.toStringTag] = '@natkit/relay-discovery'
  readonly [serviceDependencies]: string[] = [CIRCUIT_TRANSPORT_TAG, '@libp2p/kad-dht']
  readonly #components: RelayDiscoveryComponents
  readonly #init: Required<Omit<RelayDiscoveryInit, 'events' | 'network'>> & Pick<RelayDiscoveryInit, 'events' | 'network'>
  readonly #holder: ReservationHolder
  readonly #log: Logger
  /** relays held (reservation made or being made) → the hold's end */
  readonly #held = new Map<string, Promise<void>>()
  /** candidates of the last lookup not tried yet, fastest first */
  #ranked: Candidate[] = []
  /** relays lost since a replacement was chosen, oldest first */
  readonly #lost: string[] = []
  #controller = new AbortController()
  #wake = new AbortController()
  #loop?: Promise<void>

  constructor (components: RelayDiscoveryComponents, init: RelayDiscoveryInit) {
    this.#components = components
    this.#log = components.logger.forComponent('natkit:relay-discovery')
    this.#init = {
      ...init,
      relays: init.relays ?? DEFAULT_DISCOVERED_RELAYS,
      candidates: init.candidates ?? DEFAULT_RELAY_CANDIDATES,
      lookupTimeout: init.lookupTimeout ?? DEFAULT_RELAY_LOOKUP_TIMEOUT,
      pingTimeout: init.pingTimeout ?? DEFAULT_RELAY_PING_TIMEOUT,
      healthInterval: init.healthInterval ?? DEFAULT_RELAY_HEALTH_INTERVAL,
      healthTimeout: init.healthTimeout ?? DEFAULT_RELAY_HEALTH_TIMEOUT,
      retry: init.retry ?? DEFAULT_RESERVATION_RETRY,
      retryMax: init.retryMax ?? DEFAULT_RESERVATION_RETRY_MAX,
      jitter: init.jitter ?? DEFAULT_RESERVATION_JITTER,
      timeout: init.timeout ?? DEFAULT_RESERVATION_TIMEOUT,
      renewMin: init.renewMin ?? DEFAULT_RESERVATION_RENEW_MIN
    }
    this.#holder = new ReservationHolder({ components, events: init.events, timeout: this.#init.timeout, renewMin: this.#init.renewMin })
  }

  /** The relays held now (reservation made or being made). */
  get relays (): string[] {
    return [...this.#held.keys()]
  }

  start (): void {
    this.#controller = new AbortController()
  }

  /**
   * Starts finding relays; call once `node.start()` has resolved (relays are
   * then dialled from the listen port, as with `--relay`). A second call does nothing.
   */
  keep (): void {
    if (this.#loop != null || this.#controller.signal.aborted || this.#init.relays <= 0) return
    const signal = this.#controller.signal
    this.#loop = this.#run(signal).catch((err) => {
      if (!signal.aborted) this.#init.events.emit('error', { message: `relay discovery stopped: ${(err as Error).message}` })
    })
  }

  async beforeStop (): Promise<void> {
    this.#controller.abort()
    await this.#loop
    await Promise.allSettled(this.#held.values())
  }

  async stop (): Promise<void> {
    await this.beforeStop()
  }

  async #run (signal: AbortSignal): Promise<void> {
    let shortTries = 0
    while (!signal.aborted) {
      this.#wake = new AbortController()
      let lookedUp = false
      while (this.#held.size < this.#init.relays && !signal.aborted) {
        const next = this.#ranked.shift()
        if (next == null) {
          // each candidate of a lookup is tried once; then wait before the next lookup
          if (lookedUp) break
          await this.#lookup(signal)
          lookedUp = true
          continue
        }
        if (this.#held.has(next.id)) continue
        await this.#select(next, signal)
      }
      this.#closeUnused()
      if (signal.aborted) return
      if (this.#held.size >= this.#init.relays) {
        shortTries = 0
        // until one is lost
        await sleep(2 ** 31 - 1, AbortSignal.any([signal, this.#wake.signal]))
      } else {
        const delay = retryDelay(shortTries++, this.#init)
        this.#log('holding %d of %d relays: looking up again in %d ms', this.#held.size, this.#init.relays, delay)
        await sleep(delay, AbortSignal.any([signal, this.#wake.signal]))
        this.#ranked = []
      }
    }
  }

  /** Reserves on `c`; resolves once the reservation is made (true) or failed (false). The hold ends with `relay:lost` (a lost reservation also wakes the loop). */
  async #select (c: Candidate, signal: AbortSignal): Promise<boolean> {
    const replaces = this.#lost.shift()
    this.#init.events.emit('relay:selected', { relay: c.id, rttMs: c.rttMs, ...(replaces != null ? { replaces } : {}) })
    const { promise: reserved, resolve } = Promise.withResolvers<boolean>()
    const watching = new AbortController()
    let silent: string | undefined
    const done = this.#holder.hold(c.addr, signal, (relay) => {
      resolve(true)
      void this.#watch(relay, AbortSignal.any([signal, watching.signal]), (reason) => { silent = reason })
    }).then((outcome) => {
      watching.abort()
      resolve(false)
      this.#held.delete(c.id)
      if (signal.aborted) return
      this.#init.events.emit('relay:lost', { relay: c.id, reason: silent ?? outcome.reason })
      // a reservation that was made and is gone now: replace it at once (one that could not be made waits for the next lookup)
      if (!outcome.reserved) return
      this.#lost.push(c.id)
      this.#wake.abort()
    })
    this.#held.set(c.id, done)
    const ok = await reserved
    // a relay that could not reserve goes back to the queue's end: another candidate first
    if (!ok && replaces != null) this.#lost.unshift(replaces)
    return ok
  }

  /**
   * Pings a relay held every `healthInterval` ms; when one goes unanswered
   * for `healthTimeout` ms, tells `onUnreachable` why and closes the
   * connection (the reservation goes with it, and the hold ends).
   */
  async #watch (relay: PeerId, signal: AbortSignal, onUnreachable: (reason: string) => void): Promise<void> {
    const { healthInterval, healthTimeout } = this.#init
    if (healthInterval <= 0) return
    while (!signal.aborted) {
      await sleep(healthInterval, signal)
      const conn = this.#components.connectionManager.getConnections(relay).find(c => !isLimited(c) && c.status === 'open')
      if (signal.aborted || conn == null) return
      try {
        await pingConnection(conn, { signal: anyOf(signal, healthTimeout) })
      } catch (err) {
        if (signal.aborted) return
        const reason = `relay unreachable: no ping answer within ${healthTimeout} ms (${(err as Error).message})`
        this.#log('dropping relay %p: %s', relay, reason)
        onUnreachable(reason)
        conn.abort(new Error(reason))
        return
      }
    }
  }

  /** Looks the relay key up, dials and pings the candidates (at once, each bounded), ranks those that answered; emits `relay:discovery`. */
  async #lookup (signal: AbortSignal): Promise<void> {
    const t0 = performance.now()
    const { dht, contentRouting, peerId } = this.#components
    const found: PeerInfo[] = []
    let error: string | undefined
    const bounded = anyOf(signal, this.#init.lookupTimeout)
    try {
      await waitForRoutingTablePeer(dht, this.#init.lookupTimeout, bounded)
      for await (const p of contentRouting.findProviders(relayRendezvousCid(this.#init.network), { signal: bounded })) {
        if (p.id.equals(peerId) || found.some(f => f.id.equals(p.id))) continue
        found.push(p)
        if (found.length >= this.#init.candidates) break
      }
    } catch (err) {
      if (signal.aborted) return
      // the providers read before a timeout still count
      if (found.length === 0) error = (err as Error).message
    }
    const measured = (await Promise.all(found.map(async p => await this.#measure(p, signal)))).filter((c): c is Candidate => c != null)
    measured.sort((a, b) => a.rttMs - b.rttMs)
    if (signal.aborted) return
    this.#ranked = measured
    this.#init.events.emit('relay:discovery', { found: found.length, candidates: measured.map(c => ({ relay: c.id, rttMs: c.rttMs })), ms: Math.round(performance.now() - t0), ...(error != null ? { error } : {}) })
  }

  /** Dials (through the connection gater) and pings one candidate; undefined when it did not answer in time. */
  async #measure (p: PeerInfo, stop: AbortSignal): Promise<Candidate | undefined> {
    const id = p.id.toString()
    const { connectionManager } = this.#components
    const signal = anyOf(stop, this.#init.pingTimeout)
    const had = connectionManager.getConnections(p.id).some(c => !isLimited(c))
    const addrs = p.multiaddrs.map(a => withPeer(a, id))
    try {
      const conn = await connectionManager.openConnection(addrs.length > 0 ? addrs : p.id, { signal })
      // a relay is used over a direct connection only
      if (isLimited(conn)) return undefined
      const rttMs = await pingConnection(conn, { signal })
      return { id, addr: withPeer(conn.remoteAddr, id), rttMs, ...(had ? {} : { opened: conn }) }
    } catch (err) {
      this.#log('candidate relay %s did not answer: %s', id, (err as Error).message)
      return undefined
    }
  }

  /** Closes the connections measurements opened to candidates not chosen (unless something else uses them now). */
  #closeUnused (): void {
    for (const c of this.#ranked) {
      const conn = c.opened
      if (conn == null || this.#held.has(c.id) || conn.status !== 'open' || conn.streams.length > 0) continue
      c.opened = undefined
      conn.close().catch(() => {})
    }
  }
}

/** `addr` ending in `/p2p/<id>` (as is when its last peer id is `id` already). */
export function withPeer (addr: Multiaddr, id: string): Multiaddr {
  return addr.getComponents().findLast(c => c.name === 'p2p')?.value === id ? addr : multiaddr(`${addr.toString()}/p2p/${id}`)
}

/** Relay discovery as a libp2p service: `services: { relayDiscovery: relayDiscovery({ network, events }) }` (needs a `dht` service and the circuit relay transport). */
export function relayDiscovery (init: RelayDiscoveryInit): (components: RelayDiscoveryComponents) => RelayDiscovery {
  return (components) => new RelayDiscovery(components, init)
}

