/**
 * The autonat role's composition: an AutoNAT v2 server (dial-back service),
 * or for `check` a client that asks servers to dial back this host's
 * addresses. Both dial from the listen port and announce public interface
 * addresses right away.
 */
import { type AutonatGuard, connectionManagerInit, inboundAdmissionInit, type ConnectionManagerLimits, type InboundAdmissionInit, createNatkitNode, prepareNatkitNode, publicAddressConfirmation, type BaseServices, type NatkitRunner, type PublicAddressConfirmation, type ReachabilityChecker, loadWebSockets } from '@natkit/node'
import { autonatGuard, reachabilityChecker } from '@natkit/node/autonat'
import { discoverNat, natEventFields, startNatObservers, type NatDiscovery } from '@natkit/nat-behavior'
import { tcpReuse } from '@natkit/tcp-reuse'
import { parseStunServer, type AutonatOptions } from './options.js'
import type { NatkitEvents } from '@natkit/events'

/** The init the autonat role hands to each libp2p component that takes a limit or timeout, from the resolved options only. */
export interface AutonatComposedInit {
  connectionManager: ConnectionManagerLimits
  /** the per-IP limit on pending inbound handshakes (the base's gater) */
  inboundAdmission: InboundAdmissionInit
}

/** Pure: resolved autonat options → the init of each component (a test proves each limit arrives). */
export function composeInit (o: AutonatOptions): AutonatComposedInit {
  return { connectionManager: connectionManagerInit(o), inboundAdmission: inboundAdmissionInit(o) }
}

/** The autonat role's own services (beside the base's identify and ping). */
export type AutonatServices = {
  /** the server (not in the `check` composition) */
  autonat?: unknown
  /** one dial-back per request, requests rate-limited (with the server) */
  autonatGuard?: AutonatGuard
  /** `check` only */
  reachability?: ReachabilityChecker
  publicAddrs: PublicAddressConfirmation
}

/**
 * Builds the autonat node (not started): the AutoNAT v2 server, or with
 * `check` the reachability checker instead (it needs the dial-back protocol
 * the server would register).
 */
export async function createAutonat (options: AutonatOptions, events: NatkitEvents, init: { check?: boolean } = {}): Promise<NatkitRunner<BaseServices & AutonatServices>> {
  const webSockets = await loadWebSockets()
  return await prepareNatkitNode({
    role: 'autonat',
    options,
    events,
    create: async (privateKey) => await createNatkitNode<AutonatServices>({
      options,
      privateKey,
      // dial from the listen port, so the address the server observes (and is
      // asked to dial back) is the NAT mapping of the port we listen on
      transports: [tcpReuse(), webSockets()],
      services: {
        // the server's AutoNAT v2 service is loaded only for the server
        ...(init.check === true ? { reachability: reachabilityChecker({ events }) } : { autonat: (await import('@libp2p/autonat-v2')).autoNATv2(), autonatGuard: autonatGuard() }),
        publicAddrs: publicAddressConfirmation({ events })
      }
    }),
    afterStart: async (_node, running) => {
      if (init.check === true || options.stunListen == null) return
      await startObservers(options, events, running)
    }
  })
}

/**
 * `--stun-listen`: a STUN server; with `--stun-alternate` also RFC 5780
 * CHANGE-REQUEST (four sockets) and a TCP connect-back observer on the same
 * host:port over TCP, connecting back from the alternate address.
 */
async function startObservers (options: AutonatOptions, events: NatkitEvents, running: { onStop(cleanup: () => Promise<void>): void }): Promise<void> {
  const listen = options.stunListen
  if (listen == null) return
  const observers = await startNatObservers({ listen, ...(options.stunAlternate != null ? { alternate: options.stunAlternate } : {}) })
  running.onStop(async () => { await observers.close() })
  for (const message of observers.describe) events.emit('info', { message })
}

/** `natkit-autonat nat`: no libp2p node, only the probes (a role object so runRole prints and handles signals). */
export function createNatProbe (options: AutonatOptions, events: NatkitEvents): { start(): Promise<void>, stop(): Promise<void>, run(): Promise<NatDiscovery> } {
  const servers = options.stun.map(parseStunServer).map(h => ({ address: h.host, port: h.port }))
  return {
    start: async () => {},
    stop: async () => {},
    run: async () => {
      // --timeout bounds the tests; the lifetime probe waits on top of it by design
      const boundMs = options.timeout + options.mappingLifetimeMax
      const signal = AbortSignal.timeout(boundMs)
      let discovery: NatDiscovery
      try {
        discovery = await discoverNat({
          servers,
          connectBack: options.tcpProbe ? servers[0] : undefined,
          lifetimeMaxMs: options.mappingLifetimeMax,
          signal
        })
      } catch (err) {
        if (signal.aborted) throw new Error(`nat: no verdict within ${boundMs} ms (--timeout plus --mapping-lifetime-max)`, { cause: err })
        throw err
      }
      for (const line of discovery.classification.evidence) events.emit('info', { message: line })
      events.emit('nat', natEventFields(discovery))
      return discovery
    }
  }
}
