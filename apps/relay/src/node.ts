/**
 * The relay's composition: a circuit relay v2 server with reservation and
 * circuit limits, a per-peer circuit cap (gater), per-IP and per-network
 * reservation caps and the release of disconnected peers' reservations
 * (gater + observer service), relay events (observer service), an optional AutoNAT v2 server, an optional STUN binding
 * server beside the node, and with `--bootstrap` its advertisement in the DHT.
 */
import { circuitRelayServer, type CircuitRelayServerInit, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { tcp } from '@libp2p/tcp'
import { type AutonatGuard, connectionManagerInit, inboundAdmissionInit, type ConnectionManagerLimits, type InboundAdmissionInit, createNatkitNode, prepareNatkitNode, relayGater, relayObserver, ReservationLimits, type ReservationLimitsInit, type BaseServices, type NatkitRunner, type RelayGaterInit, type RelayObserver, relayAdvertisingServices, type RelayAdvertisingServices, loadWebSockets } from '@natkit/node/relay'
import { indexRelayShutdownListeners } from '@natkit/libp2p-internals'
import type { RelayOptions } from './options.js'
import type { NatkitEvents } from '@natkit/events'

/** The relay's own services (beside the base's identify and ping). */
export type RelayServices = RelayAdvertisingServices & {
  relay: CircuitRelayService
  relayObserver: RelayObserver
  /** `--autonat` */
  autonat?: unknown
  /** `--autonat` */
  autonatGuard?: AutonatGuard
}

/** The init the relay hands to each libp2p component that takes a limit or timeout, from the resolved options only. */
export interface RelayComposedInit {
  connectionManager: ConnectionManagerLimits
  /** the per-IP limit on pending inbound handshakes (the base's gater) */
  inboundAdmission: InboundAdmissionInit
  relayServer: CircuitRelayServerInit
  /** the per-peer circuit cap (its `events` and `reservations` are added by `createRelay`) */
  relayGater: Omit<RelayGaterInit, 'events' | 'reservations'>
  /** the per-IP and per-network reservation caps and the release of disconnected peers' reservations */
  reservationLimits: ReservationLimitsInit
  /** libp2p's connection monitor interval (ms; 0 = none) */
  connectionPingInterval: number
}

/** Pure: resolved relay options → the init of each component (a test proves each limit arrives). */
export function composeInit (o: RelayOptions): RelayComposedInit {
  return {
    connectionManager: connectionManagerInit(o),
    inboundAdmission: inboundAdmissionInit(o),
    relayServer: {
      hopTimeout: o.hopTimeout,
      maxInboundHopStreams: o.maxInboundHopStreams,
      maxOutboundStopStreams: o.maxOutboundStopStreams,
      reservations: {
        maxReservations: o.maxReservations,
        reservationTtl: o.reservationTtl,
        defaultDurationLimit: o.circuitDuration,
        defaultDataLimit: BigInt(o.circuitData),
        applyDefaultLimit: true
      }
    },
    relayGater: { maxCircuitsPerPeer: o.maxCircuitsPerPeer, windowMs: o.circuitDuration },
    reservationLimits: { maxPerIp: o.maxReservationsPerIp, maxPerNetwork: o.maxReservationsPerNetwork, grace: o.reservationGrace },
    connectionPingInterval: o.connectionPingInterval
  }
}

/** Builds the relay's node (not started); `start()` also starts the STUN server of `--stun-listen`. */
export async function createRelay (options: RelayOptions, events: NatkitEvents): Promise<NatkitRunner<BaseServices & RelayServices>> {
  const webSockets = await loadWebSockets()
  const c = composeInit(options)
  const limits = new ReservationLimits(c.reservationLimits)
  // optional services are loaded only when they run
  const autonat = options.autonat ? await loadAutonat() : undefined
  // with --bootstrap: advertise this relay in the DHT (peers without --relay find it there)
  const advertising = await relayAdvertisingServices(options, events)
  return await prepareNatkitNode({
    role: 'relay',
    options,
    events,
    create: async (privateKey) => relayWithIndexedShutdown(await createNatkitNode<RelayServices>({
      options,
      privateKey,
      transports: [tcp(), webSockets()],
      connectionPingInterval: c.connectionPingInterval,
      // nothing the relay does needs the protocols or addresses of the peers that reserve on it
      identifyInbound: false,
      connectionGater: relayGater({ ...c.relayGater, events, reservations: limits }),
      services: {
        relay: circuitRelayServer(c.relayServer),
        // after `relay`: it wraps that service
        relayObserver: relayObserver({ events, limits }),
        // the guard wraps the server's handler: one dial-back per request, requests rate-limited
        ...(autonat != null ? { autonat: autonat.autoNATv2(), autonatGuard: autonat.autonatGuard() } : {}),
        ...advertising
      }
    })),
    afterStart: async (_node, running) => {
      const listen = options.stunListen
      if (listen == null) return
      // loaded only with --stun-listen
      const { startNatObservers } = await import('@natkit/nat-behavior')
      const observers = await startNatObservers({ listen, ...(options.stunAlternate != null ? { alternate: options.stunAlternate } : {}) })
      running.onStop(async () => { await observers.close() })
      for (const message of observers.describe) events.emit('info', { message })
    }
  })
}

/**
 * Every circuit listens to the relay server's one shutdown signal: with Node's
 * EventTarget each listener added or removed walks all the others (O(n²) for
 * n circuits, docs/upstream.md §11); indexed, each is O(1).
 */
function relayWithIndexedShutdown<N extends { services: { relay: unknown } }> (node: N): N {
  indexRelayShutdownListeners(node.services.relay)
  return node
}

/** The AutoNAT v2 server and natkit's guard around it (`--autonat`). */
async function loadAutonat (): Promise<{ autoNATv2: typeof import('@libp2p/autonat-v2').autoNATv2, autonatGuard: typeof import('@natkit/node/autonat-guard').autonatGuard }> {
  const [{ autoNATv2 }, { autonatGuard }] = await Promise.all([import('@libp2p/autonat-v2'), import('@natkit/node/autonat-guard')])
  return { autoNATv2, autonatGuard }
}
