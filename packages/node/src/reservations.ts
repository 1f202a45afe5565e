import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { NatkitEvents } from '@natkit/events'
import type { Libp2p, PeerId } from '@libp2p/interface'

/** First delay before retrying a failed or lost reservation. */
export const DEFAULT_RESERVATION_RETRY = 2_000
/** Upper bound of the exponential retry delay. */
export const DEFAULT_RESERVATION_RETRY_MAX = 60_000
/** Bound on one dial + reservation exchange with a relay. */
export const DEFAULT_RESERVATION_TIMEOUT = 10_000
/**
 * Shortest wait before renewing a reservation. The keeper renews when half of
 * the remaining lifetime has passed, but never sooner than this.
 */
export const DEFAULT_RESERVATION_RENEW_MIN = 250

export class RelayAddressError extends Error {
  override name = 'RelayAddressError'
}
export class CircuitTransportMissingError extends Error {
  override name = 'CircuitTransportMissingError'
}

export interface ReservationKeeperInit {
  /** Relay multiaddrs, each ending in `/p2p/<relay peer id>`. */
  relays: Array<string | Multiaddr>
  events: NatkitEvents
  /** @default DEFAULT_RESERVATION_RETRY */
  retry?: number
  /** @default DEFAULT_RESERVATION_RETRY_MAX */
  retryMax?: number
  /** @default DEFAULT_RESERVATION_TIMEOUT */
  timeout?: number
  /** @default DEFAULT_RESERVATION_RENEW_MIN */
  renewMin?: number
}

interface ReservationStoreLike extends EventTarget {
  addRelay: (peerId: PeerId, type: 'configured') => Promise<{ relay: PeerId, details: { reservation: { expire: bigint, addrs: Uint8Array[] } } }>
  hasReservation: (peerId: PeerId) => boolean
  getReservation: (peerId: PeerId) => { expire: bigint } | undefined
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
 * (pinned version) because that store owns reservation refreshes.
 */
export class ReservationKeeper {
  readonly #node: Libp2p<Record<string, any>>
  readonly #init: Required<Omit<ReservationKeeperInit, 'relays' | 'events'>>
  readonly #events: NatkitEvents
  readonly #relays: Multiaddr[]
  readonly #controller = new AbortController()
  readonly #loops: Array<Promise<void>> = []
  readonly #listening = new Set<string>()

  constructor (node: Libp2p<Record<string, any>>, init: ReservationKeeperInit) {
    this.#node = node
    this.#events = init.events
    this.#init = {
      retry: init.retry ?? DEFAULT_RESERVATION_RETRY,
      retryMax: init.retryMax ?? DEFAULT_RESERVATION_RETRY_MAX,
      timeout: init.timeout ?? DEFAULT_RESERVATION_TIMEOUT,
      renewMin: init.renewMin ?? DEFAULT_RESERVATION_RENEW_MIN
    }
    this.#relays = init.relays.map((r) => {
      const ma = typeof r === 'string' ? multiaddr(r) : r
      if (ma.getComponents().findLast(c => c.name === 'p2p')?.value == null) throw new RelayAddressError(`relay address ${ma.toString()} has no /p2p/<peer id>`)
      return ma
    })
  }

  #store (): ReservationStoreLike {
    const tm = (this.#node as any).components?.transportManager
    const transport = tm?.getTransports?.().find((t: any) => t[Symbol.toStringTag] === '@libp2p/circuit-relay-v2-transport')
    const store = transport?.reservationStore
    if (store == null || typeof store.addRelay !== 'function') throw new CircuitTransportMissingError('the circuit relay transport (or its reservation store) is not available in this node')
    return store
  }

  start (): void {
    for (const relay of this.#relays) {
      this.#loops.push(this.#keep(relay).catch((err) => {
        if (!this.#controller.signal.aborted) this.#events.emit('error', { message: `reservation keeper for ${relay.toString()} stopped: ${(err as Error).message}` })
      }))
    }
  }

  async stop (): Promise<void> {
    this.#controller.abort()
    await Promise.allSettled(this.#loops)
  }

  async #keep (relay: Multiaddr): Promise<void> {
    const signal = this.#controller.signal
    const store = this.#store()
    const relayId = relay.getComponents().findLast(c => c.name === 'p2p')?.value as string
    let delay = this.#init.retry
    while (!signal.aborted) {
      // Wait for the reservation to be removed again (relay gone) before retrying.
      const removed = waitForEvent(store, 'relay:removed', (d: any) => d?.relay?.toString() === relayId, signal)
      const created = (evt: any): void => {
        if (evt.detail?.relay?.toString() !== relayId) return
        const res = evt.detail.details.reservation
        this.#events.emit('reservation', {
          relay: relayId,
          addrs: (res.addrs ?? []).map((b: Uint8Array) => multiaddr(b).encapsulate('/p2p-circuit').toString()),
          expires: Number(res.expire) * 1000
        })
      }
      store.addEventListener('relay:created-reservation', created)
      try {
        const relayPeer = await this.#reserve(relay, relayId, store)
        delay = this.#init.retry
        const renewal = new AbortController()
        const renewing = this.#renew(store, relayPeer, AbortSignal.any([signal, renewal.signal]))
        await removed.promise
        renewal.abort()
        const renewError = await renewing
        if (signal.aborted) return
        this.#events.emit('reservation:failed', { relay: relayId, reason: renewError != null ? `renewal failed: ${renewError.message}` : 'reservation lost (relay connection closed)', retryInMs: delay })
      } catch (err) {
        removed.cancel()
        if (signal.aborted) return
        this.#events.emit('reservation:failed', { relay: relayId, reason: (err as Error).message, retryInMs: delay })
      } finally {
        store.removeEventListener('relay:created-reservation', created)
      }
      await sleep(delay, signal)
      delay = Math.min(delay * 2, this.#init.retryMax)
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

  async #reserve (relay: Multiaddr, relayId: string, store: ReservationStoreLike): Promise<PeerId> {
    const signal = AbortSignal.any([this.#controller.signal, AbortSignal.timeout(this.#init.timeout)])
    const conn = await this.#node.dial(relay, { signal })
    if (!this.#listening.has(relayId)) {
      // the first time, a circuit listener is created; it then follows the store
      const tm = (this.#node as any).components.transportManager
      await tm.listen([relay.encapsulate('/p2p-circuit')])
      this.#listening.add(relayId)
    } else if (!store.hasReservation(conn.remotePeer)) {
      await store.addRelay(conn.remotePeer, 'configured')
    }
    return conn.remotePeer
  }
}

function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve() }
    signal.addEventListener('abort', done, { once: true })
  })
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
