import { TypedEventEmitter, UnsupportedProtocolError, serviceDependencies } from '@libp2p/interface'
import { isLoopback, isPrivate, lpStream } from '@libp2p/utils'
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { DNS, IP } from '@multiformats/multiaddr-matcher'
import { dialAsResponder, dialFromEphemeralPort, dialWithOptimisticSelect, openUnnegotiatedStream } from '@natkit/libp2p-internals'
import { decodeHolePunch, encodeHolePunch } from './codec.js'
import {
  DEFAULT_ATTEMPTS, DEFAULT_DIAL_PRIORITY, DEFAULT_MAX_CONCURRENT_PUNCHES, DEFAULT_MAX_DIAL_CANDIDATES, DEFAULT_MAX_INBOUND_STREAMS,
  DEFAULT_PUNCH_RESEND_INTERVAL, DEFAULT_PUNCH_RESENDS, DEFAULT_CONFIRM_TIMEOUT,
  DEFAULT_MAX_OBSERVED_ADDRS, DEFAULT_MAX_OUTBOUND_STREAMS, DEFAULT_TIMEOUT, HOLEPUNCH_PROTOCOL, MAX_MESSAGE_SIZE, MAX_SYNC_DELAY,
  DEFAULT_MAX_BUDGET_PEERS, DEFAULT_MAX_PEER_PUNCH_DIALS, DEFAULT_PEER_PUNCH_DIAL_WINDOW, DEFAULT_RELAY_LIMIT_CHECK_INTERVAL,
  DEFAULT_RELAY_LIMIT_WARNING, DEFAULT_RELAY_LIMIT_WARNING_FRACTION, DEFAULT_RETRY_DELAY, DEFAULT_RETRY_JITTER, DEFAULT_RETRY_MAX_DELAY,
  DEFAULT_RETRY_MIN_DELAY, DEFAULT_RETRY_ROUNDS, DEFAULT_MAX_OWN_PUNCHES, DEFAULT_MAX_PEER_CANDIDATES, DEFAULT_MAX_PEER_CANDIDATE_IPS,
  DEFAULT_REFUSED_REPORT_INTERVAL, DEFAULT_PREDICTION_WINDOW, DEFAULT_MAX_PROBES, DEFAULT_PROBE_RATE, DEFAULT_PROBE_TIME,
  DEFAULT_BIRTHDAY_SOCKETS, DEFAULT_RANDOM_PROBE_LIFETIME, RANDOM_PROBE_MIN_PORT
} from './constants.js'
import { FAILURE_REASONS, PunchDials, describeDials, diagnose, errorLine, isUnreachableError } from './diagnose.js'
import {
  DialDeniedError, HolePunchAbortedError, HolePunchBusyError, HolePunchProtocolError, HolePunchRefusedError, HolePunchTimeoutError, MessageTooLargeError, NoPublicAddressesError,
  PunchBudgetExhaustedError, RemoteNoPublicAddressesError, TruncatedMessageError, UnexpectedMessageTypeError
} from './errors.js'
import { ObservedAddresses, mergeEvidence, mergeMapping, toTcpAddr } from './observed.js'
import type { HolePunchMessage, HolePunchType } from './codec.js'
import type { HolePunchFailureReason } from './diagnose.js'
import type { HolePunchRefusedReason } from '@natkit/events'
import type { DiscoveredNat, MappingHint, ObservationSource, OwnMapping, SymmetricNatEvidence } from './observed.js'
import type { ComponentLogger, Connection, ConnectionGater, IdentifyResult, Libp2pEvents, Logger, PeerId, PeerStore, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar, TransportManager } from '@libp2p/interface-internal'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options of {@link holePunch}. */
export interface HolePunchInit {
  /**
   * Time budget of one attempt (CONNECT/SYNC exchange and dial), in ms. Also
   * bounds the unilateral upgrade dial.
   *
   * @default DEFAULT_TIMEOUT
   */
  timeout?: number
  /**
   * How many CONNECT/SYNC attempts the inbound side (B) makes before it
   * reports a failure. When both NATs map per destination (the peer's
   * mapping field and our own mapping say so) B stops after the first: no
   * strategy applies and more attempts only repeat it.
   *
   * @default DEFAULT_ATTEMPTS
   */
  attempts?: number
  /**
   * Offer and accept private and loopback addresses (LAN and loopback tests).
   *
   * @default false
   */
  allowPrivateAddresses?: boolean
  /**
   * Before the exchange, B dials A directly if A's peer-store addresses
   * include dialable public (or, with `allowPrivateAddresses`, any) addresses.
   *
   * @default true
   */
  unilateral?: boolean
  /**
   * Close the relayed connection once the direct one is open. Only the side
   * that starts the exchange (B) closes it, after its own upgrade finished.
   *
   * @default true
   */
  closeRelayedOnSuccess?: boolean
  /**
   * B starts the exchange as soon as the inbound relayed connection opens,
   * instead of waiting for identify to report that the peer speaks DCUtR.
   * This saves identify's round trips over the relay (go-libp2p's optimistic
   * multistream-select hides them; js-libp2p 3.3.11 negotiates every stream in
   * full). A peer that does not speak DCUtR refuses the stream, and nothing is
   * reported. The unilateral dial then only uses addresses already known.
   *
   * @default true
   */
  startBeforeIdentify?: boolean
  /**
   * B opens its DCUtR stream the way go-libp2p does: multistream-select's
   * header, `/libp2p/dcutr` and the CONNECT message leave in one write, saving
   * a relayed round trip (js-libp2p negotiates the protocol first). A peer
   * that does not speak DCUtR answers `na`, as with a normal negotiation.
   *
   * @default true
   */
  optimisticSelect?: boolean
  /**
   * A (the side that secures the punched TCP connection as its initiator)
   * selects the security protocol of its relayed connection to the peer
   * optimistically: multistream-select's lines and the handshake's first
   * message leave together (go-libp2p's lazy negotiation), one direct round
   * trip sooner; the relayed connection proved the peer speaks it. A dial
   * option only `@natkit/tcp-reuse` reads (other transports negotiate as
   * usual); a peer that refuses the protocol fails that dial.
   *
   * @default true
   */
  optimisticUpgrade?: boolean
  /**
   * Confirms a direct connection before it counts (success event, closing the
   * relayed connection), e.g. a ping round trip over it: a round trip proves
   * the peer holds the connection too. It applies to the unilateral direct
   * dial as well as to punched connections. A connection whose confirmation
   * rejects is closed and the punch keeps waiting (after an unconfirmed
   * unilateral dial: goes on with CONNECT/SYNC). Each confirmation gets
   * `confirmTimeout` ms, even past the attempt's deadline, so a connection
   * that opened in time is not dropped half-confirmed.
   *
   * @default undefined (a connection counts as soon as it opens)
   */
  confirmDirect?: (conn: Connection, signal: AbortSignal) => Promise<unknown>
  /**
   * Bound of one `confirmDirect` call, in ms.
   *
   * @default DEFAULT_CONFIRM_TIMEOUT
   */
  confirmTimeout?: number
  /**
   * How many recent observed TCP addresses (from identify) to keep as candidates.
   *
   * @default DEFAULT_MAX_OBSERVED_ADDRS
   */
  maxObservedAddrs?: number
  /**
   * Most remote candidate addresses one attempt dials; the rest of a CONNECT's
   * addresses are ignored. Every candidate is also put to the node's
   * connection gater before it is dialled.
   *
   * @default DEFAULT_MAX_DIAL_CANDIDATES
   */
  maxDialCandidates?: number
  /**
   * How many refused punch SYNs one attempt sends again, in total over its
   * candidates (a router that answers unsolicited inbound with a reset refuses
   * the first SYN to arrive). Bounded also by the attempt's `timeout`.
   *
   * @default DEFAULT_PUNCH_RESENDS
   */
  punchResends?: number
  /**
   * Mean pause before a refused punch SYN is sent again, in ms (jittered
   * between half and one and a half times this).
   *
   * @default DEFAULT_PUNCH_RESEND_INTERVAL
   */
  punchResendInterval?: number
  /**
   * Most punch dials (first SYNs and resends) to one remote peer within
   * `peerPunchDialWindow`, over all attempts, retry rounds and relayed
   * connections. A peer past it gets no more punch dials until the window
   * moves on.
   *
   * @default DEFAULT_MAX_PEER_PUNCH_DIALS
   */
  maxPeerPunchDials?: number
  /**
   * @default DEFAULT_PEER_PUNCH_DIAL_WINDOW
   */
  peerPunchDialWindow?: number
  /**
   * Retry rounds (B side) after every attempt failed while the peer is still
   * reached only through a relay: after `retryDelay` × 2^(round-1) (at most
   * `retryMaxDelay`, jittered), or sooner (not before `retryMinDelay`) when our
   * addresses change. 0 turns retries off.
   *
   * @default DEFAULT_RETRY_ROUNDS
   */
  retryRounds?: number
  /**
   * @default DEFAULT_RETRY_DELAY
   */
  retryDelay?: number
  /**
   * @default DEFAULT_RETRY_MAX_DELAY
   */
  retryMaxDelay?: number
  /**
   * @default DEFAULT_RETRY_MIN_DELAY
   */
  retryMinDelay?: number
  /**
   * Warn (`relayed:expiring`) this many ms before a relayed connection without
   * a direct alternative reaches its duration limit.
   *
   * @default DEFAULT_RELAY_LIMIT_WARNING
   */
  relayLimitWarning?: number
  /**
   * At most this many punches on relayed connections other peers opened to us
   * (we are B) run at once, one per remote peer; more fail with `busy`.
   *
   * @default DEFAULT_MAX_CONCURRENT_PUNCHES
   */
  maxConcurrentPunches?: number
  /**
   * At most this many punches on relayed connections we dialed (we are A: our
   * own upgrades) run at once, one per remote peer; a table of their own, so
   * peers that connect to us cannot fill it.
   *
   * @default DEFAULT_MAX_OWN_PUNCHES
   */
  maxOwnPunches?: number
  /**
   * Most distinct remote candidate addresses dialled for one peer in total
   * within `peerPunchDialWindow`, over all attempts and relayed connections.
   *
   * @default DEFAULT_MAX_PEER_CANDIDATES
   */
  maxPeerCandidates?: number
  /**
   * Most distinct IPs among one peer's dialled candidates in total within
   * `peerPunchDialWindow`: addresses on further IPs are not dialled.
   *
   * @default DEFAULT_MAX_PEER_CANDIDATE_IPS
   */
  maxPeerCandidateIps?: number
  /**
   * Predicted ports dialled per attempt when the peer's NAT maps per
   * destination with sequential (or unknown) allocation and ours does not
   * (see {@link HolePunchStrategy}). 0 turns prediction off.
   *
   * @default DEFAULT_PREDICTION_WINDOW
   */
  predictionWindow?: number
  /**
   * Most prediction probes per punch.
   *
   * @default DEFAULT_MAX_PROBES
   */
  maxProbes?: number
  /**
   * Most prediction probes started per second.
   *
   * @default DEFAULT_PROBE_RATE
   */
  probeRate?: number
  /**
   * No prediction probe starts later than this many ms into the punch.
   *
   * @default DEFAULT_PROBE_TIME
   */
  probeTime?: number
  /**
   * Hard side (our NAT maps per destination, the natkit peer's does not): how
   * many connections we open toward the peer's mapped address from ephemeral
   * ports per attempt, each a new mapping its random probes may hit (all
   * count against `maxProbes`). 0 turns it off.
   *
   * @default DEFAULT_BIRTHDAY_SOCKETS
   */
  birthdaySockets?: number
  /**
   * What NAT behaviour discovery found of our own NAT (e.g. natkit-peer's
   * `discoverNat` at start), read at every punch; undefined until it is known.
   * Its mapping overrules identify's one-observer guess, its allocation fills
   * in what identify cannot tell, and both go into the CONNECT's mapping
   * field: the peer learns whether we are the hard side and how to predict us,
   * and only an endpoint-dependent side opens birthday mappings.
   *
   * @default none (identify observations only)
   */
  natBehavior?: () => DiscoveredNat | undefined
  /**
   * @default DEFAULT_MAX_INBOUND_STREAMS
   */
  maxInboundStreams?: number
  /**
   * @default DEFAULT_MAX_OUTBOUND_STREAMS
   */
  maxOutboundStreams?: number
}

