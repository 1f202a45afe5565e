/**
 * @packageDocumentation
 *
 * The typed event stream every natkit role emits. Apps print it either as human
 * log lines or, with `--json`, as one JSON object per line on stdout:
 *
 * ```json
 * {"ts":"2026-11-24T15:00:00.000Z","event":"listening","peerId":"12D3Koo...","addrs":["/ip4/..."]}
 * ```
 *
 * The schema is documented in `docs/events.md` and is stable: the lab, the
 * docker-compose checks and tests read it. Fields are only ever added.
 */

export type Direction = 'inbound' | 'outbound'
export type ReachabilityStatus = 'reachable' | 'unreachable' | 'unknown'

/** A way a relayed connection becomes direct: TCP hole punching (DCUtR) or WebRTC signalled over the relay. */
export type DirectPathName = 'tcp' | 'webrtc'

/** Why a hole punch failed, most specific first. */
export type HolePunchFailureReason =
  | 'no-public-addresses'
  | 'remote-no-public-addresses'
  | 'gater-denied'
  | 'symmetric-nat-suspected'
  | 'upgrade-failed'
  | 'reset-by-remote'
  | 'peer-unreachable'
  | 'no-answer'
  | 'dial-budget-exhausted'
  | 'timeout'
  | 'protocol-error'
  | 'aborted'
  | 'busy'

/**
 * Why a DCUtR stream was refused (reset): `not-relayed` (it came on a direct
 * connection) or `not-dialed` (on a relayed connection the other peer
 * dialed; only the side that dialed the relayed connection answers DCUtR).
 */
export type HolePunchRefusedReason = 'not-relayed' | 'not-dialed'

/**
 * Why a relayed circuit ended: `closed` (both ends closed it), `data-limit`
 * (`--circuit-data` reached), `duration-limit` (`--circuit-duration` or the
 * reservation ran out), `reset` (an end reset it, the connection dropped or
 * the relay stopped).
 */
export type RelayCircuitCloseReason = 'closed' | 'data-limit' | 'duration-limit' | 'reset'

/** Which of the relay's per-source limits refused a reservation: per IP (IPv6 /64) or per network (IPv4 /16, IPv6 /32). */
export type ReservationLimitName = 'per-ip' | 'per-network'

/**
 * Why a UPnP port mapping was not made: `no-gateway` (no IGD answered the
 * SSDP search), `gateway-error` (the gateway did not tell its external
 * address), `double-nat` (its external address is private: a mapping would
 * not make the node reachable), `map-refused` (the gateway refused or failed
 * one mapping), `limit` (more listen ports than the mapping bound).
 */
export type UpnpFailureReason = 'no-gateway' | 'gateway-error' | 'double-nat' | 'map-refused' | 'limit'

/** RFC 4787 mapping behaviour as reported in the `nat` event (`none`: no NAT). */
export type NatMappingBehavior = 'none' | 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'endpoint-dependent' | 'unknown'
/** RFC 4787 filtering behaviour as reported in the `nat` event. */
export type NatFilteringBehavior = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown'

/** Payload of the `nat` event. */
export interface NatEventPayload {
  /** false: the observers saw this host's own address and port. Absent when unknown. */
  natted?: boolean
  publicAddress?: string
  mapping: NatMappingBehavior
  filtering: NatFilteringBehavior
  allocation: 'preserving' | 'sequential' | 'random' | 'unknown'
  /** With `sequential`: the step between consecutive new mappings' ports. */
  stride?: number
  hairpin?: boolean
  /** Bounds of the mapping lifetime in ms, when probed. */
  lifetime?: { minMs?: number, maxMs?: number }
  /** What an unsolicited inbound TCP SYN gets (TCP connect-back from another observer address). */
  inbound: 'drop' | 'reset' | 'reject' | 'open' | 'unknown'
  /** Every Binding transaction that opened a flow, in order: observer, local port, what it saw (absent: no answer). */
  observers: Array<{ server: string, localPort: number, mapped?: string }>
  /** One line per observation behind the verdicts. */
  evidence: string[]
  /** natkit-peer (discovery at start): how long the discovery took. */
  ms?: number
}

