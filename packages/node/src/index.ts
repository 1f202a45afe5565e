/**
 * @packageDocumentation
 *
 * The node builder every natkit app uses: one function composes a libp2p node
 * for a role from typed options, and `NatkitRole` runs it (identity, events,
 * metrics, relay reservations, dialing with hole punching).
 */
export { buildNode, composeInit, NATKIT_AGENT, type BuildInit, type ComposedInit } from './builder.js'
export { NatkitRole, DialTargetError, NoCandidateAddressesError, type DialResult } from './role.js'
export { observeNode, isLimited } from './observe.js'
export { pingConnection, PING_PROTOCOL, DEFAULT_PING_TIMEOUT, PingMismatchError } from './ping.js'
export { ReservationKeeper, DEFAULT_RESERVATION_RETRY, DEFAULT_RESERVATION_RETRY_MAX, DEFAULT_RESERVATION_TIMEOUT, DEFAULT_RESERVATION_RENEW_MIN, RelayAddressError, CircuitTransportMissingError, type ReservationKeeperInit } from './reservations.js'
export { observeRelayServer, RelayServerInternalsChangedError, RELAY_SERVER_VERIFIED_VERSION } from './relay-observer.js'
export { relayGater, DEFAULT_MAX_TRACKED_PEERS, type RelayGaterInit } from './relay-gater.js'
export { startMetricsServer, registerRoleCounters, MetricsListenError, DEFAULT_METRICS_REQUEST_TIMEOUT } from './metrics.js'
export { registerGoHolePunchMetrics, GO_HOLEPUNCH_METRICS } from './holepunch-metrics.js'
export { announceSelf, findPeerAddrs, waitForDhtPeer, DhtNotReadyError, DEFAULT_DHT_READY_TIMEOUT, DEFAULT_DHT_QUERY_TIMEOUT, MAX_PROVIDERS_PER_LOOKUP } from './discovery.js'