/** libp2p components the service needs. */
export interface HolePunchComponents {
  peerId: PeerId
  peerStore: PeerStore
  connectionManager: ConnectionManager
  registrar: Registrar
  addressManager: AddressManager
  transportManager: TransportManager
  /** Asked about every candidate before a punch dials it (`denyDialPeer`, `denyDialMultiaddr`). */
  connectionGater: ConnectionGater
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/**
 * Which side of DCUtR we are: `initiator` is B (the inbound side of the
 * relayed connection, opens the dcutr stream and dials as multistream
 * responder); `responder` is A.
 */
export type HolePunchRole = 'initiator' | 'responder'

/** Payload of `holepunch:attempt` (same shape as the natkit event). */
export interface HolePunchAttemptEvent {
  remotePeer: string
  /** 1-based; 0 means B's unilateral direct dial before the exchange. */
  attempt: number
  maxAttempts: number
  /** Addresses we are about to dial. */
  addrs: string[]
  /** Relay round trip measured during the exchange. */
  rttMs?: number
  role: HolePunchRole
}

/**
 * How a punch went about it: `dcutr` (plain DCUtR: dial the peer's
 * candidates), `predict` (the peer's NAT maps per destination with
 * predictable ports: also dial a window of its next ports from our listen
 * port while it dials us), `birthday` (the peer's ports are random or not
 * known: probe random ports of its IP from our listen port; or, on the hard
 * side, open many mappings toward the easy peer) or `predict+birthday` (both:
 * allocation not known yet).
 */
export type HolePunchStrategy = 'dcutr' | 'predict' | 'birthday' | 'predict+birthday'

/** Payload of `holepunch:success`. */
export interface HolePunchSuccessEvent {
  remotePeer: string
  /** Remote address of the new direct connection. */
  remoteAddr: string
  /** From the start of the punch (relayed connection noticed / first stream) to the direct connection. */
  ms: number
  attempt: number
  /**
   * B only: how much later than RTT/2 after its SYNC (ms) B's punch dial
   * started, i.e. the event loop's lateness in applying the SYNC wait.
   */
  syncLateMs?: number
  strategy?: HolePunchStrategy
  /** Prediction probes (dials to predicted ports) this punch sent. */
  probes?: number
}

/** Payload of `holepunch:failure`. */
export interface HolePunchFailureEvent {
  remotePeer: string
  reason: HolePunchFailureReason
  message: string
  attempts: number
  ms: number
  strategy?: HolePunchStrategy
  /** Prediction probes (dials to predicted ports) this punch sent. */
  probes?: number
  /**
   * No further attempt of this punch will come: both NATs map per destination
   * (the peer's mapping field and our own mapping say so), so the initiator
   * (B) stops after one attempt. Set on both sides; absent otherwise.
   */
  final?: true
}

/**
 * Payload of `holepunch:outcome`: one CONNECT/SYNC exchange whose dial phase
 * finished, with or without a direct connection (what go-libp2p's metrics
 * tracer records as `HolePunchFinished`).
 */
export interface HolePunchOutcomeEvent {
  remotePeer: string
  role: HolePunchRole
  /** 1-based attempt of this relayed connection. */
  attempt: number
  /** The peer's candidates we dialled. */
  remoteAddrs: string[]
  /** Our candidates we offered. */
  ownAddrs: string[]
  /** Remote address of the direct connection, if one was made. */
  directAddr?: string
}

/** Payload of `holepunch:retry`: another round of attempts follows (B side). */
export interface HolePunchRetryEvent {
  remotePeer: string
  /** 1-based retry round. */
  round: number
  maxRounds: number
  /** Backoff until the round starts (an address change may start it sooner). */
  delayMs: number
  /** Why the previous round failed. */
  reason: HolePunchFailureReason
}

/** Payload of `relayed:expiring`: a relayed connection nears a limit its relay set. */
export interface RelayedExpiringEvent {
  remotePeer: string
  remoteAddr: string
  limit: 'duration' | 'data'
  /** Duration limit: time left. */
  remainingMs?: number
  /** Data limit: the allowance (bytes) the relay granted. */
  limitBytes?: number
  message: string
}

export type { HolePunchRefusedReason }

/**
 * Payload of `holepunch:refused`: a DCUtR stream was reset before anything was
 * dialled, because it did not come on a relayed connection we dialed (only
 * that side, A, answers a CONNECT). Reported at most once per
 * `DEFAULT_REFUSED_REPORT_INTERVAL` per peer.
 */
export interface HolePunchRefusedEvent {
  remotePeer: string
  reason: HolePunchRefusedReason
  message: string
  /** Refusals of this peer's streams not reported since the last event. */
  alsoRefused?: number
}

/** Payload of `holepunch:direct-dial`: B's unilateral dial to A's public addresses finished. */
export interface HolePunchDirectDialEvent {
  remotePeer: string
  success: boolean
}

/** Events dispatched by the service. */
export interface HolePunchEvents {
  'holepunch:attempt': CustomEvent<HolePunchAttemptEvent>
  'holepunch:success': CustomEvent<HolePunchSuccessEvent>
  'holepunch:failure': CustomEvent<HolePunchFailureEvent>
  'holepunch:outcome': CustomEvent<HolePunchOutcomeEvent>
  'holepunch:direct-dial': CustomEvent<HolePunchDirectDialEvent>
  'holepunch:retry': CustomEvent<HolePunchRetryEvent>
  'holepunch:refused': CustomEvent<HolePunchRefusedEvent>
  'relayed:expiring': CustomEvent<RelayedExpiringEvent>
}

/** Counters returned by `getStats()`. */
export interface HolePunchStats {
  /** Attempt events emitted (both roles, unilateral included). */
  attempts: number
  /** Punch SYNs sent again after a refusal. */
  resends: number
  /** Retry rounds scheduled after failed punches. */
  retries: number
  /** Retry rounds waiting for their backoff now. */
  pendingRetries: number
  successes: number
  failures: Record<HolePunchFailureReason, number>
  /** DCUtR streams reset because they did not come on a relayed connection we dialed. */
  refused: number
}

/** The public face of the service (`libp2p.services.holePunch`). */
export interface HolePunchService extends TypedEventTarget<HolePunchEvents> {
  getStats(): HolePunchStats
  /** Candidate addresses we would offer right now (without `/p2p`). */
  getCandidateAddresses(): Multiaddr[]
  /** True if identify observations suggest an endpoint-dependent NAT mapping. */
  isSymmetricNatSuspected(): boolean
  /** Why the NAT mapping is thought to vary per destination, or undefined. */
  symmetricNatEvidence(): string | undefined
  /** What we know of our own NAT's mapping and port allocation (identify observations and `natBehavior`), or undefined. */
  getOwnMapping(): OwnMapping | undefined
}

const P2P_CIRCUIT = 'p2p-circuit'

function isRelayed (ma: Multiaddr): boolean {
  return ma.getComponents().some(c => c.name === P2P_CIRCUIT)
}

function isDirect (conn: Connection): boolean {
  return conn.status === 'open' && conn.limits == null && !isRelayed(conn.remoteAddr)
}

/** The IP of an `/ip4` or `/ip6` address. */
function ipOf (ma: Multiaddr): string | undefined {
  return ma.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
}

function stripPeerId (ma: Multiaddr): { addr: Multiaddr, peer?: string } {
  const components = ma.getComponents()
  const last = components[components.length - 1]
  if (last?.code === CODE_P2P) {
    return { addr: ma.decapsulateCode(CODE_P2P), peer: last.value }
  }
  return { addr: ma }
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()
/** multistream-select 1.0's header line, and DCUtR's protocol line. */
const MSS_HEADER = textEncoder.encode('/multistream/1.0.0\n')
const MSS_DCUTR = textEncoder.encode(`${HOLEPUNCH_PROTOCOL}\n`)

function isUnsupportedProtocol (err: unknown): boolean {
  return err instanceof Error && err.name === 'UnsupportedProtocolError'
}

/** What a punch probes beside plain DCUtR's dials (see `HolePunch#plan`). */
interface ProbePlan {
  /** The peer's predicted next addresses (we are the easy side). */
  predicted: Multiaddr[]
  /** The peer's observed address: random ports of its IP are probed (we are the easy side). */
  randomIp?: Multiaddr
  /** The easy peer's mapped address: we open many connections toward it (we are the hard side). */
  fanOut?: Multiaddr
}

/** Upper bounds of the probe generators (the probe budget ends them far sooner). */
const MAX_FAN_OUT = 65_536
const MAX_RANDOM_PORT_DRAWS = 4 * 65_536

/** `/ip4/…/tcp/<port>` with another port. */
function withPort (addr: Multiaddr, port: number): Multiaddr {
  return multiaddr(addr.toString().replace(/\/tcp\/\d+$/, `/tcp/${port}`))
}

/** A mapping's allocation in words, for failure messages. */
function describeAllocation (m: Pick<MappingHint, 'allocation' | 'stride'>): string {
  return m.allocation === 'sequential' ? `sequential ports, stride ${m.stride ?? '?'}` : `${m.allocation} port allocation`
}

/** `strategy` and `probes` of a punch's success/failure event (only when it predicted). */
function strategyFields (punch?: Punch): { strategy?: HolePunchStrategy, probes?: number } {
  return punch != null && punch.strategy !== 'dcutr' ? { strategy: punch.strategy, probes: punch.probes } : {}
}

async function delay (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  const { promise, resolve, reject } = Promise.withResolvers<void>()
  const onAbort = (): void => { reject(signal.reason) }
  const timer = setTimeout(resolve, ms)
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    await promise
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * How a punch dial is made: `initiator` (libp2p dial, from the listen port),
 * `responder` (multistream/noise responder on an outbound socket from the
 * listen port, for a TCP simultaneous open) or `ephemeral` (initiator from an
 * ephemeral port, beside a `responder` dial: reaches a cone peer's listener).
 */
type DialMode = 'initiator' | 'responder' | 'ephemeral'

/** Event-loop lateness (ms) of the SYNC wait above which it is logged. */
const SYNC_LATE_LOG_MS = 5

/** Remote candidates after the connection gater was asked. */
interface Admitted {
  allowed: Multiaddr[]
  denied: Multiaddr[]
  /** Usable addresses left out because the peer's candidate caps (addresses, IPs) were used up. */
  capped: number
}

/** What one remote peer has used of its punch budget in the current window. */
interface PeerBudget {
  since: number
  /** Punch dials made. */
  used: number
  /** Distinct candidate addresses dialled (without `/p2p`). */
  addrs: Set<string>
  /** Distinct IPs of those addresses. */
  ips: Set<string>
}

interface Punch {
  controller: AbortController
  role: HolePunchRole
  /** On a relayed connection we dialed (our own upgrade), counted in its own table. */
  own: boolean
  /** A newer responder stream from the same peer took over; report nothing. */
  superseded: boolean
  /** Both NATs map per destination (the peer's CONNECT mapping field and ours): one attempt only. */
  bothSymmetric?: boolean
  strategy: HolePunchStrategy
  /** Prediction probes sent. */
  probes: number
  /** What the peer said of its NAT's mapping (natkit extension), if anything. */
  peerMapping?: MappingHint
}

/** A retry round waiting for its backoff (or an address change). */
interface PendingRetry {
  relayed: Connection
  round: number
  timer: ReturnType<typeof setTimeout>
  /** Earliest time an address change may start it. */
  notBefore: number
  cancel: () => void
}

/** The `tcp-reuse` transport's per-connection dial source lookup (duck-typed: holepunch does not depend on it). */
interface DialSourceLookup {
  dialSource: (connection: Connection) => ObservationSource | undefined
}

/** A transport whose listener can upgrade a punch peer's inbound connection as the initiator (`@natkit/tcp-reuse`). */
interface InitiatorClaims {
  expectInitiator: (ma: Multiaddr, options: { signal: AbortSignal, optimisticSelect?: string }) => boolean
}

/**
 * The DCUtR service. B (inbound side of a relayed connection to a peer that
 * speaks `/libp2p/dcutr`) optionally tries a unilateral direct dial, then runs
 * up to `attempts` CONNECT/SYNC exchanges; A answers on its stream handler.
 * Either side accepts whichever direct connection opens first (its own dial
 * or the peer's). Create it with {@link holePunch}.
 */
export class HolePunch extends TypedEventEmitter<HolePunchEvents> implements HolePunchService, Startable {
  readonly [Symbol.toStringTag] = '@natkit/holepunch'
  readonly [serviceDependencies] = ['@libp2p/identify']

  readonly #components: HolePunchComponents
  readonly #log: Logger
  readonly #timeout: number
  readonly #attempts: number
  readonly #allowPrivate: boolean
  readonly #unilateral: boolean
  readonly #closeRelayed: boolean
  readonly #startBeforeIdentify: boolean
  readonly #optimisticSelect: boolean
  readonly #optimisticUpgrade: boolean
  readonly #confirmDirect?: (conn: Connection, signal: AbortSignal) => Promise<unknown>
  readonly #confirmTimeout: number
  readonly #maxPunches: number
  readonly #maxOwnPunches: number
  readonly #maxPeerCandidates: number
  readonly #maxPeerCandidateIps: number
  /** peer → when its last refusal was reported and how many since (insertion order = oldest first). */
  readonly #refusals = new Map<string, { at: number, unreported: number }>()
  readonly #maxDialCandidates: number
  readonly #punchResends: number
  readonly #punchResendInterval: number
  readonly #maxInboundStreams: number
  readonly #predictionWindow: number
  readonly #maxProbes: number
  readonly #probeRate: number
  readonly #probeTime: number
  readonly #birthdaySockets: number
  readonly #natBehavior?: () => DiscoveredNat | undefined
  readonly #maxOutboundStreams: number
  readonly #observed: ObservedAddresses
  readonly #maxPeerPunchDials: number
  readonly #peerPunchDialWindow: number
  readonly #retryRounds: number
  readonly #retryDelay: number
  readonly #retryMaxDelay: number
  readonly #retryMinDelay: number
  readonly #relayLimitWarning: number
  /** peer → punch dials made in the current window (insertion order = oldest first). */
  readonly #peerDials = new Map<string, PeerBudget>()
  readonly #retries = new Map<string, PendingRetry>()
  readonly #limitWatches = new Map<Connection, ReturnType<typeof setInterval>>()
  readonly #punches = new Map<string, Punch>()
  /** Relayed connections B has started (or skipped) an exchange on: one exchange per connection. */
  readonly #initiated = new WeakSet<Connection>()
  /** Attempts seen per relayed connection on the responder side. */
  readonly #responderAttempts = new WeakMap<Connection, number>()
  #topologyId?: string
  #started = false
  readonly #stats: HolePunchStats

  constructor (components: HolePunchComponents, init: HolePunchInit = {}) {
    super()
    this.#components = components
    this.#log = components.logger.forComponent('natkit:holepunch')
    this.#timeout = init.timeout ?? DEFAULT_TIMEOUT
    this.#attempts = Math.max(1, init.attempts ?? DEFAULT_ATTEMPTS)
    this.#allowPrivate = init.allowPrivateAddresses ?? false
    this.#unilateral = init.unilateral ?? true
    this.#closeRelayed = init.closeRelayedOnSuccess ?? true
    this.#startBeforeIdentify = init.startBeforeIdentify ?? true
    this.#optimisticSelect = init.optimisticSelect ?? true
    this.#optimisticUpgrade = init.optimisticUpgrade ?? true
    this.#confirmDirect = init.confirmDirect
    this.#confirmTimeout = init.confirmTimeout ?? DEFAULT_CONFIRM_TIMEOUT
    this.#maxPunches = init.maxConcurrentPunches ?? DEFAULT_MAX_CONCURRENT_PUNCHES
    this.#maxOwnPunches = init.maxOwnPunches ?? DEFAULT_MAX_OWN_PUNCHES
    this.#maxPeerCandidates = Math.max(1, init.maxPeerCandidates ?? DEFAULT_MAX_PEER_CANDIDATES)
    this.#maxPeerCandidateIps = Math.max(1, init.maxPeerCandidateIps ?? DEFAULT_MAX_PEER_CANDIDATE_IPS)
    this.#maxDialCandidates = Math.max(1, init.maxDialCandidates ?? DEFAULT_MAX_DIAL_CANDIDATES)
    this.#punchResends = Math.max(0, init.punchResends ?? DEFAULT_PUNCH_RESENDS)
    this.#punchResendInterval = Math.max(1, init.punchResendInterval ?? DEFAULT_PUNCH_RESEND_INTERVAL)
    this.#maxInboundStreams = init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS
    this.#predictionWindow = Math.max(0, init.predictionWindow ?? DEFAULT_PREDICTION_WINDOW)
    this.#maxProbes = Math.max(0, init.maxProbes ?? DEFAULT_MAX_PROBES)
    this.#probeRate = Math.max(1, init.probeRate ?? DEFAULT_PROBE_RATE)
    this.#probeTime = Math.max(0, init.probeTime ?? DEFAULT_PROBE_TIME)
    this.#birthdaySockets = Math.max(0, init.birthdaySockets ?? DEFAULT_BIRTHDAY_SOCKETS)
    this.#natBehavior = init.natBehavior
    this.#maxOutboundStreams = init.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS
    this.#maxPeerPunchDials = Math.max(0, init.maxPeerPunchDials ?? DEFAULT_MAX_PEER_PUNCH_DIALS)
    this.#peerPunchDialWindow = Math.max(1, init.peerPunchDialWindow ?? DEFAULT_PEER_PUNCH_DIAL_WINDOW)
    this.#retryRounds = Math.max(0, init.retryRounds ?? DEFAULT_RETRY_ROUNDS)
    this.#retryDelay = Math.max(1, init.retryDelay ?? DEFAULT_RETRY_DELAY)
    this.#retryMaxDelay = Math.max(this.#retryDelay, init.retryMaxDelay ?? DEFAULT_RETRY_MAX_DELAY)
    this.#retryMinDelay = Math.max(0, init.retryMinDelay ?? DEFAULT_RETRY_MIN_DELAY)
    this.#relayLimitWarning = Math.max(0, init.relayLimitWarning ?? DEFAULT_RELAY_LIMIT_WARNING)
    this.#observed = new ObservedAddresses({
      maxAddrs: init.maxObservedAddrs ?? DEFAULT_MAX_OBSERVED_ADDRS,
      allowPrivateAddresses: this.#allowPrivate
    })
    this.#stats = { attempts: 0, resends: 0, retries: 0, pendingRetries: 0, successes: 0, refused: 0, failures: Object.fromEntries(FAILURE_REASONS.map(r => [r, 0])) as Record<HolePunchFailureReason, number> }
  }

  isStarted (): boolean {
    return this.#started
  }

  async start (): Promise<void> {
    if (this.#started) return
    this.#components.events.addEventListener('peer:identify', this.#onIdentify)
    this.#components.events.addEventListener('self:peer:update', this.#onSelfUpdate)
    this.#components.events.addEventListener('connection:open', this.#onConnectionOpen)
    this.#topologyId = await this.#components.registrar.register(HOLEPUNCH_PROTOCOL, {
      notifyOnLimitedConnection: true,
      // identify said the peer speaks DCUtR (the start when startBeforeIdentify is off,
      // or for a connection that opened before this service started)
      onConnect: (_peerId, connection) => { this.#startOn(connection, false) }
    })
    await this.#components.registrar.handle(HOLEPUNCH_PROTOCOL, (stream, connection) => {
      // only A, the side that dialed the relayed connection, answers a CONNECT
      // (as go-libp2p does): anyone else's stream is reset before it is read
      if (!isRelayed(connection.remoteAddr)) {
        this.#refuse(stream, connection.remotePeer, 'not-relayed', 'DCUtR stream on a direct connection')
        return
      }
      if (connection.direction !== 'outbound') {
        this.#refuse(stream, connection.remotePeer, 'not-dialed', 'DCUtR stream on a relayed connection the peer dialed (only the side that dialed it answers DCUtR)')
        return
      }
      this.#respond(stream, connection).catch(err => {
        this.#log.error('handling hole punch from %p failed unexpectedly - %e', connection.remotePeer, err)
      })
    }, {
      runOnLimitedConnection: true,
      maxInboundStreams: this.#maxInboundStreams,
      maxOutboundStreams: this.#maxOutboundStreams
    })
    this.#started = true
  }

  async stop (): Promise<void> {
    this.#components.events.removeEventListener('peer:identify', this.#onIdentify)
    this.#components.events.removeEventListener('self:peer:update', this.#onSelfUpdate)
    this.#components.events.removeEventListener('connection:open', this.#onConnectionOpen)
    for (const retry of [...this.#retries.values()]) retry.cancel()
    for (const timer of this.#limitWatches.values()) clearInterval(timer)
    this.#limitWatches.clear()
    await this.#components.registrar.unhandle(HOLEPUNCH_PROTOCOL)
    if (this.#topologyId != null) {
      this.#components.registrar.unregister(this.#topologyId)
      this.#topologyId = undefined
    }
    for (const punch of this.#punches.values()) {
      punch.controller.abort(new HolePunchAbortedError('hole punch service stopped'))
    }
    this.#punches.clear()
    this.#refusals.clear()
    this.#started = false
  }

  getStats (): HolePunchStats {
    return { attempts: this.#stats.attempts, resends: this.#stats.resends, retries: this.#stats.retries, pendingRetries: this.#retries.size, successes: this.#stats.successes, refused: this.#stats.refused, failures: { ...this.#stats.failures } }
  }

  isSymmetricNatSuspected (): boolean {
    return this.symmetricNatEvidence() != null
  }

  /**
   * Why we think our NAT's mapping varies per destination, or undefined. Only
   * identify observations of connections we dialled from our listen port
   * (port reuse, `@natkit/tcp-reuse`) count: see `ObservedAddresses`.
   */
  symmetricNatEvidence (): string | undefined {
    return this.#evidence()?.message
  }

  /** What discovery found of our NAT; a provider that throws counts as nothing found. */
  #discovered (): DiscoveredNat | undefined {
    try {
      return this.#natBehavior?.()
    } catch {
      return undefined
    }
  }

  /** Identify's evidence of an endpoint-dependent mapping, corrected by discovery (`mergeEvidence`). */
  #evidence (): SymmetricNatEvidence | undefined {
    return mergeEvidence(this.#observed.symmetricNatEvidence(), this.#discovered())
  }

  /** Our own mapping from identify and discovery (`mergeMapping`). */
  #ownMapping (): OwnMapping | undefined {
    return mergeMapping(this.#observed.mappingHint(), this.#discovered())
  }

  /** The peer's mapping field and our own mapping both say "per destination". */
  #bothSymmetric (peerMapping: MappingHint | undefined): boolean {
    return peerMapping?.mapping === 'endpoint-dependent' && this.#ownMapping()?.mapping === 'endpoint-dependent'
  }

  getOwnMapping (): OwnMapping | undefined {
    return this.#ownMapping()
  }

  /** The CONNECT's mapping field: our own mapping, once identify gave the port a prediction starts from. */
  #mappingField (): MappingHint | undefined {
    const own = this.#ownMapping()
    return own?.port != null ? { ...own, port: own.port } : undefined
  }

  getCandidateAddresses (): Multiaddr[] {
    const out = new Map<string, Multiaddr>()
    const add = (ma: Multiaddr): void => {
      const { addr } = stripPeerId(ma)
      if (this.#usable(addr)) out.set(addr.toString(), addr)
    }
    const am = this.#components.addressManager
    am.getAddresses().forEach(add)
    for (const a of am.getAddressesWithMetadata()) {
      if (!a.verified && a.type === 'observed') add(a.multiaddr)
    }
    this.#observed.addrs().forEach(add)
    // keep as many as fit in one CONNECT message
    const fitting: Multiaddr[] = []
    let size = 4
    for (const ma of out.values()) {
      size += 2 + 2 + ma.bytes.byteLength
      if (size > MAX_MESSAGE_SIZE) break
      fitting.push(ma)
    }
    return fitting
  }

  /** A new connection: watch a relayed one's limits; B starts DCUtR on it right away unless it waits for identify. */
  readonly #onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    this.#watchLimits(evt.detail)
    if (this.#startBeforeIdentify) this.#startOn(evt.detail, true)
  }

  /** Only B, the inbound side of a relayed connection, starts the exchange; once per connection. */
  #startOn (connection: Connection, early: boolean): void {
    if (connection.direction !== 'inbound' || !isRelayed(connection.remoteAddr)) return
    if (this.#initiated.has(connection)) return
    // with nothing to offer, wait for identify: a failure is only reported to a peer that speaks DCUtR
    if (early && this.getCandidateAddresses().length === 0) return
    this.#initiated.add(connection)
    this.#initiate(connection, early).then(outcome => {
      if (outcome !== 'not-yet') return
      // the peer answered `na` to our early stream: it may not speak DCUtR, or
      // not yet (go-libp2p sets its handler only once it has public addresses).
      // Identify decides: its topology start runs now, or has already said so.
      this.#initiated.delete(connection)
      this.#components.peerStore.get(connection.remotePeer).then(peer => {
        if (peer.protocols.includes(HOLEPUNCH_PROTOCOL)) this.#startOn(connection, false)
      }, () => {})
    }).catch(err => {
      this.#log.error('hole punch to %p failed unexpectedly - %e', connection.remotePeer, err)
    })
  }

  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { observedAddr, connection, peerId } = evt.detail
    if (observedAddr == null || connection == null || !isDirect(connection)) return
    const accepted = this.#observed.add(observedAddr, peerId.toString(), this.#dialSource(connection))
    if (accepted != null) {
      this.#log.trace('%p observed us at %a', peerId, accepted)
      // let AutoNAT verify it; it is already a hole punch candidate
      this.#components.addressManager.addObservedAddr(accepted)
    }
  }

  /**
   * Asks each transport that can (`@natkit/tcp-reuse`) to upgrade an inbound
   * connection from one of `addrs` as the initiator until `signal` aborts: the
   * peer dials us as the responder, and its SYN reaches our listener instead of
   * our dial's socket when we have no NAT or a reset router ended our dial.
   */
  #expectInitiator (peer: PeerId, addrs: Multiaddr[], signal: AbortSignal): void {
    const security = this.#optimisticUpgrade ? this.#relayedSecurity(peer) : undefined
    for (const transport of this.#components.transportManager.getTransports()) {
      const claim = (transport as Partial<InitiatorClaims>).expectInitiator
      if (typeof claim !== 'function') continue
      for (const addr of addrs) {
        const full = addr.getComponents().some(c => c.code === CODE_P2P) ? addr : addr.encapsulate(`/p2p/${peer}`)
        try {
          claim.call(transport, full, { signal, ...(security != null ? { optimisticSelect: security } : {}) })
        } catch (err) {
          this.#log('claiming inbound connections from %a failed - %e', full, err)
        }
      }
    }
  }

  /** Where our outbound TCP connection `connection` was dialled from, if the transport tells. */
  #dialSource (connection: Connection): ObservationSource | undefined {
    if (connection.direction !== 'outbound') return undefined
    for (const transport of this.#components.transportManager.getTransports()) {
      const lookup = (transport as Partial<DialSourceLookup>).dialSource
      if (typeof lookup !== 'function') continue
      try {
        const source = lookup.call(transport, connection)
        if (source != null) return source
      } catch (err) {
        this.#log('dial source lookup failed - %e', err)
      }
    }
    return undefined
  }

  /** Our addresses changed (new observed address, reachability): bring pending retry rounds forward. */
  readonly #onSelfUpdate = (): void => {
    const now = Date.now()
    for (const [key, retry] of this.#retries) {
      clearTimeout(retry.timer)
      retry.timer = setTimeout(() => { this.#runRetry(key) }, Math.max(0, retry.notBefore - now))
    }
  }

  /** Watches a new relayed connection's limits, to warn before the relay closes it. */
  #watchLimits (conn: Connection): void {
    const limits = conn.limits
    if (limits == null || this.#limitWatches.has(conn)) return
    const initialBytes = limits.bytes
    let warnedDuration = false
    let warnedData = false
    const check = (): void => {
      if (conn.status !== 'open') {
        stopWatch()
        return
      }
      // a direct connection takes over: nothing is lost when the relayed one ends
      if (this.#findDirect(conn.remotePeer) != null) return
      const seconds = limits.seconds
      if (!warnedDuration && seconds != null && seconds * 1000 <= this.#relayLimitWarning) {
        warnedDuration = true
        this.#emit('relayed:expiring', {
          remotePeer: conn.remotePeer.toString(),
          remoteAddr: conn.remoteAddr.toString(),
          limit: 'duration',
          remainingMs: Math.max(0, seconds * 1000),
          message: `the relay closes this connection in about ${Math.max(0, seconds)} s (its duration limit) and there is no direct connection to take over`
        })
      }
      const bytes = limits.bytes
      if (!warnedData && bytes != null && initialBytes != null && Number(bytes) <= Number(initialBytes) * DEFAULT_RELAY_LIMIT_WARNING_FRACTION) {
        warnedData = true
        this.#emit('relayed:expiring', {
          remotePeer: conn.remotePeer.toString(),
          remoteAddr: conn.remoteAddr.toString(),
          limit: 'data',
          limitBytes: Number(initialBytes),
          message: `${bytes} of the ${initialBytes} bytes the relay allows are left; it closes the connection when they are used and there is no direct connection to take over`
        })
      }
      if (warnedDuration && (warnedData || initialBytes == null)) stopWatch()
    }
    const timer = setInterval(check, DEFAULT_RELAY_LIMIT_CHECK_INTERVAL)
    const stopWatch = (): void => {
      clearInterval(timer)
      this.#limitWatches.delete(conn)
      conn.removeEventListener('close', stopWatch)
    }
    this.#limitWatches.set(conn, timer)
    conn.addEventListener('close', stopWatch)
    check()
  }

  /**
   * Takes one punch dial from `peer`'s budget; false when the budget of the
   * current window is used up.
   */
  #takeDial (peer: PeerId): boolean {
    const budget = this.#budget(peer)
    if (budget.used >= this.#maxPeerPunchDials) return false
    budget.used++
    return true
  }

  /** `peer`'s punch budget of the current window (a new one once the window moved on). */
  #budget (peer: PeerId): PeerBudget {
    const key = peer.toString()
    const now = Date.now()
    let budget = this.#peerDials.get(key)
    if (budget == null || now - budget.since >= this.#peerPunchDialWindow) {
      this.#peerDials.delete(key)
      budget = { since: now, used: 0, addrs: new Set(), ips: new Set() }
      this.#peerDials.set(key, budget)
      while (this.#peerDials.size > DEFAULT_MAX_BUDGET_PEERS) {
        const oldest = this.#peerDials.keys().next().value
        if (oldest == null) break
        this.#peerDials.delete(oldest)
      }
    }
    return budget
  }

  /**
   * An address we may offer or dial: not relayed, dialable, public unless
   * allowed. A remote candidate must be an IP address: a DNS name would make
   * us resolve and dial whatever the peer names.
   */
  /**
   * Hard-NAT strategy of a punch, from what the peer said of its NAT
   * (natkit extension) and what we know of ours:
   *
   * - peer maps per destination, ours keeps the port (we are the easy side):
   *   `predicted`, its newest observed port plus 1…`predictionWindow` strides
   *   on its observed IP (allocation sequential, or unknown taken as +1), each
   *   allowed by the connection gater; and `randomIp`, its observed address,
   *   whose IP gets random probes (allocation random or unknown);
   * - ours maps per destination, the peer's keeps the port (we are the hard
   *   side, allocation not known to be sequential): `fanOut`, the peer's
   *   mapped address, toward which we open `birthdaySockets` connections;
   * - otherwise nothing: plain DCUtR, unchanged (also when both map per
   *   destination, and when we are the easy side and discovery found our
   *   filtering endpoint-independent or address-dependent: the peer's SYN from
   *   its new mapping passes our NAT once we sent to its address).
   */
  async #plan (peer: PeerId, hint: MappingHint | undefined, allowed: Multiaddr[], punch: Punch): Promise<ProbePlan> {
    punch.peerMapping = hint
    const none: ProbePlan = { predicted: [] }
    if (this.#maxProbes === 0 || hint == null) return none
    const ours = this.#ownMapping()
    const candidates = allowed.map(ma => toTcpAddr(ma)).filter(t => t != null)
    const base = candidates.find(t => t.port === hint.port) ?? candidates[0]
    if (base == null) return none
    if (hint.mapping === 'endpoint-independent') {
      if (ours?.mapping !== 'endpoint-dependent' || ours.allocation === 'sequential' || this.#birthdaySockets === 0) return none
      punch.strategy = 'birthday'
      this.#log('%p keeps its mapping port: opening up to %d mappings toward %a', peer, this.#birthdaySockets, base.addr)
      return { predicted: [], fanOut: base.addr.encapsulate(`/p2p/${peer}`) }
    }
    if (ours?.mapping !== 'endpoint-independent') return none
    const filtering = this.#discovered()?.filtering
    if (filtering === 'endpoint-independent' || filtering === 'address-dependent') {
      // the peer's SYN from whatever port its NAT picks for us passes our NAT once we sent to its address: plain DCUtR
      this.#log('%p maps per destination, but our NAT filters %s: plain DCUtR, no probes', peer, filtering)
      return none
    }
    const known = new Set(candidates.map(t => t.addr.toString()))
    const predicted: Multiaddr[] = []
    const stride = hint.stride ?? 1
    for (let k = 1; hint.allocation !== 'random' && k <= this.#predictionWindow; k++) {
      const port = hint.port + k * stride
      if (port < 1 || port > 65535) break
      const addr = withPort(base.addr, port)
      if (known.has(addr.toString()) || !this.#usable(addr, true)) continue
      const full = addr.encapsulate(`/p2p/${peer}`)
      if (await this.#denied(full)) continue
      predicted.push(full)
    }
    // random probes only where the gater admits the peer's observed address itself
    const random = hint.allocation !== 'sequential' && this.#usable(base.addr, true) && !(await this.#denied(base.addr.encapsulate(`/p2p/${peer}`)))
    punch.strategy = predicted.length > 0 ? (random ? 'predict+birthday' : 'predict') : random ? 'birthday' : 'dcutr'
    if (punch.strategy !== 'dcutr') this.#log('%p maps per destination (%s allocation%s, last port %d): %s', peer, hint.allocation, hint.stride != null ? `, stride ${hint.stride}` : '', hint.port, punch.strategy)
    return { predicted, ...(random ? { randomIp: base.addr } : {}) }
  }

  async #denied (ma: Multiaddr): Promise<boolean> {
    try {
      return await this.#components.connectionGater.denyDialMultiaddr?.(ma) === true
    } catch {
      return true
    }
  }

  /**
   * Runs a punch's probes (see {@link #plan}), paced at `probeRate` per
   * second, within the punch's `maxProbes` and `probeTime` and the peer's
   * punch dial budget; no new probe once a direct connection exists. A is the
   * libp2p initiator of the simultaneous open, B the responder. Predicted and
   * random probes leave from our listen port (random ones are given up after
   * `DEFAULT_RANDOM_PROBE_LIFETIME`: a hit is answered at once), the hard
   * side's from ephemeral ports. Returns a function that aborts every probe
   * whose upgrade has not started; the first probe that connects calls it.
   */
  #probe (peer: PeerId, plan: ProbePlan, signal: AbortSignal, punch: Punch, start: number, onConn: (conn: Connection) => void): () => void {
    const probes: Array<{ controller: AbortController, connected: boolean }> = []
    const abortOthers = (): void => {
      for (const p of probes) if (!p.connected) p.controller.abort(new HolePunchAbortedError('another probe connected'))
    }
    const initiator = punch.role === 'responder'
    const tm = this.#components.transportManager
    const targets = function * (): Generator<{ addr: Multiaddr, ephemeral: boolean, lifetime?: number }> {
      for (const addr of plan.predicted) yield { addr, ephemeral: false }
      if (plan.fanOut != null) for (let i = 0; i < MAX_FAN_OUT; i++) yield { addr: plan.fanOut, ephemeral: true }
      if (plan.randomIp != null) {
        const tried = new Set(plan.predicted.map(ma => toTcpAddr(ma)?.port))
        for (let i = 0; i < MAX_RANDOM_PORT_DRAWS; i++) {
          const port = RANDOM_PROBE_MIN_PORT + Math.floor(Math.random() * (65536 - RANDOM_PROBE_MIN_PORT))
          if (tried.has(port)) continue
          tried.add(port)
          yield { addr: withPort(plan.randomIp, port).encapsulate(`/p2p/${peer}`), ephemeral: false, lifetime: DEFAULT_RANDOM_PROBE_LIFETIME }
        }
      }
    }
    let fanned = 0
    const launch = async (): Promise<void> => {
      for (const { addr, ephemeral, lifetime } of targets()) {
        if (signal.aborted || this.#findDirect(peer) != null) return
        if (punch.probes >= this.#maxProbes || Date.now() - start > this.#probeTime) return
        if (ephemeral && fanned >= this.#birthdaySockets) continue
        if (!this.#takeDial(peer)) return
        punch.probes++
        if (ephemeral) fanned++
        const probe = { controller: new AbortController(), connected: false }
        probes.push(probe)
        const options = {
          signal: AbortSignal.any([signal, probe.controller.signal, ...(lifetime != null ? [AbortSignal.timeout(lifetime)] : [])]),
          onProgress: (evt: { type: string }): void => { if (evt.type.startsWith('upgrader:encrypt-')) probe.connected = true }
        }
        const ephemeralOptions: typeof options & { reusePort: false } = { ...options, reusePort: false }
        const dial = initiator
          ? ephemeral ? dialFromEphemeralPort(tm, addr, options) : tm.dial(addr, options)
          : dialAsResponder(tm, addr, ephemeral ? ephemeralOptions : options)
        dial.then(conn => {
          abortOthers()
          if (isDirect(conn)) onConn(conn)
        }, (err: unknown) => {
          this.#log.trace('probe %a failed - %e', addr, err)
        })
        await delay(1000 / this.#probeRate, signal)
      }
    }
    launch().catch(() => {})
    return abortOthers
  }

  #usable (ma: Multiaddr, remote = false): boolean {
    if (isRelayed(ma)) return false
    if (this.#components.transportManager.dialTransportForMultiaddr(ma) == null) return false
    if (DNS.matches(ma)) return !remote
    if (!IP.matches(ma)) return false
    if (this.#allowPrivate) return true
    try {
      return !(isPrivate(ma) || isLoopback(ma))
    } catch {
      return false
    }
  }

  /** Usable remote addresses with `/p2p/<peer>` appended, deduplicated. */
  #remoteAddrs (addrs: Array<Multiaddr | Uint8Array>, peer: PeerId): Multiaddr[] {
    const out = new Map<string, Multiaddr>()
    for (const input of addrs) {
      let ma: Multiaddr
      try {
        ma = input instanceof Uint8Array ? multiaddr(input) : input
      } catch {
        continue
      }
      const { addr, peer: id } = stripPeerId(ma)
      if (id != null && id !== peer.toString()) continue
      if (!this.#usable(addr, true)) continue
      const full = addr.encapsulate(`/p2p/${peer}`)
      out.set(full.toString(), full)
    }
    return [...out.values()]
  }

  /**
   * Puts a punch's remote candidates to the connection gater, as libp2p's dial
   * queue does for ordinary dials (the responder's `initiator: false` dial
   * bypasses that queue). At most `maxDialCandidates` are considered, and only
   * within the peer's caps over the window (`maxPeerCandidates` addresses on
   * `maxPeerCandidateIps` IPs in total); a gater that throws counts as a
   * refusal. Allowed addresses count against the peer's caps.
   */
  async #admit (peer: PeerId, addrs: Multiaddr[]): Promise<Admitted> {
    const gater = this.#components.connectionGater
    const budget = this.#budget(peer)
    const considered: Multiaddr[] = []
    const addrsLeft = new Set(budget.addrs)
    const ipsLeft = new Set(budget.ips)
    let capped = 0
    for (const ma of addrs) {
      if (considered.length >= this.#maxDialCandidates) break
      const key = stripPeerId(ma).addr.toString()
      const ip = ipOf(ma) ?? key
      if (!addrsLeft.has(key) && (addrsLeft.size >= this.#maxPeerCandidates || (!ipsLeft.has(ip) && ipsLeft.size >= this.#maxPeerCandidateIps))) {
        capped++
        continue
      }
      addrsLeft.add(key)
      ipsLeft.add(ip)
      considered.push(ma)
    }
    if (capped > 0) this.#log('%p: %d punch candidate(s) over its caps (%d addresses on %d IPs per %d ms) left out', peer, capped, this.#maxPeerCandidates, this.#maxPeerCandidateIps, this.#peerPunchDialWindow)
    const refuses = async (ask: () => boolean | Promise<boolean> | undefined): Promise<boolean> => {
      try {
        return (await ask()) === true
      } catch (err) {
        this.#log('connection gater threw - %e', err)
        return true
      }
    }
    if (await refuses(() => gater.denyDialPeer?.(peer))) return { allowed: [], denied: considered, capped }
    const allowed: Multiaddr[] = []
    const denied: Multiaddr[] = []
    for (const ma of considered) {
      if (await refuses(() => gater.denyDialMultiaddr?.(ma))) {
        denied.push(ma)
        continue
      }
      allowed.push(ma)
      const key = stripPeerId(ma).addr.toString()
      budget.addrs.add(key)
      budget.ips.add(ipOf(ma) ?? key)
    }
    if (denied.length > 0) this.#log('connection gater refused %d punch candidate(s) of %p', denied.length, peer)
    return { allowed, denied, capped }
  }

  #findDirect (peer: PeerId): Connection | undefined {
    return this.#components.connectionManager.getConnections(peer).find(isDirect)
  }

  #emit<K extends keyof HolePunchEvents>(type: K, detail: HolePunchEvents[K]['detail']): void {
    this.safeDispatchEvent(type, { detail })
  }

  #outcome (peer: PeerId, role: HolePunchRole, attempt: number, remote: Multiaddr[], own: Multiaddr[], direct?: Connection): void {
    this.#emit('holepunch:outcome', {
      remotePeer: peer.toString(),
      role,
      attempt,
      remoteAddrs: remote.map(String),
      ownAddrs: own.map(String),
      directAddr: direct?.remoteAddr.toString()
    })
  }

  #attempt (detail: HolePunchAttemptEvent): void {
    this.#stats.attempts++
    this.#emit('holepunch:attempt', detail)
  }

  async #succeed (relayed: Connection, direct: Connection, start: number, attempt: number, role: HolePunchRole, syncLateMs?: number, punch?: Punch): Promise<void> {
    this.#stats.successes++
    this.#emit('holepunch:success', {
      remotePeer: relayed.remotePeer.toString(),
      remoteAddr: direct.remoteAddr.toString(),
      ms: Date.now() - start,
      attempt,
      ...(syncLateMs != null ? { syncLateMs: Math.round(syncLateMs * 10) / 10 } : {}),
      ...strategyFields(punch)
    })
    // Only B (the initiator) closes the relayed connection, once its own side of
    // the direct connection is up. In a TCP simultaneous open A's upgrade (as
    // initiator) finishes first; if A closed the relay then, B's punch would be
    // aborted while B's upgrade of the same socket is still running, killing the
    // new direct connection. Never close a direct connection a peer ran DCUtR on.
    if (role === 'initiator' && this.#closeRelayed && relayed.status === 'open' && isRelayed(relayed.remoteAddr)) {
      try {
        this.#log('closing relayed connection to %p', relayed.remotePeer)
        await relayed.close({ signal: AbortSignal.timeout(this.#timeout) })
        this.#log('closed relayed connection to %p, status %s', relayed.remotePeer, relayed.status)
      } catch (err) {
        this.#log('closing relayed connection to %p failed - %e', relayed.remotePeer, err)
        relayed.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }
  }

  /** Reports a finished punch's failure with the reason `diagnose` picks from what is known; returns the reason. */
  #failDiagnosed (peer: PeerId, ownCandidates: number, remote: Admitted | undefined, err: unknown, aborted: boolean, attempts: number, start: number, log?: PunchDials, punch?: Punch): HolePunchFailureReason {
    const dials = log?.list() ?? []
    const reason = diagnose({ ownCandidates, remoteCandidates: remote?.allowed.length, remoteDenied: remote?.denied.length, symmetricNatSuspected: this.isSymmetricNatSuspected(), error: err, aborted, dials })
    this.#fail(peer, reason, err, attempts, start, remote?.denied, describeDials(dials, Date.now() - start), punch)
    return reason
  }

  #fail (peer: PeerId, reason: HolePunchFailureReason, err: unknown, attempts: number, start: number, denied: Multiaddr[] = [], seen?: string, punch?: Punch): void {
    this.#stats.failures[reason]++
    const detail = err != null ? errorLine(err) : reason
    const parts: string[] = []
    if (reason === 'symmetric-nat-suspected') parts.push(this.symmetricNatEvidence() ?? 'the NAT mapping varies per destination')
    // what the dials saw says more than their last error
    if (seen != null) parts.push(seen)
    if (punch != null && punch.strategy !== 'dcutr') parts.push(`${punch.probes} probe(s) (${punch.strategy}) got no connection`)
    const peerNat = punch?.peerMapping
    if (peerNat?.mapping === 'endpoint-dependent') {
      const allocation = describeAllocation(peerNat)
      const ours = this.#ownMapping()
      parts.push(ours?.mapping === 'endpoint-dependent'
        ? `the peer's NAT maps per destination too (${allocation}, last seen at port ${peerNat.port}; ours: ${describeAllocation(ours)}): both NATs are symmetric, neither side can tell where the other's next mapping lands, so the connection stays relayed`
        : `the peer's NAT maps per destination (${allocation}, last seen at port ${peerNat.port})`)
    }
    if (seen == null || reason === 'timeout') parts.push(reason === 'symmetric-nat-suspected' ? `last error: ${detail}` : detail)
    let message = parts.join('; ')
    if (denied.length > 0 && !(err instanceof DialDeniedError)) message += `; the connection gater refused ${denied.map(String).join(', ')}`
    this.#log('hole punch with %p failed: %s (%s)', peer, reason, message)
    this.#emit('holepunch:failure', { remotePeer: peer.toString(), reason, message, attempts, ms: Date.now() - start, ...strategyFields(punch), ...(punch?.bothSymmetric === true ? { final: true } : {}) })
  }

  /**
   * Registers a punch for `peer` on `relayed`. One punch per peer at a time: a
   * responder punch gives way to a newer responder stream of the same peer,
   * otherwise `running` says one runs already (it reports its own outcome).
   * Punches on connections we dialed (our own upgrades) and on connections
   * others opened to us have separate tables; `busy` says which one is full.
   */
  #begin (peer: PeerId, relayed: Connection, role: HolePunchRole): { punch: Punch, end: () => void } | { running: true } | { busy: HolePunchBusyError } {
    const key = peer.toString()
    const existing = this.#punches.get(key)
    if (existing != null) {
      if (role !== 'responder' || existing.role !== 'responder') return { running: true }
      existing.superseded = true
      existing.controller.abort(new HolePunchAbortedError('superseded by a new hole punch stream'))
      this.#punches.delete(key)
    }
    const own = relayed.direction === 'outbound'
    let inTable = 0
    for (const p of this.#punches.values()) if (p.own === own) inTable++
    const max = own ? this.#maxOwnPunches : this.#maxPunches
    if (inTable >= max) {
      const busy = new HolePunchBusyError(own
        ? `${inTable} hole punches on relayed connections we dialed are running (at most ${max}, maxOwnPunches)`
        : `${inTable} hole punches on relayed connections other peers opened are running (at most ${max}, maxConcurrentPunches)`)
      this.#log('%p: %s', peer, busy.message)
      return { busy }
    }
    const punch: Punch = { controller: new AbortController(), superseded: false, role, own, strategy: 'dcutr', probes: 0 }
    this.#punches.set(key, punch)
    const onClose = (): void => { punch.controller.abort(new HolePunchAbortedError('relayed connection closed')) }
    relayed.addEventListener('close', onClose)
    return {
      punch,
      end: () => {
        relayed.removeEventListener('close', onClose)
        if (this.#punches.get(key) === punch) this.#punches.delete(key)
      }
    }
  }

  async #write (lp: LengthPrefixedStream<Stream>, msg: HolePunchMessage, signal: AbortSignal): Promise<void> {
    await lp.write(encodeHolePunch(msg), { signal })
  }

  async #read (lp: LengthPrefixedStream<Stream>, expected: HolePunchType, signal: AbortSignal): Promise<HolePunchMessage> {
    let data
    try {
      data = await lp.read({ signal })
    } catch (err) {
      const name = err instanceof Error ? err.name : undefined
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
        throw new MessageTooLargeError(`message exceeds the maximum of ${MAX_MESSAGE_SIZE} bytes`, { cause: err })
      }
      if (name === 'UnexpectedEOFError') {
        throw new TruncatedMessageError(`stream ended while waiting for ${expected}`, { cause: err })
      }
      throw err
    }
    const msg = decodeHolePunch(data)
    if (msg.type !== expected) {
      throw new UnexpectedMessageTypeError(`expected ${expected}, got ${msg.type}`)
    }
    return msg
  }

  /**
   * The responder side (B, `initiator: false`) must act as the
   * multistream/noise responder on its outbound socket, because a TCP
   * simultaneous open gives both sides an outbound connection. libp2p 3.3.11's
   * dial queue does not pass `initiator` on to the transport (only peer id,
   * priority, addresses, signal and progress survive), so B dials through the
   * transport manager directly; the upgrader still registers the connection.
   * A (`initiator: true`) uses the connection manager as usual.
   */
  async #dial (peer: PeerId, addrs: Multiaddr[], mode: DialMode, signal: AbortSignal, log: PunchDials): Promise<Connection> {
    let lastError: unknown
    // Routers that answer an unsolicited SYN with a reset (a bare Linux router,
    // OpenWrt's wan zone) refuse whichever SYN arrives before the other side's
    // mapping exists, and that reset also removes the sender's own mapping. Each
    // refused SYN is sent again after a short jittered pause, within the
    // attempt's budget, so that two SYNs come to cross in flight.
    let resends = 0
    const security = mode === 'initiator' && this.#optimisticUpgrade ? this.#relayedSecurity(peer) : undefined
    for (let round = 0; ; round++) {
      for (const addr of addrs) {
        if (round > 0) {
          if (this.#findDirect(peer) != null || resends >= this.#punchResends) throw lastError
          resends++
          this.#stats.resends++
        }
        if (!this.#takeDial(peer)) {
          throw new PunchBudgetExhaustedError(`no punch dials left for this peer: ${this.#maxPeerPunchDials} per ${this.#peerPunchDialWindow} ms used`, { cause: lastError })
        }
        const key = stripPeerId(addr).addr.toString()
        const dialStart = log.begin(key)
        let connected = false
        const onProgress = (evt: { type: string }): void => {
          if (evt.type.startsWith('upgrader:encrypt-')) connected = true
        }
        try {
          // resends go to the transport directly: the dial queue's extra event-loop
          // turns slow the SYN cadence down when the CPU is busy
          // the transport manager passes the option on (the dial queue would drop it)
          if (mode === 'initiator' && security != null) return await dialWithOptimisticSelect(this.#components.transportManager, addr, security, { signal, onProgress })
          if (mode === 'initiator' && round === 0) return await this.#components.connectionManager.openConnection(addr, { signal, priority: DEFAULT_DIAL_PRIORITY, force: true, onProgress })
          if (mode === 'initiator') return await this.#components.transportManager.dial(addr, { signal, onProgress })
          if (mode === 'responder') return await dialAsResponder(this.#components.transportManager, addr, { signal, onProgress })
          return await dialFromEphemeralPort(this.#components.transportManager, addr, { signal, onProgress })
        } catch (err) {
          lastError = err
          log.settle(key, err, connected, signal.aborted, Date.now() - dialStart, dialStart)
          if (signal.aborted) throw err
        }
      }
      if (!isUnreachableError(lastError) || resends >= this.#punchResends) break
      await delay(this.#punchResendInterval * (0.5 + Math.random()), signal)
    }
    throw lastError ?? new Error('no address to dial')
  }

  /** The security protocol of an open relayed connection to `peer` (`optimisticUpgrade`), if any. */
  #relayedSecurity (peer: PeerId): string | undefined {
    return this.#components.connectionManager.getConnections(peer).find(c => c.status === 'open' && isRelayed(c.remoteAddr) && c.encryption != null)?.encryption
  }

  /**
   * Resolves with a direct connection to `peer`: ours (dialing `addrs`) or
   * theirs, whichever opens first. Our dial is never cancelled once a
   * connection exists (cancelling a dial that is finishing its upgrade would
   * close the good connection); it ends on its own or when `signal` aborts.
   */
  async #connectDirect (peer: PeerId, addrs: Multiaddr[], modes: DialMode[], signal: AbortSignal, log: PunchDials, plan: ProbePlan = { predicted: [] }, punch?: Punch, start = Date.now()): Promise<Connection> {
    const { promise, resolve, reject } = Promise.withResolvers<Connection>()
    let dialError: unknown
    // with `confirmDirect`, a connection counts only once the peer answered over it
    const seen = new WeakSet<Connection>()
    let confirming = 0
    const onAbort = (): void => {
      if (confirming === 0) reject(dialError ?? signal.reason ?? new HolePunchTimeoutError('no direct connection before the deadline'))
    }
    const candidate = (conn: Connection): void => {
      if (seen.has(conn)) return
      seen.add(conn)
      if (this.#confirmDirect == null) { resolve(conn); return }
      confirming++
      void this.#confirmOrClose(peer, conn, 'direct connection').then((refused) => {
        if (refused == null) { resolve(conn); return }
        dialError = refused.error
        confirming--
        if (signal.aborted) onAbort()
      })
    }
    const onOpen = (evt: CustomEvent<Connection>): void => {
      if (evt.detail.remotePeer.equals(peer) && isDirect(evt.detail)) candidate(evt.detail)
    }
    this.#components.events.addEventListener('connection:open', onOpen)
    signal.addEventListener('abort', onAbort, { once: true })
    let stopProbes: (() => void) | undefined
    // as the initiator, the peer's SYN may reach our listener rather than our dial's socket: claim it for this attempt
    const claims = new AbortController()
    if (modes.includes('initiator')) this.#expectInitiator(peer, addrs, AbortSignal.any([signal, claims.signal]))
    try {
      const existing = this.#findDirect(peer)
      if (existing != null) candidate(existing)
      else if (signal.aborted) onAbort()
      if (existing == null && punch != null && (plan.predicted.length > 0 || plan.fanOut != null || plan.randomIp != null)) {
        stopProbes = this.#probe(peer, plan, signal, punch, start, candidate)
      }
      for (const mode of existing == null && addrs.length > 0 ? modes : []) {
        this.#dial(peer, addrs, mode, signal, log).then(conn => {
          if (isDirect(conn)) candidate(conn)
          else dialError = new Error('dial returned a limited connection')
        }, err => {
          // keep waiting: the other side's dial (or our other one) may still reach us
          this.#log('%s dial to %p failed - %e', mode, peer, err)
          dialError = err
        })
      }
      return await promise
    } finally {
      // a direct connection exists (or the attempt ended): close every other probe at once
      stopProbes?.()
      claims.abort()
      this.#components.events.removeEventListener('connection:open', onOpen)
      signal.removeEventListener('abort', onAbort)
    }
  }

  /**
   * Runs `confirmDirect` on a direct connection (bounded by `confirmTimeout`):
   * resolves with nothing once the peer answered over it, or with the
   * rejection after closing the connection. Without `confirmDirect`, nothing.
   */
  async #confirmOrClose (peer: PeerId, conn: Connection, what: string): Promise<{ error: unknown } | undefined> {
    try {
      await this.#confirmDirect?.(conn, AbortSignal.timeout(this.#confirmTimeout))
      return undefined
    } catch (err) {
      this.#log('%s to %p via %a not confirmed, closing it - %e', what, peer, conn.remoteAddr, err)
      conn.abort(err instanceof Error ? err : new Error(String(err)))
      return { error: err }
    }
  }

  async #tryUnilateral (relayed: Connection, signal: AbortSignal): Promise<Connection | undefined> {
    const peer = relayed.remotePeer
    let addrs: Multiaddr[]
    try {
      const info = await this.#components.peerStore.get(peer)
      addrs = (await this.#admit(peer, this.#remoteAddrs(info.addresses.map(a => a.multiaddr), peer))).allowed
    } catch {
      return undefined
    }
    if (addrs.length === 0) return undefined
    this.#attempt({ remotePeer: peer.toString(), attempt: 0, maxAttempts: this.#attempts, addrs: addrs.map(String), role: 'initiator' })
    let direct: Connection | undefined
    try {
      const conn = await this.#components.connectionManager.openConnection(addrs, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#timeout)]),
        force: true
      })
      direct = isDirect(conn) ? conn : undefined
    } catch (err) {
      this.#log('unilateral upgrade to %p via %a failed - %e', peer, addrs, err)
    }
    // with `confirmDirect`, the unilateral connection counts only once the peer answered over it, as a punched one
    if (direct != null && this.#confirmDirect != null) {
      const refused = await this.#confirmOrClose(peer, direct, 'unilateral connection')
      if (refused != null) direct = undefined
    }
    this.#emit('holepunch:direct-dial', { remotePeer: peer.toString(), success: direct != null })
    return direct
  }

  /**
   * B: inbound side of the relayed connection. `early`: started when the
   * connection opened, before identify said whether the peer speaks DCUtR.
   * `round`: a retry round after every attempt of an earlier round failed.
   */
  async #initiate (relayed: Connection, early: boolean, round = 0): Promise<'not-yet' | undefined> {
    const peer = relayed.remotePeer
    if (this.#findDirect(peer) != null) return
    const begun = this.#begin(peer, relayed, 'initiator')
    if ('running' in begun) {
      this.#log('a hole punch with %p runs already', peer)
      return
    }
    if ('busy' in begun) {
      this.#fail(peer, 'busy', begun.busy, 0, Date.now())
      this.#scheduleRetry(relayed, round + 1, 'busy')
      return
    }
    const { punch, end } = begun
    const start = Date.now()
    let reason: HolePunchFailureReason | undefined
    try {
      if (this.#unilateral) {
        const conn = await this.#tryUnilateral(relayed, punch.controller.signal)
        if (conn != null) {
          end()
          await this.#succeed(relayed, conn, start, 0, 'initiator')
          return
        }
      }
      const own = this.getCandidateAddresses()
      if (own.length === 0) {
        reason = 'no-public-addresses'
        this.#fail(peer, reason, new NoPublicAddressesError('no public, dialable, non-relay address to offer'), 0, start)
        return
      }
      const log = new PunchDials(this.#maxDialCandidates)
      let lastError: unknown
      let remote: Admitted | undefined
      let attempt = 0
      for (attempt = 1; attempt <= this.#attempts; attempt++) {
        if (punch.controller.signal.aborted) break
        const signal = AbortSignal.any([punch.controller.signal, AbortSignal.timeout(this.#timeout)])
        let stream: Stream | undefined
        let negotiated = false
        try {
          const connectMsg = encodeHolePunch({ type: 'CONNECT', obsAddrs: own.map(ma => ma.bytes), mapping: this.#mappingField() })
          let lp: LengthPrefixedStream<Stream>
          let sent: number
          if (this.#optimisticSelect) {
            stream = await openUnnegotiatedStream(relayed, { signal })
            lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE })
            sent = Date.now()
            await lp.writeV([MSS_HEADER, MSS_DCUTR, connectMsg], { signal })
            await this.#expectLine(lp, MSS_HEADER, signal)
            await this.#expectLine(lp, MSS_DCUTR, signal)
            stream.protocol = HOLEPUNCH_PROTOCOL
          } else {
            stream = await relayed.newStream(HOLEPUNCH_PROTOCOL, { signal, runOnLimitedConnection: true })
            lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE })
            sent = Date.now()
            await lp.write(connectMsg, { signal })
          }
          negotiated = true
          const connect = await this.#read(lp, 'CONNECT', signal)
          const rtt = Date.now() - sent
          remote = await this.#admit(peer, this.#remoteAddrs(connect.obsAddrs, peer))
          if (remote.allowed.length === 0) {
            throw remote.denied.length > 0
              ? new DialDeniedError(`the connection gater refused every candidate of the peer: ${remote.denied.map(String).join(', ')}`)
              : remote.capped > 0
                ? new PunchBudgetExhaustedError(`peer sent ${connect.obsAddrs.length} addresses, all beyond its candidate caps (${this.#maxPeerCandidates} addresses on ${this.#maxPeerCandidateIps} IPs per ${this.#peerPunchDialWindow} ms)`)
                : new RemoteNoPublicAddressesError(`peer sent ${connect.obsAddrs.length} addresses, none usable`)
          }
          const syncSent = performance.now()
          await this.#write(lp, { type: 'SYNC', obsAddrs: [] }, signal)
          this.#closeQuietly(stream)
          this.#attempt({ remotePeer: peer.toString(), attempt, maxAttempts: this.#attempts, addrs: remote.allowed.map(String), rttMs: rtt, role: 'initiator' })
          // dial RTT/2 after the SYNC left: time spent writing it and emitting
          // the event above is part of the wait, not added to it
          const syncWait = Math.min(rtt / 2, MAX_SYNC_DELAY)
          await delay(Math.max(0, syncSent + syncWait - performance.now()), signal)
          const lateMs = performance.now() - syncSent - syncWait
          if (lateMs > SYNC_LATE_LOG_MS) this.#log('attempt %d with %p: the SYNC wait of %d ms ended %d ms late (busy event loop)', attempt, peer, Math.round(syncWait), Math.round(lateMs))
          // B dials as the multistream-select/noise responder, so that a TCP
          // simultaneous open ends with one initiator (A). Behind a NAT that maps
          // per destination, B's SYN leaves from a new mapping that A does not
          // dial: it can only meet A's listener (admitted by a cone NAT), where
          // A answers as responder, so B dials as initiator. With strong evidence
          // of such a NAT B only does that; with weak evidence (one observer saw
          // the port changed, which an endpoint-independent NAT may also do) B
          // dials both ways at once: as responder from the listen port and as
          // initiator from an ephemeral port.
          const evidence = this.#evidence()
          // a natkit peer whose NAT keeps our mapping's port (it said so) predicts our
          // next ports and dials them from its listen port: meet it there too
          const predicting = evidence != null && connect.mapping?.mapping === 'endpoint-independent' && this.#predictionWindow > 0
          const modes: DialMode[] = evidence == null ? ['responder'] : evidence.kind !== 'port-not-kept' && !predicting ? ['initiator'] : ['responder', 'ephemeral']
          const plan = await this.#plan(peer, connect.mapping, remote.allowed, punch)
          // Both NATs map per destination: neither side knows where the other's
          // next mapping lands, so no prediction or probing applies. One plain
          // attempt still meets a symmetric NAT whose filtering is
          // endpoint-independent (the peer's SYN reaches our mapping toward
          // the relay); more attempts only repeat it (~7 s each) before the
          // connection stays relayed anyway.
          punch.bothSymmetric = this.#bothSymmetric(connect.mapping)
          if (evidence != null) this.#log('attempt %d with %p: dialling %s (%s)', attempt, peer, modes.join(' + '), evidence.message)
          const dialed = remote.allowed
          const conn = await this.#connectDirect(peer, dialed, modes, signal, log, plan, punch, start).catch((err: unknown) => {
            this.#outcome(peer, 'initiator', attempt, dialed, own)
            throw err
          })
          this.#outcome(peer, 'initiator', attempt, dialed, own, conn)
          end()
          await this.#succeed(relayed, conn, start, attempt, 'initiator', Math.max(0, lateMs), punch)
          return
        } catch (err) {
          if (early && !negotiated && isUnsupportedProtocol(err)) {
            // started before identify: the peer does not speak DCUtR (yet), nothing to report
            this.#log('%p does not speak %s (yet)', peer, HOLEPUNCH_PROTOCOL)
            return 'not-yet'
          }
          lastError = err
          this.#log('attempt %d/%d with %p failed - %e', attempt, this.#attempts, peer, err)
          stream?.abort(err instanceof Error ? err : new Error(String(err)))
          const attemptReason = diagnose({ ownCandidates: own.length, remoteCandidates: remote?.allowed.length, remoteDenied: remote?.denied.length, symmetricNatSuspected: false, error: err, aborted: punch.controller.signal.aborted })
          // retrying cannot fix these
          if (attemptReason === 'aborted' || attemptReason === 'protocol-error' || attemptReason === 'remote-no-public-addresses' || attemptReason === 'gater-denied' || attemptReason === 'dial-budget-exhausted') break
          if (punch.bothSymmetric === true) {
            this.#log('attempt %d with %p failed and both NATs map per destination: no further attempt', attempt, peer)
            break
          }
        }
      }
      const attempts = Math.min(attempt, this.#attempts)
      reason = this.#failDiagnosed(peer, own.length, remote, lastError, punch.controller.signal.aborted, attempts, start, log, punch)
    } finally {
      end()
      if (reason != null) this.#scheduleRetry(relayed, round + 1, reason)
    }
  }

  /**
   * After a failed punch, plans retry round `round` for a peer still reached
   * only through `relayed`: after a jittered exponential backoff, or sooner
   * when our addresses change. Bounded by `retryRounds`; none after an abort,
   * a protocol error or a gater refusal (retrying cannot change those).
   */
  #scheduleRetry (relayed: Connection, round: number, reason: HolePunchFailureReason): void {
    if (!this.#started || round > this.#retryRounds || relayed.status !== 'open') return
    if (reason === 'aborted' || reason === 'protocol-error' || reason === 'gater-denied') return
    const peer = relayed.remotePeer
    const key = peer.toString()
    if (this.#retries.has(key) || this.#findDirect(peer) != null) return
    const base = Math.min(this.#retryMaxDelay, this.#retryDelay * 2 ** (round - 1))
    const delayMs = Math.round(base * (1 - DEFAULT_RETRY_JITTER + 2 * DEFAULT_RETRY_JITTER * Math.random()))
    const retry: PendingRetry = {
      relayed,
      round,
      timer: setTimeout(() => { this.#runRetry(key) }, delayMs),
      notBefore: Date.now() + Math.min(this.#retryMinDelay, delayMs),
      cancel: () => {
        clearTimeout(retry.timer)
        relayed.removeEventListener('close', retry.cancel)
        if (this.#retries.get(key) === retry) this.#retries.delete(key)
      }
    }
    relayed.addEventListener('close', retry.cancel)
    this.#retries.set(key, retry)
    this.#stats.retries++
    this.#log('hole punch with %p: retry round %d/%d in %d ms', peer, round, this.#retryRounds, delayMs)
    this.#emit('holepunch:retry', { remotePeer: key, round, maxRounds: this.#retryRounds, delayMs, reason })
  }

  #runRetry (key: string): void {
    const retry = this.#retries.get(key)
    if (retry == null) return
    retry.cancel()
    if (!this.#started || retry.relayed.status !== 'open' || this.#findDirect(retry.relayed.remotePeer) != null) return
    this.#initiate(retry.relayed, false, retry.round).catch(err => {
      this.#log.error('hole punch retry with %p failed unexpectedly - %e', retry.relayed.remotePeer, err)
    })
  }

  /** A: the side that dialed through the relay and receives B's stream. */
  async #respond (stream: Stream, relayed: Connection): Promise<void> {
    const peer = relayed.remotePeer
    const attempt = (this.#responderAttempts.get(relayed) ?? 0) + 1
    this.#responderAttempts.set(relayed, attempt)
    const begun = this.#begin(peer, relayed, 'responder')
    if ('running' in begun) {
      stream.abort(new HolePunchAbortedError('a hole punch with this peer runs already'))
      return
    }
    if ('busy' in begun) {
      stream.abort(begun.busy)
      this.#fail(peer, 'busy', begun.busy, 0, Date.now())
      return
    }
    const { punch, end } = begun
    const start = Date.now()
    const signal = AbortSignal.any([punch.controller.signal, AbortSignal.timeout(this.#timeout)])
    const own = this.getCandidateAddresses()
    const log = new PunchDials(this.#maxDialCandidates)
    let remote: Admitted | undefined
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE })
      const connect = await this.#read(lp, 'CONNECT', signal)
      // a natkit initiator makes no further attempt then (see #initiate)
      punch.bothSymmetric = this.#bothSymmetric(connect.mapping)
      remote = await this.#admit(peer, this.#remoteAddrs(connect.obsAddrs, peer))
      const sent = Date.now()
      // reply even with no candidates so B learns why (remote-no-public-addresses)
      await this.#write(lp, { type: 'CONNECT', obsAddrs: own.map(ma => ma.bytes), mapping: this.#mappingField() }, signal)
      await this.#read(lp, 'SYNC', signal)
      const rtt = Date.now() - sent
      // A dials immediately on SYNC (closing the stream and the event come
      // after); with no usable address it can only wait for B's dial
      const dialed = remote.allowed
      const plan = await this.#plan(peer, connect.mapping, remote.allowed, punch)
      const direct = this.#connectDirect(peer, dialed, ['initiator'], signal, log, plan, punch, start)
      this.#closeQuietly(stream)
      this.#attempt({ remotePeer: peer.toString(), attempt, maxAttempts: this.#attempts, addrs: remote.allowed.map(String), rttMs: rtt, role: 'responder' })
      const conn = await direct.catch((err: unknown) => {
        if (!punch.superseded) this.#outcome(peer, 'responder', attempt, dialed, own)
        throw err
      })
      this.#outcome(peer, 'responder', attempt, dialed, own, conn)
      end()
      await this.#succeed(relayed, conn, start, attempt, 'responder', undefined, punch)
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (punch.superseded) {
        this.#log('responder attempt %d with %p superseded', attempt, peer)
        return
      }
      this.#failDiagnosed(peer, own.length, remote, err, punch.controller.signal.aborted, attempt, start, log, punch)
    } finally {
      end()
    }
  }

  /**
   * Resets a DCUtR stream that came on a connection we may not punch on, and
   * reports it (at most once per `DEFAULT_REFUSED_REPORT_INTERVAL` per peer).
   */
  #refuse (stream: Stream, peer: PeerId, reason: HolePunchRefusedReason, message: string): void {
    this.#stats.refused++
    this.#log('refused a hole punch stream from %p: %s', peer, message)
    stream.abort(new HolePunchRefusedError(message))
    const key = peer.toString()
    const now = Date.now()
    const last = this.#refusals.get(key)
    if (last != null && now - last.at < DEFAULT_REFUSED_REPORT_INTERVAL) {
      last.unreported++
      return
    }
    this.#refusals.delete(key)
    this.#refusals.set(key, { at: now, unreported: 0 })
    while (this.#refusals.size > DEFAULT_MAX_BUDGET_PEERS) this.#refusals.delete(this.#refusals.keys().next().value as string)
    this.#emit('holepunch:refused', { remotePeer: key, reason, message, ...(last != null && last.unreported > 0 ? { alsoRefused: last.unreported } : {}) })
  }

  /** One multistream-select line of an optimistic negotiation: `na` means the peer does not speak the protocol. */
  async #expectLine (lp: LengthPrefixedStream<Stream>, expected: Uint8Array, signal: AbortSignal): Promise<void> {
    const line = textDecoder.decode((await lp.read({ signal })).subarray())
    if (line === textDecoder.decode(expected)) return
    if (line === 'na\n') throw new UnsupportedProtocolError(`the peer does not speak ${HOLEPUNCH_PROTOCOL}`)
    throw new HolePunchProtocolError(`multistream-select: expected ${JSON.stringify(textDecoder.decode(expected))}, got ${JSON.stringify(line.slice(0, 64))}`)
  }

  #closeQuietly (stream: Stream): void {
    stream.close({ signal: AbortSignal.timeout(this.#timeout) }).catch((err: unknown) => {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    })
  }
}