/** Event name → payload (without the common `ts`, `event`, `peerId` fields). */
export interface NatkitEventMap {
  /** The node's listen/announce addresses changed (first emitted at start). */
  listening: { addrs: string[] }
  'peer:connect': { remotePeer: string, remoteAddr: string, direction: Direction, limited: boolean }
  'peer:disconnect': { remotePeer: string, remoteAddr?: string }
  /** A relay reservation was made or renewed. `expires` is epoch milliseconds. */
  reservation: { relay: string, addrs: string[], expires: number }
  'reservation:failed': { relay: string, reason: string, retryInMs?: number }
  /**
   * Relay only: this relay granted (or renewed) a reservation: the reservation
   * store accepted it and the `OK` response reached the peer.
   */
  'relay:reservation': { peer: string, expires: number }
  /**
   * Relay only: this relay refused a reservation. `reason` is the HOP status it
   * sent (e.g. `RESERVATION_REFUSED` when `--max-reservations` are taken,
   * `PERMISSION_DENIED`), or why the `OK` response could not be sent; with
   * `limit` when `--max-reservations-per-ip` or `--max-reservations-per-network`
   * refused it (`reason` then also names the IP or network).
   */
  'relay:reservation:refused': { peer: string, reason: string, limit?: ReservationLimitName }
  /**
   * Relay only: a reservation was freed before its TTL: the peer that made it
   * stayed disconnected for `--reservation-grace`.
   */
  'relay:reservation:removed': { peer: string, reason: 'disconnected' }
  /**
   * Peer: a STOP stream (a relayed connection announced by a relay) from a peer
   * this node holds no reservation on was refused (reset); the node neither
   * reserves on nor advertises that relay. Reported at most once per 10 s per
   * relay; `alsoRefused` counts the refusals not reported since the last report.
   */
  'relay:stop:refused': { relay: string, reason: string, alsoRefused?: number }
  /**
   * Relay only (with `--bootstrap`): this relay's provider record under its
   * network's relay key (`cid`, the SHA-256 of `/natkit/relay/<network>`) was
   * published in the DHT (`servers`: the DHT servers that took it): at
   * start, periodically, and when a bootstrap node came back.
   */
  'relay:advertised': { cid: string, network: string, servers: number }
  /**
   * Peer without `--relay`: a DHT lookup for relays ended. `found` provider
   * records were read; `candidates` are the relays that answered a ping,
   * fastest first (at most the lookup's candidate bound); `error` when the
   * lookup itself failed.
   */
  'relay:discovery': { found: number, candidates: Array<{ relay: string, rttMs: number }>, ms: number, error?: string }
  /** Peer without `--relay`: a discovered relay was chosen for a reservation (`replaces`: the lost relay it takes the place of). */
  'relay:selected': { relay: string, rttMs?: number, replaces?: string }
  /** Peer without `--relay`: the reservation on a discovered relay was lost or could not be made; another relay is chosen. */
  'relay:lost': { relay: string, reason: string }
  /** Relay only: a circuit was established (the destination accepted the STOP and the source got `OK`). */
  'relay:circuit': { src: string, dst: string }
  /**
   * Relay only: an established circuit ended. `bytes` counts both directions,
   * `ms` runs from `relay:circuit`; `message` is the error of a `reset`.
   */
  'relay:circuit:closed': { src: string, dst: string, bytes: number, ms: number, reason: RelayCircuitCloseReason, message?: string }
  /** Result of checking one of this node's addresses (AutoNAT v2). */
  reachability: { addr: string, status: ReachabilityStatus, server?: string }
  'holepunch:attempt': { remotePeer: string, attempt: number, maxAttempts: number, addrs: string[], rttMs?: number, role: 'initiator' | 'responder' }
  /** `strategy`/`probes`: only when the punch probed for a hard NAT (port prediction, birthday probing; issue 13, docs/hard-nat.md). */
  'holepunch:success': { remotePeer: string, remoteAddr: string, ms: number, attempt: number, syncLateMs?: number, strategy?: 'dcutr' | 'predict' | 'birthday' | 'predict+birthday', probes?: number }
  'holepunch:failure': { remotePeer: string, reason: HolePunchFailureReason, message: string, attempts: number, ms: number, strategy?: 'dcutr' | 'predict' | 'birthday' | 'predict+birthday', probes?: number, final?: true }
  /**
   * Every attempt failed and the peer is still reached only through a relay:
   * another round of attempts follows in `delayMs` (backoff), or sooner when
   * our addresses change. `round` is 1-based, at most `maxRounds`.
   */
  'holepunch:retry': { remotePeer: string, round: number, maxRounds: number, delayMs: number, reason: HolePunchFailureReason }
  /**
   * A DCUtR stream was reset without dialling anything: it came on a
   * connection that is not a relayed connection we dialed. Reported at most
   * once per 10 s per peer; `alsoRefused` counts those not reported since.
   */
  'holepunch:refused': { remotePeer: string, reason: HolePunchRefusedReason, message: string, alsoRefused?: number }
  /**
   * A relayed connection is about to reach a limit the relay set
   * (circuit-relay-v2 `limit`): `duration` ends in `remainingMs`, or `data`
   * (`limitBytes` in each direction) will be used up; the relay then closes it.
   */
  'relayed:expiring': { remotePeer: string, remoteAddr: string, limit: 'duration' | 'data', remainingMs?: number, limitBytes?: number, message: string }
  /**
   * Peer with `--upnp`: the LAN's UPnP gateway (`host:port` of its control
   * URL) mapped the listen address `internal` to `external`, which is now
   * announced; `ms` since the node started.
   */
  'upnp:mapped': { internal: string, external: string, gateway: string, ms: number }
  /** Peer with `--upnp`: no mapping was made, and why; `retryInMs` when another gateway search follows. */
  'upnp:failed': { reason: UpnpFailureReason, message: string, retryInMs?: number }
  /** Ping result over a connection. */
  ping: { remotePeer: string, rttMs: number, limited: boolean, remoteAddr: string }
  /**
   * `natkit-peer dial`: the final outcome. `path` is the direct path that won
   * the race; `paths` says, one short phrase per path, how each one ended
   * (won, lost to the winner, failed and why, not tried and why).
   */
  'dial:result': { target: string, outcome: 'direct' | 'relayed' | 'failed', remoteAddr?: string, relayedRttMs?: number, directRttMs?: number, timeToRelayedMs?: number, timeToDirectMs?: number, reason?: string, path?: DirectPathName, paths?: Partial<Record<DirectPathName, string>> }
  /** Peer shell: a message arrived on a joined pub/sub topic (gossipsub, signature verified). `from` is the author's peer id. */
  'pubsub:message': { topic: string, from: string, text: string }
  /** Peer shell: a peer joined or left a topic this node has joined. */
  'pubsub:peer': { topic: string, peer: string, subscribed: boolean }
  /** Peer shell: a direct message from one peer (`send`). */
  message: { from: string, text: string }
  /** Peer shell: a file is shared (`share`): its CID (sha-256) and size. */
  'file:shared': { path: string, cid: string, bytes: number }
  /** Peer shell: download progress (`get`), bytes verified so far of `total`; the rate since the download started and the time left at that rate. */
  'file:progress': { cid: string, bytes: number, total: number, bytesPerSecond?: number, etaMs?: number }
  /** Peer shell: a download waits, e.g. for a direct connection because the relayed one is limited. */
  'file:waiting': { cid: string, peer?: string, message: string }
  /** Peer shell: a download finished and its hash was verified; `path` is where it is stored. */
  'file:received': { cid: string, path: string, bytes: number, from: string }
  /** Peer shell: a command's result, as lines for people and `data` for scripts. */
  'command:result': { command: string, lines: string[], data?: unknown }
  /** Peer shell: a command line was invalid or the command failed (one line). `command` is the first word ('' for none). */
  'command:error': { command: string, message: string }
  /**
   * `natkit-autonat nat`, and natkit-peer at start (with `--stun`): what the
   * NAT in front of this host does (RFC 4787 terms, RFC 5780 tests), with the
   * evidence per observer. See docs/events.md.
   */
  nat: NatEventPayload
  /** A human-facing informational message (startup lines, progress). */
  info: { message: string }
  warn: { message: string }
  error: { message: string }
}

