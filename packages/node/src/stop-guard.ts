/**
 * Circuit relay client hardening: STOP streams (a relay announcing an inbound
 * relayed connection) are accepted only from relays this node holds a
 * reservation on.
 *
 * @libp2p/circuit-relay-v2 4.2.13's transport (`onStop`, dist/src/transport/index.js)
 * starts *listening* on any relay that sends it a STOP stream it has no
 * reservation on, before reading the request or asking the gater: one
 * unsolicited STOP from any peer running a relay server makes the node reserve
 * on it and advertise `/p2p/<stranger>/p2p-circuit` addresses. This service
 * wraps the transport's STOP handler (through the public registrar: the same
 * handler and options, replaced once the node started) and resets STOP
 * streams from other peers before the transport sees them, emitting
 * `relay:stop:refused`.
 */
import { CIRCUIT_TRANSPORT_TAG, circuitReservationStore } from '@natkit/libp2p-internals'
import { serviceDependencies, type ComponentLogger, type Connection, type Logger, type PeerId, type Startable, type Stream, type StreamHandler } from '@libp2p/interface'
import type { NatkitEvents } from '@natkit/events'
import type { Registrar, TransportManager } from '@libp2p/interface-internal'

/** The circuit relay v2 STOP protocol (RELAY_V2_STOP_PROTOCOL of @libp2p/circuit-relay-v2). */
export const RELAY_V2_STOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/stop'

/** Refusals from one relay are reported at most once per this many ms (the count of the others goes with the next report). @default 10000 */
export const DEFAULT_STOP_REFUSAL_REPORT_INTERVAL = 10_000
/** Relays whose refusals are tracked for that report limit at most (the oldest are forgotten). @default 1024 */
export const DEFAULT_STOP_REFUSAL_TRACKED = 1024

export interface StopGuardInit {
  events: NatkitEvents
  /** @default DEFAULT_STOP_REFUSAL_REPORT_INTERVAL */
  reportInterval?: number
}

export interface StopGuardComponents {
  registrar: Registrar
  transportManager: TransportManager
  logger: ComponentLogger
}

/** Raised on a refused STOP stream (reset with it). */
export class UnsolicitedStopError extends Error {
  static override name = 'UnsolicitedStopError'
  override name = 'UnsolicitedStopError'
}

export class StopGuard implements Startable {
  readonly [Symbol.toStringTag] = '@natkit/stop-guard'
  readonly [serviceDependencies]: string[] = [CIRCUIT_TRANSPORT_TAG]
  readonly #components: StopGuardComponents
  readonly #events: NatkitEvents
  readonly #interval: number
  readonly #log: Logger
  /** relay → last report time and refusals not reported since */
  readonly #reports = new Map<string, { at: number, unreported: number }>()

  constructor (components: StopGuardComponents, init: StopGuardInit) {
    this.#components = components
    this.#events = init.events
    this.#interval = init.reportInterval ?? DEFAULT_STOP_REFUSAL_REPORT_INTERVAL
    this.#log = components.logger.forComponent('natkit:stop-guard')
  }

  start (): void {}

  /** Wraps the circuit transport's STOP handler, registered by then. */
  async afterStart (): Promise<void> {
    const { registrar, transportManager } = this.#components
    const store = circuitReservationStore(transportManager)
    const { handler, options } = registrar.getHandler(RELAY_V2_STOP_PROTOCOL)
    const guarded: StreamHandler = async (stream: Stream, connection: Connection) => {
      if (store.hasReservation(connection.remotePeer)) {
        await handler(stream, connection)
        return
      }
      this.#refuse(connection.remotePeer, stream)
    }
    await registrar.handle(RELAY_V2_STOP_PROTOCOL, guarded, { ...options, force: true })
  }

  stop (): void {
    this.#reports.clear()
  }

  #refuse (relay: PeerId, stream: Stream): void {
    const id = relay.toString()
    const reason = 'no reservation on this relay'
    this.#log('refused a STOP stream from %p: %s', relay, reason)
    stream.abort(new UnsolicitedStopError(`STOP refused: ${reason}`))
    const now = Date.now()
    const last = this.#reports.get(id)
    if (last != null && now - last.at < this.#interval) {
      last.unreported++
      return
    }
    this.#reports.delete(id)
    this.#reports.set(id, { at: now, unreported: 0 })
    while (this.#reports.size > DEFAULT_STOP_REFUSAL_TRACKED) this.#reports.delete(this.#reports.keys().next().value as string)
    this.#events.emit('relay:stop:refused', { relay: id, reason, ...(last != null && last.unreported > 0 ? { alsoRefused: last.unreported } : {}) })
  }
}

/** `services: { stopGuard: stopGuard({ events }) }` beside the circuit relay transport. */
export function stopGuard (init: StopGuardInit): (components: StopGuardComponents) => StopGuard {
  return (components) => new StopGuard(components, init)
}
