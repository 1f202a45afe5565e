/**
 * The base and the relay-side capabilities, without the peer-side ones
 * (direct paths, reservations, relay discovery, public address confirmation,
 * the STOP guard): natkit-relay loads only what it runs, 8 fewer modules at
 * each start than the package's main entry (issue 14: relay start →
 * listening). Everything here is also exported by `@natkit/node`.
 */
export { createNatkitNode, connectionManagerInit, prepareNatkitNode, type BaseServices, type ConnectionManagerLimits, type NatkitRunner } from './node.js'
export { inboundAdmissionInit, type InboundAdmissionInit } from './admission.js'
export { relayGater, type RelayGaterInit } from './relay-gater.js'
export { relayObserver, type RelayObserver } from './relay-observer.js'
export { ReservationLimits, type ReservationLimitsInit } from './relay-reservations.js'
export { relayAdvertisingServices, type RelayAdvertisingServices } from './relay-advertiser.js'
export { loadWebSockets } from './websockets.js'
export type { AutonatGuard } from './autonat-guard.js'