export type NatkitEventName = keyof NatkitEventMap

/** One event as written to the JSON stream. */
export type NatkitEvent<E extends NatkitEventName = NatkitEventName> = {
  [K in E]: { ts: string, event: K, peerId: string } & NatkitEventMap[K]
}[E]

export type EventListener<E extends NatkitEventName> = (event: NatkitEvent<E>) => void

/** Default upper bound of listeners per event name. */
export const DEFAULT_MAX_LISTENERS = 64

/**
 * `NatkitEvents.waitFor` saw no matching event in time. Named `TimeoutError`
 * like libp2p's, without loading libp2p (this package stays light for
 * `--help`).
 */
export class EventTimeoutError extends Error {
  static override name = 'TimeoutError'
  override name = 'TimeoutError'
}

export class TooManyListenersError extends Error {
  static override name = 'TooManyListenersError'
  override name = 'TooManyListenersError'
}

/**
 * A small typed, synchronous event bus. Listener exceptions are caught and
 * reported once to stderr so one bad listener cannot break the role.
 */
export class NatkitEvents {
  #peerId: string
  readonly #listeners = new Map<string, Set<(e: NatkitEvent) => void>>()
  readonly #any = new Set<(e: NatkitEvent) => void>()
  readonly #maxListeners: number

  constructor (peerId: string = '', maxListeners: number = DEFAULT_MAX_LISTENERS) {
    this.#peerId = peerId
    this.#maxListeners = maxListeners
  }

