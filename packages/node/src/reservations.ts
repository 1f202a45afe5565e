import { serviceDependencies, type ComponentLogger, type Logger, type PeerId, type Startable } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { UserError } from '@natkit/events'
import { circuitReservationStore, CIRCUIT_TRANSPORT_TAG, type ReservationStoreLike } from '@natkit/libp2p-internals'
import { retryDelay, sleep, waitToRetry } from './backoff.js'
import { DEFAULT_RELAY_PROBE_INTERVAL, DEFAULT_RESERVATION_JITTER, DEFAULT_RESERVATION_RETRY, DEFAULT_RESERVATION_RETRY_MAX } from './defaults.js'
import type { NatkitEvents } from '@natkit/events'
import type { ConnectionManager, TransportManager } from '@libp2p/interface-internal'

/** Bound on one dial + reservation exchange with a relay. */
export const DEFAULT_RESERVATION_TIMEOUT = 10_000
/**
 * Shortest wait before renewing a reservation. The keeper renews when half of
 * the remaining lifetime has passed, but never sooner than this.
 */
export const DEFAULT_RESERVATION_RENEW_MIN = 250

/** A `--relay` address without `/p2p/<peer id>` (a usage problem). */
export class RelayAddressError extends UserError {
  static override name = 'RelayAddressError'
  override name = 'RelayAddressError'
}

export interface ReservationKeeperInit {
  /** Relay multiaddrs, each ending in `/p2p/<relay peer id>`. */
  relays: Array<string | Multiaddr>
  events: NatkitEvents
  /**
   * First delay before retrying a failed or lost reservation; doubles up to `retryMax`.
   *
   * @default DEFAULT_RESERVATION_RETRY
   */
  retry?: number
  /**
   * Upper bound of the retry delay.
   *
   * @default DEFAULT_RESERVATION_RETRY_MAX
   */
  retryMax?: number
  /**
   * Random fraction of each retry delay (0-1): a delay `d` becomes a value in
   * `[d * (1 - jitter), d]`, so peers that lost the same relay spread out.
   *
   * @default DEFAULT_RESERVATION_JITTER
   */
  jitter?: number
  /**
   * While waiting to retry, probe the relay's TCP address with a connect this
   * often (ms) and retry at once when it accepts connections again (the relay is back; a relay that was reachable all along, e.g. one that refused, does not count). 0 = no
   * probe. Relays without an IP or DNS + TCP address are not probed.
   *
   * @default DEFAULT_RELAY_PROBE_INTERVAL
   */
  probeInterval?: number
  /**
   * Bound on one dial + reservation exchange with a relay.
   *
   * @default DEFAULT_RESERVATION_TIMEOUT
   */
  timeout?: number
  /**
   * Shortest wait before renewing a reservation.
   *
   * @default DEFAULT_RESERVATION_RENEW_MIN
   */
  renewMin?: number
}

/** The libp2p components the reservation keeper uses. */
export interface ReservationKeeperComponents {
  transportManager: TransportManager
  connectionManager: Pick<ConnectionManager, 'openConnection'>
  logger: ComponentLogger
}

/**
 * Makes and keeps a reservation on each configured relay, and makes it again
 * after the relay drops the connection or restarts, which stock js-libp2p does
 * not do (js-libp2p#3601). Renews each reservation when half of its remaining
 * lifetime has passed: the stock store refreshes 5 minutes before expiry but
 * never sooner than 30 s after the last reservation, too late for a relay's
 * short `--reservation-ttl`. Emits `reservation` (also per renewal) /
 * `reservation:failed`.
 *
 * It drives the reservation store of @libp2p/circuit-relay-v2's transport
 * (see @natkit/libp2p-internals) because that store owns reservation refreshes.
 * A libp2p service; call {@link ReservationKeeper.keep} once `node.start()`
 * has resolved, so that the relay is dialled after every listener is up (a
 * port-reusing TCP transport then dials from the listen port, and the relay
 * observes the address other peers can punch to). Stopping the node stops it.
 */
export class ReservationKeeper implements Startable {
  readonly [Symbol.toStringTag] = '@natkit/reservation-keeper'
  readonly [serviceDependencies]: string[] = [CIRCUIT_TRANSPORT_TAG]
  readonly #log: Logger
  readonly #init: Required<Omit<ReservationKeeperInit, 'relays' | 'events'>>
  readonly #events: NatkitEvents
  readonly #relays: Multiaddr[]
  readonly #holder: ReservationHolder
  #controller = new AbortController()
  readonly #loops: Array<Promise<void>> = []

