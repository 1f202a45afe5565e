/**
 * The relay's reservation policy beside the circuit relay server's own slot
 * limit (`--max-reservations`): at most `maxPerIp` reservations per IP (IPv6:
 * per /64) and `maxPerNetwork` per IPv4 /16 or IPv6 /32 (go-libp2p's relay
 * defaults: 8 per IP, 32 per ASN), and a reservation is freed once the peer
 * that made it has been disconnected for `grace` ms (the server itself keeps it
 * for the whole `--reservation-ttl`).
 *
 * All of it uses public API of @libp2p/circuit-relay-v2: the server asks the
 * connection gater's `denyInboundRelayReservation(peer)` before its store
 * decides, and `CircuitRelayService.reservations` holds every reservation with
 * the client's address and its expiry signal (`RetimeableAbortSignal.clear()`
 * stops the expiry from later deleting a newer reservation of the same peer).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { DEFAULT_MAX_RESERVATIONS_PER_IP, DEFAULT_MAX_RESERVATIONS_PER_NETWORK, DEFAULT_RESERVATION_GRACE } from './defaults.js'
import { ipGroups } from './ip-groups.js'
import { ReservationGroupIndex, type IsHeld } from './reservation-index.js'
import type { NatkitEvents, ReservationLimitName } from '@natkit/events'
import type { Connection, PeerId, TypedEventTarget, Libp2pEvents } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the policy uses of a reservation in `CircuitRelayService.reservations` (@libp2p/circuit-relay-v2's `RelayReservation`). */
interface ReservationLike { addr: Multiaddr, signal: { clear: () => void } }
/** `CircuitRelayService.reservations`: a PeerMap of reservations. */
interface ReservationMapLike extends Iterable<[PeerId, ReservationLike]> {
  readonly size?: number
  has: (peer: PeerId) => boolean
  get: (peer: PeerId) => ReservationLike | undefined
  delete: (peer: PeerId) => void
}


export interface ReservationLimitsInit {
  /** @default DEFAULT_MAX_RESERVATIONS_PER_IP */
  maxPerIp?: number
  /** @default DEFAULT_MAX_RESERVATIONS_PER_NETWORK */
  maxPerNetwork?: number
  /** @default DEFAULT_RESERVATION_GRACE */
  grace?: number
}

/** What the policy needs of a running relay node. */
export interface ReservationLimitsTarget {
  /** the circuit relay server (`CircuitRelayService`) */
  relay: { reservations: ReservationMapLike }
  /** libp2p's event bus (`peer:connect`, `peer:disconnect`) */
  libp2pEvents: TypedEventTarget<Libp2pEvents>
  connectionsOf: (peer: PeerId) => Connection[]
  events: NatkitEvents
}

/** A refusal by the policy: which limit, and a one-line reason. */
export interface ReservationRefusal { limit: ReservationLimitName, message: string }

/**
 * Per-IP and per-network reservation caps and the release of reservations of
 * disconnected peers. `gater` goes into the relay's connection gater;
 * `attach` binds it to the running server (the relay observer service does);
 * `during(connection, fn)` runs one HOP RESERVE so the gater knows which
 * connection asks.
 */
export class ReservationLimits {
  readonly maxPerIp: number
  readonly maxPerNetwork: number
  readonly grace: number
  readonly #current = new AsyncLocalStorage<{ connection: Connection, refusal?: ReservationRefusal }>()
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()
  #target?: ReservationLimitsTarget
  #detach?: () => void
  /** granted reservations by host and network (no scan of every reservation per RESERVE) */
  readonly #index = new ReservationGroupIndex<ReservationLike>()
  readonly #isHeld: IsHeld<ReservationLike> = (peer, r) => this.#target?.relay.reservations.get(peer) === r

  constructor (init: ReservationLimitsInit = {}) {
    this.maxPerIp = init.maxPerIp ?? DEFAULT_MAX_RESERVATIONS_PER_IP
    this.maxPerNetwork = init.maxPerNetwork ?? DEFAULT_MAX_RESERVATIONS_PER_NETWORK
    this.grace = init.grace ?? DEFAULT_RESERVATION_GRACE
  }

