/**
 * Relay events where the outcome is known, taken from the circuit relay
 * server's own HOP handling.
 *
 * INTERNALS: verified against @libp2p/circuit-relay-v2 4.2.13
 * (dist/src/server/index.js). That version dispatches no events from its
 * server service and the gater is asked before the reservation store decides
 * and before the STOP to the destination, so this module wraps three methods
 * of the `CircuitRelayServer` instance (`node.services.relay`), all public
 * methods of the class in its .d.ts but not part of the `CircuitRelayService`
 * interface:
 *
 * - `handleReserve({ stream, connection })`: the status it writes on the HOP
 *   stream (`OK` with `reservation.expire`, or a refusal) is the outcome; a
 *   failed write of `OK` means the store dropped the reservation again.
 * - `handleConnect({ stream, connection, request })`: the circuit is
 *   established once it wrote `OK` after `stopHop` gave a destination stream,
 *   and took the source stream (`stream.unwrap()`) to splice both; bytes are
 *   counted from there (as received by the relay, so the chunk that crossed
 *   the data limit counts too).
 * - `stopHop(...)`: returns the destination stream (or nothing on failure).
 *
 * `relay-observer.test.ts` is the canary: it fails with a clear message when
 * the installed version or these methods change.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { NatkitEvents, RelayCircuitCloseReason } from '@natkit/events'
import { CIRCUIT_RELAY_VERIFIED_VERSION } from '@natkit/libp2p-internals'
import type { ReservationLimits, ReservationLimitsTarget, ReservationRefusal } from './relay-reservations.js'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** The @libp2p/circuit-relay-v2 version whose server internals this module was checked against. */
export const RELAY_SERVER_VERIFIED_VERSION = CIRCUIT_RELAY_VERIFIED_VERSION

/** The server methods this module wraps. */
export const WRAPPED_SERVER_METHODS = ['handleReserve', 'handleConnect', 'stopHop'] as const

export class RelayServerInternalsChangedError extends Error {
  static override name = 'RelayServerInternalsChangedError'
  override name = 'RelayServerInternalsChangedError'
}

interface HopMessageLike { status?: string, reservation?: { expire?: bigint } }
interface PbStreamLike {
  pb: (proto: unknown) => { write: (msg: HopMessageLike, options?: unknown) => Promise<void> }
  unwrap: () => Stream
}
interface HopOptions { stream: PbStreamLike, connection: Connection }
interface RelayServerLike {
  handleReserve: (opts: HopOptions, options?: unknown) => Promise<void>
  handleConnect: (opts: HopOptions, options?: unknown) => Promise<void>
  stopHop: (opts: { connection: Connection }, options?: unknown) => Promise<Stream | undefined>
}

/** What one HOP exchange wrote back and which streams it spliced. */
interface HopRecord {
  status?: string
  expire?: bigint
  writeError?: Error
  src?: Stream
  dst?: Stream
  /** bytes counted on `src` and `dst` from the moment they are spliced */
  count?: { bytes: number }
  /** the peer the STOP went to */
  dstPeer?: string
}

/**
 * Returns a view of the HOP `pbStream` that records the status written back
 * and the raw source stream handed out by `unwrap()`.
 */
function recording (stream: PbStreamLike, record: HopRecord): PbStreamLike {
  return {
    pb: (proto) => {
      const inner = stream.pb(proto)
      return {
        ...inner,
        write: async (msg, options) => {
          try {
            await inner.write(msg, options)
            record.status = msg.status
            record.expire = msg.reservation?.expire
          } catch (err) {
            record.status = msg.status
            record.writeError = err as Error
            throw err
          }
        }
      }
    },
    unwrap: () => {
      // handleConnect unwraps the source stream to splice it with the
      // destination's: the circuit is established, count from here on
      const src = stream.unwrap()
      record.src = src
      if (record.dst != null) record.count = countBytes(src, record.dst)
      return src
    }
  }
}

/** Throws {@link RelayServerInternalsChangedError} unless `server` has the methods this module wraps. */
export function assertRelayServerInternals (server: unknown): asserts server is RelayServerLike {
  const missing = WRAPPED_SERVER_METHODS.filter(m => typeof (server as Partial<Record<string, unknown>> | undefined)?.[m] !== 'function')
  if (missing.length > 0) {
    throw new RelayServerInternalsChangedError(`the circuit relay server has no ${missing.join(', ')} method (relay-observer.ts was written for @libp2p/circuit-relay-v2 ${RELAY_SERVER_VERIFIED_VERSION})`)
  }
}

function closeReason (err: Error | undefined): RelayCircuitCloseReason {
  if (err == null) return 'closed'
  if (err.name === 'TransferLimitError') return 'data-limit'
  if (err.name === 'DurationLimitError') return 'duration-limit'
  return 'reset'
}

/** Bytes the relay received on the spliced streams, both directions; attached before the library's own data-limit counter. */
function countBytes (src: Stream, dst: Stream): { bytes: number } {
  const count = { bytes: 0 }
  const onMessage = (evt: { data: { byteLength: number } }): void => { count.bytes += evt.data.byteLength }
  src.addEventListener('message', onMessage)
  dst.addEventListener('message', onMessage)
  return count
}

