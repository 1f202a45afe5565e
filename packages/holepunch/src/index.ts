/**
 * @packageDocumentation
 *
 * `@natkit/holepunch` — a DCUtR (Direct Connection Upgrade through Relay)
 * service for js-libp2p, wire-compatible with go/rust-libp2p and
 * `@libp2p/dcutr`, replacing the latter. Differences from stock:
 *
 * - candidates include unconfirmed observed TCP addresses collected from
 *   identify (meaningful with a port-reusing TCP transport), not only
 *   verified addresses;
 * - per-attempt `holepunch:attempt`, `holepunch:success` and
 *   `holepunch:failure` events with a diagnosed failure reason;
 * - the last failed attempt is reported (stock never throws after retries);
 * - B also accepts the direct connection that A's dial produces;
 * - hardened against hostile peers: A answers DCUtR only on relayed
 *   connections it dialed (others are reset, `holepunch:refused`), remote
 *   candidates are capped per attempt and per peer (addresses and IPs, no DNS
 *   names) and put to the connection gater, and our own upgrades have a punch
 *   table of their own; a punch that finds no free slot fails with `busy`;
 * - port prediction for predictable symmetric NATs: each side's CONNECT
 *   carries what it knows of its own NAT's mapping in a field stock peers
 *   skip ({@link FIELD_NATKIT_MAPPING}); an easy side facing a peer whose NAT
 *   maps per destination dials a bounded window of the peer's next ports
 *   (strategy `predict`, see docs/hard-nat.md).
 *
 * @example
 *
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { identify } from '@libp2p/identify'
 * import { holePunch } from '@natkit/holepunch'
 *
 * const node = await createLibp2p({
 *   // transports, encrypters, muxers ...
 *   services: { identify: identify(), holePunch: holePunch() }
 * })
 * node.services.holePunch.addEventListener('holepunch:success', (evt) => {
 *   console.log('direct connection to', evt.detail.remotePeer, 'via', evt.detail.remoteAddr)
 * })
 * ```
 */
import { HolePunch } from './holepunch.js'
import type { HolePunchComponents, HolePunchInit, HolePunchService } from './holepunch.js'

/** Creates the hole punch service factory for `createLibp2p({ services })`. */
export function holePunch (init: HolePunchInit = {}): (components: HolePunchComponents) => HolePunchService {
  return (components) => new HolePunch(components, init)
}

export {
  HOLEPUNCH_PROTOCOL, DEFAULT_TIMEOUT, DEFAULT_ATTEMPTS, MAX_MESSAGE_SIZE, DEFAULT_MAX_OBSERVED_ADDRS,
  DEFAULT_MAX_OBSERVERS, DEFAULT_MAX_CONCURRENT_PUNCHES, DEFAULT_MAX_DIAL_CANDIDATES, DEFAULT_PUNCH_RESENDS, DEFAULT_PUNCH_RESEND_INTERVAL, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS,
  DEFAULT_DIAL_PRIORITY, MAX_SYNC_DELAY, DEFAULT_MAX_PEER_PUNCH_DIALS, DEFAULT_PEER_PUNCH_DIAL_WINDOW, DEFAULT_MAX_BUDGET_PEERS,
  DEFAULT_RETRY_ROUNDS, DEFAULT_RETRY_DELAY, DEFAULT_RETRY_MAX_DELAY, DEFAULT_RETRY_JITTER, DEFAULT_RETRY_MIN_DELAY,
  DEFAULT_RELAY_LIMIT_WARNING, DEFAULT_RELAY_LIMIT_WARNING_FRACTION, DEFAULT_RELAY_LIMIT_CHECK_INTERVAL,
  DEFAULT_CONFIRM_TIMEOUT, DEFAULT_MAX_OWN_PUNCHES, DEFAULT_MAX_PEER_CANDIDATES, DEFAULT_MAX_PEER_CANDIDATE_IPS, DEFAULT_REFUSED_REPORT_INTERVAL,
  DEFAULT_PREDICTION_WINDOW, DEFAULT_MAX_PROBES, DEFAULT_PROBE_RATE, DEFAULT_PROBE_TIME,
  DEFAULT_BIRTHDAY_SOCKETS, DEFAULT_RANDOM_PROBE_LIFETIME, RANDOM_PROBE_MIN_PORT
} from './constants.js'
export { MESSAGE_TYPE, FIELD_NATKIT_MAPPING, encodeHolePunch, decodeHolePunch, encodeFrame, decodeFrame } from './codec.js'
export type { HolePunchMessage, HolePunchType } from './codec.js'
export { diagnose, describeDials, isUnreachableError, isRefusedError, isProtocolError, FAILURE_REASONS, PunchDials } from './diagnose.js'
export type { DiagnoseInput, DialRecord, HolePunchFailureReason } from './diagnose.js'
export { ObservedAddresses, isPrivateOrLoopback, toTcpAddr, MIN_SEQUENCE_SAMPLES, mergeMapping, mergeEvidence, isEndpointDependent } from './observed.js'
export type { ObservedAddressesInit, ObservationSource, SymmetricNatEvidence, MappingHint, DiscoveredNat, OwnMapping } from './observed.js'
export * from './errors.js'
export { HolePunch } from './holepunch.js'
export type {
  HolePunchInit, HolePunchComponents, HolePunchService, HolePunchRole, HolePunchEvents, HolePunchStats,
  HolePunchAttemptEvent, HolePunchSuccessEvent, HolePunchFailureEvent, HolePunchOutcomeEvent, HolePunchDirectDialEvent,
  HolePunchRetryEvent, RelayedExpiringEvent, HolePunchRefusedEvent, HolePunchRefusedReason, HolePunchStrategy
} from './holepunch.js'
export {
  goOutcomeLabels, goSide, goNumAttempts, goIpVersion, goTransport,
  GO_SIDES, GO_NUM_ATTEMPTS, GO_ADDRESS_OUTCOMES, GO_IP_VERSIONS, GO_TRANSPORTS
} from './go-metrics.js'
export type { GoHolePunchSide, GoHolePunchOutcome, GoAddressOutcome, GoOutcomeLabels, GoAddressOutcomeLabels } from './go-metrics.js'