  get peerId (): string { return this.#peerId }
  set peerId (id: string) { this.#peerId = id }

  emit<E extends NatkitEventName>(event: E, payload: NatkitEventMap[E]): NatkitEvent<E> {
    const full = { ts: new Date().toISOString(), event, peerId: this.#peerId, ...payload } as unknown as NatkitEvent<E>
    for (const fn of [...(this.#listeners.get(event) ?? []), ...this.#any]) {
      try {
        fn(full as NatkitEvent)
      } catch (err) {
        process.stderr.write(`natkit: event listener for ${event} threw: ${(err as Error).message}\n`)
      }
    }
    return full
  }

  on<E extends NatkitEventName>(event: E, fn: EventListener<E>): () => void {
    let set = this.#listeners.get(event)
    if (set == null) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    if (set.size >= this.#maxListeners) throw new TooManyListenersError(`more than ${this.#maxListeners} listeners for ${event}`)
    // stored under its event name, so it is only ever called with a NatkitEvent<E>
    const listener = fn as unknown as (e: NatkitEvent) => void
    set.add(listener)
    return () => { set.delete(listener) }
  }

  onAny (fn: (e: NatkitEvent) => void): () => void {
    if (this.#any.size >= this.#maxListeners) throw new TooManyListenersError(`more than ${this.#maxListeners} catch-all listeners`)
    this.#any.add(fn)
    return () => { this.#any.delete(fn) }
  }

  /**
   * Resolves with the first event of that name matching `predicate`, or rejects
   * with an {@link EventTimeoutError} after `timeoutMs` (or when `signal` aborts).
   */
  async waitFor<E extends NatkitEventName>(event: E, predicate: (e: NatkitEvent<E>) => boolean = () => true, timeoutMs = 30_000, signal?: AbortSignal): Promise<NatkitEvent<E>> {
    const { promise, resolve, reject } = Promise.withResolvers<NatkitEvent<E>>()
    const off = this.on(event, (e: NatkitEvent<E>) => { if (predicate(e)) resolve(e as NatkitEvent<E>) })
    const timer = setTimeout(() => { reject(new EventTimeoutError(`no ${event} event within ${timeoutMs} ms`)) }, timeoutMs)
    const onAbort = (): void => { reject(signal?.reason ?? new Error('aborted')) }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await promise
    } finally {
      off()
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }
}


export { formatHuman, formatJson, createPrinter, type PrinterOptions } from './print.js'
export { parseEventLine, parseEventStream, InvalidEventLineError } from './parse.js'
export { USER_ERROR, UserError, isUserError } from './user-error.js'