/** Emits `relay:circuit:closed` once both spliced streams closed. */
function watchCircuit (events: NatkitEvents, src: Stream, dst: Stream, count: { bytes: number }, ids: { src: string, dst: string }): void {
  const started = Date.now()
  let open = 2
  let error: Error | undefined
  for (const s of [src, dst]) {
    s.addEventListener('close', (evt) => {
      error ??= evt.error
      if (--open > 0) return
      const reason = closeReason(error)
      events.emit('relay:circuit:closed', { ...ids, bytes: count.bytes, ms: Date.now() - started, reason, ...(reason === 'reset' && error != null ? { message: error.message } : {}) })
    }, { once: true })
  }
}

/**
 * Emits `relay:reservation` (granted or renewed), `relay:reservation:refused`,
 * `relay:circuit` (established) and `relay:circuit:closed` for a circuit relay
 * server. Returns a function that restores the server's own methods.
 */
export function observeRelayServer (server: unknown, events: NatkitEvents, limits?: ReservationLimits): () => void {
  assertRelayServerInternals(server)
  const original = { handleReserve: server.handleReserve, handleConnect: server.handleConnect, stopHop: server.stopHop }
  const current = new AsyncLocalStorage<HopRecord>()

  server.handleReserve = async (opts, options) => {
    const record: HopRecord = {}
    const peer = opts.connection.remotePeer.toString()
    let failure: Error | undefined
    let refusal: ReservationRefusal | undefined
    try {
      const reserve = async (): Promise<void> => { await original.handleReserve.call(server, { ...opts, stream: recording(opts.stream, record) }, options) }
      if (limits == null) await reserve()
      else refusal = await limits.during(opts.connection, reserve)
    } catch (err) {
      failure = err as Error
      throw err
    } finally {
      if (record.status === 'OK' && record.writeError == null && failure == null) {
        events.emit('relay:reservation', { peer, expires: Number(record.expire ?? 0n) * 1000 })
      } else if (refusal != null) {
        events.emit('relay:reservation:refused', { peer, reason: `${record.status ?? 'no response'}: ${refusal.message}`, limit: refusal.limit })
      } else if (record.status === 'OK') {
        events.emit('relay:reservation:refused', { peer, reason: `could not send the reservation: ${(record.writeError ?? failure)?.message ?? 'unknown error'}` })
      } else {
        events.emit('relay:reservation:refused', { peer, reason: record.status ?? `no response: ${failure?.message ?? 'unknown error'}` })
      }
    }
  }

  server.stopHop = async (opts, options) => {
    const dst = await original.stopHop.call(server, opts, options)
    const record = current.getStore()
    if (record != null) {
      record.dst = dst
      record.dstPeer = opts.connection.remotePeer.toString()
    }
    return dst
  }

  server.handleConnect = async (opts, options) => {
    const record: HopRecord = {}
    await current.run(record, async () => { await original.handleConnect.call(server, { ...opts, stream: recording(opts.stream, record) }, options) })
    if (record.status !== 'OK' || record.src == null || record.dst == null || record.count == null || record.dstPeer == null) return
    const ids = { src: opts.connection.remotePeer.toString(), dst: record.dstPeer }
    events.emit('relay:circuit', ids)
    watchCircuit(events, record.src, record.dst, record.count, ids)
  }

  return () => { Object.assign(server, original) }
}


export interface RelayObserverInit {
  /** Where `relay:*` events go. */
  events: NatkitEvents
  /**
   * The reservation policy (per-IP and per-network caps, release of
   * disconnected peers' reservations); its `denyInboundRelayReservation` must
   * be in the node's connection gater.
   */
  limits?: ReservationLimits
}

/**
 * The libp2p components the relay observer uses: the circuit relay server
 * must be configured as the service named `relay`, before this one
 * (@libp2p/circuit-relay-v2's server declares no capability to depend on).
 */
export interface RelayObserverComponents {
  relay?: unknown
  logger: ComponentLogger
  events: TypedEventTarget<Libp2pEvents>
  connectionManager: Pick<ConnectionManager, 'getConnections'>
}

/**
 * {@link observeRelayServer} as a libp2p service: wraps the relay server when
 * the node starts, restores it when it stops. If the server's internals
 * changed, the relay still runs and a `warn` event says its events are off.
 */
export class RelayObserver implements Startable {
  readonly [Symbol.toStringTag] = '@natkit/relay-observer'
  readonly #components: RelayObserverComponents
  readonly #events: NatkitEvents
  readonly #limits?: ReservationLimits
  readonly #log: Logger
  #off?: () => void

  constructor (components: RelayObserverComponents, init: RelayObserverInit) {
    this.#components = components
    this.#events = init.events
    this.#limits = init.limits
    this.#log = components.logger.forComponent('natkit:relay-observer')
  }

  start (): void {
    try {
      const off = observeRelayServer(this.#components.relay, this.#events, this.#limits)
      const detach = this.#limits?.attach({
        relay: this.#components.relay as ReservationLimitsTarget['relay'],
        libp2pEvents: this.#components.events,
        connectionsOf: (peer: PeerId) => this.#components.connectionManager.getConnections(peer),
        events: this.#events
      })
      this.#off = () => { detach?.(); off() }
    } catch (err) {
      this.#log.error('relay events are off: %e', err)
      this.#events.emit('warn', { message: `relay reservation and circuit events (and the per-IP and per-network reservation limits) are off: ${(err as Error).message}` })
    }
  }

  stop (): void {
    this.#off?.()
    this.#off = undefined
  }
}

/** `services: { relay: circuitRelayServer(...), relayObserver: relayObserver({ events }) }` */
export function relayObserver (init: RelayObserverInit): (components: RelayObserverComponents) => RelayObserver {
  return (components) => new RelayObserver(components, init)
}
