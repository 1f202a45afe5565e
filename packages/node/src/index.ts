/**
 * @packageDocumentation
 *
 * The common base of every natkit node and the capabilities roles compose.
 *
 * - Base: `createNatkitNode` (identity key, noise, yamux, identify, ping,
 *   bootstrap discovery, metrics, connection limits; the role adds transports
 *   and services), `loadIdentity`, `startNatkitNode` (event translation,
 *   counters, `--metrics` server, ordered shutdown).
 * - Capabilities as libp2p services: `reservationKeeper`, `relayDiscovery`
 *   (peers that find relays in the DHT), `relayAdvertiser` (relays that
 *   advertise themselves there),
 *   `publicAddressConfirmation`, `relayObserver`; from `@natkit/node/autonat`
 *   `autonatGuard` and `reachabilityChecker`;
 *   and `relayGater` (a connection gater).
 * - Racing the direct paths of a relayed connection (`raceDirectPaths`: TCP
 *   hole punching and WebRTC, confirmed by a ping round trip).
 * - Helpers: `pingConnection`, DHT self-announcement and lookup.
 *
 * Everything that touches js-libp2p internals is in @natkit/libp2p-internals.
 */
export { inboundAdmission, inboundAdmissionInit, type InboundAdmissionInit } from './admission.js'
export { createNatkitNode, BOOTSTRAP_DISCOVERY_DELAY, DEFAULT_PING_MAX_OUTBOUND_STREAMS, DEFAULT_PING_MAX_INBOUND_STREAMS, connectionManagerInit, type ConnectionManagerLimits, loadIdentity, prepareNatkitNode, startNatkitNode, type NatkitRunner, type NatkitRunnerInit, NATKIT_AGENT, NATKIT_VERSION, type BaseServices, type NatkitNode, type NatkitServiceFactories, type Libp2pComponents, type NatkitBaseOptions, type NatkitNodeInit, type RunningNode } from './node.js'
export { observeNode, isLimited } from './observe.js'
export { ListenAddressError, checkListenAddrs, toListenAddressError } from './listen.js'
export { dialRetrying, isTransientDialError, DEFAULT_DIAL_ATTEMPTS, DEFAULT_DIAL_RETRY_DELAY_MS, type DialRetryInit } from './dial-retry.js'
export { raceDirectPaths, confirmDirect, pathOf, webrtcAddrOf, NotRelayedError, WEBRTC_SIGNALING_PROTOCOL, DEFAULT_WEBRTC_ACCEPT_WINDOW, DEFAULT_AGREEMENT_MARGIN, DEFAULT_WEBRTC_DIAL_WINDOW, DEFAULT_CONFIRM_TIMEOUT, DEFAULT_IDENTIFY_WAIT, DEFAULT_WEBRTC_HEDGE_DELAY, type DirectPathPlan, type RaceInit, type RaceResult, type RaceRunner } from './direct-paths.js'
export { pingConnection, PING_PROTOCOL, DEFAULT_PING_TIMEOUT, PingMismatchError } from './ping.js'
export { DEFAULT_RESERVATION_RETRY, DEFAULT_RESERVATION_RETRY_MAX, DEFAULT_RESERVATION_JITTER, DEFAULT_RELAY_PROBE_INTERVAL, DEFAULT_MAX_RESERVATIONS_PER_IP, DEFAULT_MAX_RESERVATIONS_PER_NETWORK, DEFAULT_RESERVATION_GRACE, DEFAULT_DISCOVERED_RELAYS, MAX_DISCOVERED_RELAYS } from './defaults.js'
export { retryDelay, waitToRetry, tcpTarget, type RetrySchedule } from './backoff.js'
export { keepBootstrapPeers, startBootstrapKeeper, keeperTarget, type BootstrapKeeperInit, type BootstrapKeeperTarget } from './bootstrap-keeper.js'
export { reservationKeeper, ReservationKeeper, ReservationHolder, type HoldOutcome, type ReservationHolderInit, DEFAULT_RESERVATION_TIMEOUT, DEFAULT_RESERVATION_RENEW_MIN, RelayAddressError, type ReservationKeeperInit, type ReservationKeeperComponents } from './reservations.js'
export { publicAddressConfirmation, PublicAddressConfirmation, type PublicAddressConfirmationInit, type PublicAddressConfirmationComponents } from './public-addrs.js'
// AutoNAT capabilities load from `@natkit/node/autonat` (only roles that run AutoNAT load them); their types are here too
export type { ReachabilityChecker, ReachabilityCheckerInit, ReachabilityCheckerComponents } from './reachability.js'
export { observeRelayServer, relayObserver, RelayObserver, RelayServerInternalsChangedError, RELAY_SERVER_VERIFIED_VERSION, type RelayObserverInit, type RelayObserverComponents } from './relay-observer.js'
export { relayGater, DEFAULT_MAX_TRACKED_PEERS, type RelayGaterInit } from './relay-gater.js'
export { ReservationLimits, type ReservationLimitsInit, type ReservationLimitsTarget, type ReservationRefusal } from './relay-reservations.js'
export type { AutonatGuard, AutonatGuardInit, AutonatGuardComponents } from './autonat-guard.js'
export { stopGuard, StopGuard, UnsolicitedStopError, RELAY_V2_STOP_PROTOCOL, DEFAULT_STOP_REFUSAL_REPORT_INTERVAL, DEFAULT_STOP_REFUSAL_TRACKED, type StopGuardInit, type StopGuardComponents } from './stop-guard.js'
export { loadWebSockets, importWithoutUndici, UNDICI_HTTP_EXPORTS } from './websockets.js'
export { ipGroups, IPV4_NETWORK_BITS, IPV6_HOST_BITS, IPV6_NETWORK_BITS, type IpGroups } from './ip-groups.js'
export { circuitReservationStore, nodeComponents, transportTags, CircuitTransportMissingError, Libp2pInternalsChangedError, LIBP2P_VERIFIED_VERSION, CIRCUIT_RELAY_VERIFIED_VERSION } from '@natkit/libp2p-internals'
export { announceSelf, findPeerAddrs, peerRecordCid, PEER_RECORD_PREFIX, waitForDhtPeer, waitForRoutingTablePeer, provideTo, relayRendezvousCid, RELAY_RENDEZVOUS_PREFIX, NoProviderRecipientsError, DhtNotReadyError, DEFAULT_DHT_READY_TIMEOUT, DEFAULT_DHT_QUERY_TIMEOUT, MAX_PROVIDERS_PER_LOOKUP } from './discovery.js'
export { relayAdvertiser, RelayAdvertiser, relayAdvertisingServices, relayDhtInit, DEFAULT_RELAY_ADVERTISE_INTERVAL, DEFAULT_BOOTSTRAP_REDIAL_TIMEOUT, type RelayAdvertiserInit, type RelayAdvertiserComponents, type RelayAdvertisingOptions, type RelayAdvertisingServices } from './relay-advertiser.js'
export { relayDiscovery, RelayDiscovery, withPeer, DEFAULT_RELAY_CANDIDATES, DEFAULT_RELAY_LOOKUP_TIMEOUT, DEFAULT_RELAY_PING_TIMEOUT, DEFAULT_RELAY_HEALTH_INTERVAL, DEFAULT_RELAY_HEALTH_TIMEOUT, type RelayDiscoveryInit, type RelayDiscoveryComponents } from './relay-discovery.js'