  /** The limit a new reservation by `peer` over `connection` would exceed, if any (a renewal never does). */
  refusal (peer: PeerId, connection: Connection): ReservationRefusal | undefined {
    const reservations = this.#target?.relay.reservations
    const mine = ipGroups(connection.remoteAddr)
    if (reservations == null || mine == null || reservations.has(peer)) return undefined
    const sameHost = this.#index.count('host', mine, this.maxPerIp, this.#isHeld)
    const sameNetwork = this.#index.count('net', mine, this.maxPerNetwork, this.#isHeld)
    if (sameHost >= this.maxPerIp) return { limit: 'per-ip', message: `${sameHost} reservations held from ${mine.host} (per-IP limit ${this.maxPerIp})` }
    if (sameNetwork >= this.maxPerNetwork) return { limit: 'per-network', message: `${sameNetwork} reservations held from ${mine.network} (per-network limit ${this.maxPerNetwork})` }
    return undefined
  }

  /** For the connection gater: deny a reservation that would exceed a limit (the refusal is kept for {@link during}). */
  readonly denyInboundRelayReservation = (peer: PeerId): boolean => {
    const call = this.#current.getStore()
    if (call == null) return false
    call.refusal = this.refusal(peer, call.connection)
    return call.refusal != null
  }

  /** Runs one HOP RESERVE handling; resolves with the policy's refusal, if it refused. */
  async during (connection: Connection, fn: () => Promise<void>): Promise<ReservationRefusal | undefined> {
    const call: { connection: Connection, refusal?: ReservationRefusal } = { connection }
    try {
      await this.#current.run(call, fn)
    } finally {
      const reservations = this.#target?.relay.reservations
      const granted = reservations?.get(connection.remotePeer)
      const groups = granted != null ? ipGroups(granted.addr) : undefined
      if (reservations != null && granted != null && groups != null) this.#index.add(connection.remotePeer, granted, groups, this.#isHeld, reservations.size ?? 0)
    }
    return call.refusal
  }

  /** Binds the policy to a started relay; returns the function that unbinds it (and cancels pending releases). */
  attach (target: ReservationLimitsTarget): () => void {
    this.#detach?.()
    this.#target = target
    const onDisconnect = (evt: CustomEvent<PeerId>): void => { this.#schedule(evt.detail) }
    const onConnect = (evt: CustomEvent<PeerId>): void => { this.#cancel(evt.detail.toString()) }
    target.libp2pEvents.addEventListener('peer:disconnect', onDisconnect)
    target.libp2pEvents.addEventListener('peer:connect', onConnect)
    this.#detach = () => {
      target.libp2pEvents.removeEventListener('peer:disconnect', onDisconnect)
      target.libp2pEvents.removeEventListener('peer:connect', onConnect)
      for (const t of this.#timers.values()) clearTimeout(t)
      this.#timers.clear()
      this.#target = undefined
      this.#detach = undefined
    }
    return this.#detach
  }

  #cancel (key: string): void {
    clearTimeout(this.#timers.get(key))
    this.#timers.delete(key)
  }

  /** At most one timer per reservation held (bounded by the server's slots). */
  #schedule (peer: PeerId): void {
    const target = this.#target
    if (target?.relay.reservations.has(peer) !== true) return
    const key = peer.toString()
    this.#cancel(key)
    const timer = setTimeout(() => {
      this.#timers.delete(key)
      const reservation = target.relay.reservations.get(peer)
      if (reservation == null || target.connectionsOf(peer).length > 0) return
      reservation.signal.clear()
      target.relay.reservations.delete(peer)
      target.events.emit('relay:reservation:removed', { peer: key, reason: 'disconnected' })
    }, this.grace)
    timer.unref?.()
    this.#timers.set(key, timer)
  }
}