  constructor (components: ReservationKeeperComponents, init: ReservationKeeperInit) {
    this.#log = components.logger.forComponent('natkit:reservation-keeper')
    this.#events = init.events
    this.#init = {
      retry: init.retry ?? DEFAULT_RESERVATION_RETRY,
      retryMax: init.retryMax ?? DEFAULT_RESERVATION_RETRY_MAX,
      jitter: init.jitter ?? DEFAULT_RESERVATION_JITTER,
      probeInterval: init.probeInterval ?? DEFAULT_RELAY_PROBE_INTERVAL,
      timeout: init.timeout ?? DEFAULT_RESERVATION_TIMEOUT,
      renewMin: init.renewMin ?? DEFAULT_RESERVATION_RENEW_MIN
    }
    this.#relays = init.relays.map((r) => {
      const ma = typeof r === 'string' ? multiaddr(r) : r
      if (ma.getComponents().findLast(c => c.name === 'p2p')?.value == null) throw new RelayAddressError(`relay address ${ma.toString()} has no /p2p/<peer id>`)
      return ma
    })
    this.#holder = new ReservationHolder({ components, events: init.events, timeout: this.#init.timeout, renewMin: this.#init.renewMin })
  }

  start (): void {
    this.#controller = new AbortController()
  }

  /** Starts one keeping loop per relay; call once the node has started. A second call does nothing. */
  keep (): void {
    if (this.#loops.length > 0 || this.#controller.signal.aborted) return
    for (const relay of this.#relays) {
      this.#log('keeping a reservation on %a', relay)
      this.#loops.push(this.#keep(relay).catch((err) => {
        if (!this.#controller.signal.aborted) this.#events.emit('error', { message: `reservation keeper for ${relay.toString()} stopped: ${(err as Error).message}` })
      }))
    }
  }

  /** Stops the loops before libp2p stops the transports they use. */
  async beforeStop (): Promise<void> {
    this.#controller.abort()
    await Promise.allSettled(this.#loops.splice(0))
  }

  async stop (): Promise<void> {
    await this.beforeStop()
  }

  async #keep (relay: Multiaddr): Promise<void> {
    const signal = this.#controller.signal
    let attempt = 0
    while (!signal.aborted) {
      const held = await this.#holder.hold(relay, signal)
      if (signal.aborted) return
      if (held.reserved) attempt = 0
      const delay = retryDelay(attempt++, this.#init)
      this.#events.emit('reservation:failed', { relay: held.relay, reason: held.reason, retryInMs: delay })
      // probe the relay while waiting only when it could not be reached (dial failed, or the connection was lost)
      if (await waitToRetry(relay, delay, held.unreachable ? this.#init.probeInterval : 0, signal)) this.#log('relay %a accepts connections again: retrying now', relay)
    }
  }
}

/** How one {@link ReservationHolder.hold} ended. */
export interface HoldOutcome {
  /** the relay's peer id */
  relay: string
  /** a reservation was made (and later lost); false: it could not be made */
  reserved: boolean
  /** the relay could not be reached (dial failed or the connection was lost), rather than answering with a refusal */
  unreachable: boolean
  /** one line: why the reservation failed or ended */
  reason: string
}

/** What a {@link ReservationHolder} needs of the node and of its owner's settings. */
export interface ReservationHolderInit {
  components: ReservationKeeperComponents
  events: NatkitEvents
  /** bound on one dial + reservation exchange (ms) */
  timeout: number
  /** shortest wait before renewing a reservation (ms) */
  renewMin: number
}

/**
 * Makes one reservation on a relay and keeps it (renewing it at half of its
 * remaining lifetime) until it is lost: the part of the reservation keeper a
 * relay finder shares. Emits `reservation` per reservation and renewal; the
 * owner decides what follows a loss (retry, replace).
 */
export class ReservationHolder {
  readonly #init: ReservationHolderInit
  /** relays this node listens on through a circuit listener (one listener per relay, created once) */
  readonly #listening = new Set<string>()

  constructor (init: ReservationHolderInit) {
    this.#init = init
  }

  /** Reserves on `relay` (ending in `/p2p/<id>`) and resolves once the reservation is gone, or could not be made, or `signal` aborts. */
  async hold (relay: Multiaddr, signal: AbortSignal, onReserved?: (relay: PeerId) => void): Promise<HoldOutcome> {
    const store = circuitReservationStore(this.#init.components.transportManager)
    const relayId = relay.getComponents().findLast(c => c.name === 'p2p')?.value as string
    // Wait for the reservation to be removed again (relay gone) before returning.
    const removed = waitForEvent(store, 'relay:removed', (d) => (d as { relay?: PeerId } | undefined)?.relay?.toString() === relayId, signal)
    const created = (evt: Event): void => {
      const detail = (evt as CustomEvent<Awaited<ReturnType<ReservationStoreLike['addRelay']>>>).detail
      if (detail?.relay?.toString() !== relayId) return
      const res = detail.details.reservation
      this.#init.events.emit('reservation', {
        relay: relayId,
        addrs: (res.addrs ?? []).map((b: Uint8Array) => multiaddr(b).encapsulate('/p2p-circuit').toString()),
        expires: Number(res.expire) * 1000
      })
    }
    store.addEventListener('relay:created-reservation', created)
    const reach = { unreachable: true }
    try {
      const relayPeer = await this.#reserve(relay, relayId, store, reach, signal)
      onReserved?.(relayPeer)
      const renewal = new AbortController()
      const renewing = this.#renew(store, relayPeer, AbortSignal.any([signal, renewal.signal]))
      await removed.promise
      renewal.abort()
      const renewError = await renewing
      // lost with its connection: the relay went away (a refused renewal is its answer)
      return { relay: relayId, reserved: true, unreachable: renewError == null, reason: renewError != null ? `renewal failed: ${renewError.message}` : 'reservation lost (relay connection closed)' }
    } catch (err) {
      removed.cancel()
      return { relay: relayId, reserved: false, unreachable: reach.unreachable, reason: (err as Error).message }
    } finally {
      store.removeEventListener('relay:created-reservation', created)
    }
  }

  /**
   * Renews the reservation on `relay` each time half of its remaining lifetime
   * has passed, until `signal` aborts or the reservation is gone. Resolves with
   * the error of a failed renewal (the store then drops the reservation).
   */
  async #renew (store: ReservationStoreLike, relay: PeerId, signal: AbortSignal): Promise<Error | undefined> {
    while (!signal.aborted) {
      const expire = store.getReservation(relay)?.expire
      if (expire == null) return
      await sleep(Math.max((Number(expire) * 1000 - Date.now()) / 2, this.#init.renewMin), signal)
      if (signal.aborted) return
      try {
        await store.addRelay(relay, 'configured')
      } catch (err) {
        return err as Error
      }
    }
  }

  /** Dials the relay (through the connection gater) and reserves; `reach.unreachable` is false once the relay was connected (a later failure is the relay's answer). */
  async #reserve (relay: Multiaddr, relayId: string, store: ReservationStoreLike, reach: { unreachable: boolean }, stop: AbortSignal): Promise<PeerId> {
    const { connectionManager, transportManager } = this.#init.components
    const signal = AbortSignal.any([stop, AbortSignal.timeout(this.#init.timeout)])
    const conn = await connectionManager.openConnection(relay, { signal })
    reach.unreachable = false
    if (!this.#listening.has(relayId)) {
      // the first time, a circuit listener is created; it then follows the store
      await transportManager.listen([relay.encapsulate('/p2p-circuit')])
      this.#listening.add(relayId)
    } else if (!store.hasReservation(conn.remotePeer)) {
      await store.addRelay(conn.remotePeer, 'configured')
    }
    return conn.remotePeer
  }
}

/**
 * The reservation keeper as a libp2p service:
 * `services: { reservations: reservationKeeper({ relays, events }) }`.
 */
export function reservationKeeper (init: ReservationKeeperInit): (components: ReservationKeeperComponents) => ReservationKeeper {
  return (components) => new ReservationKeeper(components, init)
}

function waitForEvent (target: EventTarget, name: string, match: (detail: unknown) => boolean, signal: AbortSignal): { promise: Promise<void>, cancel: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>()
  const onEvent = (evt: Event): void => { if (match((evt as CustomEvent).detail)) cancel() }
  const cancel = (): void => {
    target.removeEventListener(name, onEvent)
    signal.removeEventListener('abort', cancel)
    resolve()
  }
  target.addEventListener(name, onEvent)
  signal.addEventListener('abort', cancel, { once: true })
  return { promise, cancel }
}
