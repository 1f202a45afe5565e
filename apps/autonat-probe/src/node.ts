/**
 * The autonat role's composition: an AutoNAT v2 server (dial-back service),
 * or for `check` a client that asks servers to dial back this host's
 * addresses. Both dial from the listen port and announce public interface
 * addresses right away.
 */
import { autoNATv2 } from '@libp2p/autonat-v2'
import { webSockets } from '@libp2p/websockets'
import { autonatGuard, type AutonatGuard, connectionManagerInit, inboundAdmissionInit, type ConnectionManagerLimits, type InboundAdmissionInit, createNatkitNode, prepareNatkitNode, publicAddressConfirmation, reachabilityChecker, type BaseServices, type NatkitRunner, type PublicAddressConfirmation, type ReachabilityChecker } from '@natkit/node'
import { tcpReuse } from '@natkit/tcp-reuse'
import type { AutonatOptions } from './options.js'
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
        ...(init.check === true ? { reachability: reachabilityChecker({ events }) } : { autonat: autoNATv2(), autonatGuard: autonatGuard() }),
        publicAddrs: publicAddressConfirmation({ events })
      }
    })
  })
}
