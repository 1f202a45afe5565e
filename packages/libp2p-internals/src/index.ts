/**
 * INTERNALS: every place natkit reaches into js-libp2p beyond its public
 * API, in this package (this module, noise.ts, signals.ts). Written for, and
 * checked against:
 *
 * - libp2p {@link LIBP2P_VERIFIED_VERSION}
 * - @libp2p/circuit-relay-v2 {@link CIRCUIT_RELAY_VERIFIED_VERSION}
 * - @libp2p/noise {@link NOISE_VERIFIED_VERSION} (noise.ts)
 *
 * `internals.test.ts` (and noise.test.ts, signals.test.ts) is the canary: it fails with a message naming the
 * internal that moved when an upgrade changes one of them. The relay server
 * methods @natkit/node's `relay-observer.ts` wraps are checked by
 * `assertRelayServerInternals` there (same version) and its own canary test.
 *
 * A package of its own (no natkit dependencies) so that every natkit package,
 * @natkit/holepunch included, reaches libp2p internals only through here.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { AbortOptions, Connection, PeerId, Libp2p, Stream, StreamMuxer, Upgrader, UpgraderOptions } from '@libp2p/interface'
import type { TransportManager, TransportManagerDialOptions } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Libp2pInternalsChangedError } from './errors.js'
import { CIRCUIT_RELAY_VERIFIED_VERSION, LIBP2P_VERIFIED_VERSION } from './versions.js'

export { Libp2pInternalsChangedError, CIRCUIT_RELAY_VERIFIED_VERSION, LIBP2P_VERIFIED_VERSION }
export { indexAbortListeners, indexRelayShutdownListeners } from './signals.js'
export { natkitNoise, reuseX25519KeyObjects, decodeFramesWithoutThrowing, replaceFrameDecoder, NOISE_VERIFIED_VERSION, type NoiseComponents } from './noise.js'


/** The `Symbol.toStringTag` of @libp2p/circuit-relay-v2's transport. */
export const CIRCUIT_TRANSPORT_TAG = '@libp2p/circuit-relay-v2-transport'


/** The node has no circuit relay transport (a composition mistake). */
export class CircuitTransportMissingError extends Error {
  static override name = 'CircuitTransportMissingError'
  override name = 'CircuitTransportMissingError'
}

/**
 * The private `reservationStore` of @libp2p/circuit-relay-v2's transport
 * (`dist/src/transport/reservation-store.js`): it owns reservation refreshes,
 * so natkit's reservation keeper drives it.
 */
export interface ReservationStoreLike extends EventTarget {
  addRelay(peerId: PeerId, type: 'configured'): Promise<{ relay: PeerId, details: { reservation: { expire: bigint, addrs: Uint8Array[] } } }>
  hasReservation(peerId: PeerId): boolean
  getReservation(peerId: PeerId): { expire: bigint } | undefined
}

/** What a transport may carry: its tag and (circuit relay transport only) its private reservation store. */
interface TaggedTransport {
  [Symbol.toStringTag]?: string
  reservationStore?: Partial<ReservationStoreLike>
}

/** The `Symbol.toStringTag` of each transport in `transportManager` (public on every js-libp2p transport, but not in the `Transport` type). */
export function transportTags (transportManager: Pick<TransportManager, 'getTransports'>): string[] {
  return transportManager.getTransports().map(t => (t as TaggedTransport)[Symbol.toStringTag] ?? '')
}

/**
 * The circuit relay transport's reservation store.
 *
 * @throws {CircuitTransportMissingError} no circuit relay transport in this node
 * @throws {Libp2pInternalsChangedError} the transport has no store with the methods natkit uses
 */
export function circuitReservationStore (transportManager: Pick<TransportManager, 'getTransports'>): ReservationStoreLike {
  const transport = transportManager.getTransports().find(t => (t as TaggedTransport)[Symbol.toStringTag] === CIRCUIT_TRANSPORT_TAG) as TaggedTransport | undefined
  if (transport == null) throw new CircuitTransportMissingError('the circuit relay transport is not in this node\'s transports')
  const store = transport.reservationStore
  const missing = (['addRelay', 'hasReservation', 'getReservation', 'addEventListener'] as const).filter(m => typeof store?.[m] !== 'function')
  if (missing.length > 0) {
    throw new Libp2pInternalsChangedError(`the circuit relay transport's reservationStore has no ${missing.join(', ')} (internals.ts was written for @libp2p/circuit-relay-v2 ${CIRCUIT_RELAY_VERIFIED_VERSION})`)
  }
  return store as ReservationStoreLike
}

/** The components of a node that {@link nodeComponents} returns. */
export interface NodeComponents {
  transportManager: TransportManager
  upgrader: Upgrader
}

/**
 * A started node's components (libp2p keeps them on the private `components`
 * field). For tests and tools that inspect a node built with `createLibp2p`;
 * a service gets its components from libp2p instead.
 *
 * @throws {Libp2pInternalsChangedError} the node has no such components
 */
export function nodeComponents (node: Libp2p): NodeComponents {
  const components = (node as any).components as Partial<NodeComponents> | undefined
  const missing = (['transportManager', 'upgrader'] as const).filter(c => components?.[c] == null)
  if (components == null || missing.length > 0) throw new Libp2pInternalsChangedError(`libp2p node has no components.${missing.join(', components.')} (internals.ts was written for libp2p ${LIBP2P_VERIFIED_VERSION})`)
  return { transportManager: components.transportManager as TransportManager, upgrader: components.upgrader as Upgrader }
}

/**
 * Dial `addr` as the multistream-select/noise *responder* on an outbound
 * socket (TCP simultaneous open: both sides of a hole punch dial, one must
 * respond). libp2p {@link LIBP2P_VERIFIED_VERSION}'s dial queue drops
 * `initiator` (`DialQueue.dial` keeps only peerId, priority, multiaddrs,
 * signal and onProgress; docs/upstream.md §1), so this goes to the transport
 * manager directly, which passes its options on to `transport.dial` and
 * `upgrader.upgradeOutbound` (`UpgraderOptions.initiator`). The connection is
 * registered by the upgrader as usual but bypasses the connection manager's
 * limits and deduplication.
 */
export async function dialAsResponder (transportManager: Pick<TransportManager, 'dial'>, addr: Multiaddr, options: TransportManagerDialOptions = {}): Promise<Connection> {
  // not in TransportManagerDialOptions' type, but passed through to the upgrader
  const responder: TransportManagerDialOptions & Pick<UpgraderOptions, 'initiator'> = { ...options, initiator: false }
  return transportManager.dial(addr, responder)
}

/**
 * Opens a stream on `connection`'s muxer *without* negotiating a protocol, so
 * that the caller can send multistream-select's header, its protocol and its
 * first message in one write (go-libp2p's lazy negotiation; js-libp2p
 * {@link LIBP2P_VERIFIED_VERSION}'s `newStream` always waits a round trip for
 * the protocol, and its `negotiateFully: false` option is not implemented).
 * libp2p keeps the muxer on the private `muxer` field of its `Connection`
 * (`dist/src/connection.js`). The stream bypasses `newStream`'s limited-
 * connection check, per-protocol outbound stream limits and middleware: the
 * caller bounds its own streams.
 *
 * @throws {Libp2pInternalsChangedError} the connection has no muxer with `createStream`
 */
export async function openUnnegotiatedStream (connection: Connection, options: AbortOptions = {}): Promise<Stream> {
  const muxer = (connection as unknown as { muxer?: Partial<StreamMuxer> }).muxer
  if (typeof muxer?.createStream !== 'function') {
    throw new Libp2pInternalsChangedError(`the connection has no muxer.createStream (internals.ts was written for libp2p ${LIBP2P_VERIFIED_VERSION})`)
  }
  return await muxer.createStream(options)
}

/**
 * Dial `addr` as the multistream-select/noise initiator from an ephemeral
 * local port: `reusePort: false` reaches `@natkit/tcp-reuse`'s `dial` through
 * the transport manager (which passes its options on; the dial queue would
 * drop them), so the dial does not use, or collide with a dial from, the
 * listen port. Other transports ignore it. Registered by the upgrader as
 * usual, bypassing the connection manager's limits and deduplication.
 */
export async function dialFromEphemeralPort (transportManager: Pick<TransportManager, 'dial'>, addr: Multiaddr, options: TransportManagerDialOptions = {}): Promise<Connection> {
  const ephemeral: TransportManagerDialOptions & { reusePort: false } = { ...options, reusePort: false }
  return transportManager.dial(addr, ephemeral)
}

/**
 * Dial `addr` through the transport manager (its options reach the transport;
 * the dial queue would drop them) with `optimisticSelect: protocol`, which
 * `@natkit/tcp-reuse` reads: the upgrader's multistream-select of that
 * security protocol then costs no round trip. Only for a protocol the remote
 * is known to speak (a remote that refuses it fails the connection). Other
 * transports ignore it. Registered by the upgrader as usual, bypassing the
 * connection manager's limits and deduplication.
 */
export async function dialWithOptimisticSelect (transportManager: Pick<TransportManager, 'dial'>, addr: Multiaddr, protocol: string, options: TransportManagerDialOptions = {}): Promise<Connection> {
  const optimistic: TransportManagerDialOptions & { optimisticSelect: string } = { ...options, optimisticSelect: protocol }
  return transportManager.dial(addr, optimistic)
}

/** The version of an installed package (exports maps hide package.json: walk up from its entry point). */
export function installedVersion (name: string): string {
  let dir = dirname(createRequire(import.meta.url).resolve(name))
  const last = name.split('/').pop() ?? name
  while (!dir.endsWith(last) && dirname(dir) !== dir) dir = dirname(dir)
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
}

/** What {@link linearConnectionListing} uses of libp2p's connection manager (`dist/src/connection-manager/index.js`). */
interface ConnectionManagerLike {
  getConnections(peerId?: PeerId): Connection[]
  getConnectionsMap(): ConnectionsMapLike
  getMaxConnections(): number
  acceptIncomingConnection(maConn: unknown): boolean
  connectionPruner?: { _maybePruneConnections?: () => Promise<void> }
}

/** The connection manager's PeerMap of each peer's connections. */
interface ConnectionsMapLike {
  entries(): Iterable<[PeerId, Connection[]]>
  values(): Iterable<Connection[]>
  get(peerId: PeerId): Connection[] | undefined
  set(peerId: PeerId, conns: Connection[]): unknown
  delete(peerId: PeerId): unknown
  clear(): void
}

/** Marks a connection manager whose listing {@link linearConnectionListing} replaced. */
const LINEAR_LISTING = Symbol.for('natkit.linearConnectionListing')

/**
 * libp2p {@link LIBP2P_VERIFIED_VERSION}'s `ConnectionManager.getConnections()`
 * without a peer id builds its answer with `conns = conns.concat(peerConns)`
 * per peer: a fresh array per peer, O(n²) element copies per call at n
 * connections (0.6 ms at 1,000 connections, 55 ms at 10,000), and libp2p calls
 * it at least twice per inbound connection (`acceptIncomingConnection`'s
 * `maxConnections` check and the pruner on `connection:open`), plus once per
 * connection-monitor round and identify push. This fixes both, on this node's
 * connection manager only (docs/upstream.md §10; idempotent):
 *
 * - the listing is a flat list of the same connections (same order), built on
 *   demand after a change of the manager's map and copied per call (callers
 *   sort it in place); `getConnections(peerId)` is unchanged;
 * - the two per-connection checks only compare the number of connections with
 *   `maxConnections`, so they get that number, kept from the map's changes in
 *   O(1), and build no list: inside `acceptIncomingConnection` (synchronous;
 *   it reads only `.length` of the listing) the listing is a length-only view,
 *   and the pruner returns early while the count is within `maxConnections`
 *   (over it, libp2p's pruner runs unchanged).
 *
 * The map changes through its `set`, `delete` and `clear` (wrapped), and libp2p
 * also pushes onto a peer's array it got with `get` (in `onConnect` before
 * `set`, and in `openConnection` without one): each array handed out or stored
 * is re-measured at the next count, so such a push is counted too.
 *
 * @throws {Libp2pInternalsChangedError} the node has no connection manager with getConnections, getConnectionsMap, getMaxConnections, acceptIncomingConnection and a pruner
 */
export function linearConnectionListing (node: Libp2p): void {
  const cm = (node as any).components?.connectionManager as Partial<ConnectionManagerLike> & { [LINEAR_LISTING]?: true } | undefined
  if (typeof cm?.getConnections !== 'function' || typeof cm.getConnectionsMap !== 'function' || typeof cm.getMaxConnections !== 'function' || typeof cm.acceptIncomingConnection !== 'function') {
    throw new Libp2pInternalsChangedError(`libp2p node has no components.connectionManager with getConnections, getConnectionsMap, getMaxConnections and acceptIncomingConnection (internals.ts was written for libp2p ${LIBP2P_VERIFIED_VERSION})`)
  }
  if (cm[LINEAR_LISTING] === true) return
  const pruner = cm.connectionPruner
  const prune = pruner?._maybePruneConnections
  if (pruner == null || typeof prune !== 'function') {
    throw new Libp2pInternalsChangedError(`libp2p's connection manager has no connectionPruner._maybePruneConnections (internals.ts was written for libp2p ${LIBP2P_VERIFIED_VERSION})`)
  }
  const map = cm.getConnectionsMap()
  if (typeof map?.set !== 'function' || typeof map.get !== 'function' || typeof map.delete !== 'function' || typeof map.clear !== 'function' || typeof map.values !== 'function' || typeof map.entries !== 'function') {
    throw new Libp2pInternalsChangedError(`libp2p's connection manager map has no get, set, delete, clear, values and entries (internals.ts was written for libp2p ${LIBP2P_VERIFIED_VERSION})`)
  }
  let flat: Connection[] | undefined
  // the number of connections as of the last measure of each peer's array, and the arrays to measure again
  let count = 0
  const measured = new Map<string, number>()
  const watched = new Map<string, Connection[]>()
  const watch = (peerId: PeerId, conns: Connection[] | undefined): void => {
    flat = undefined
    if (conns != null) watched.set(peerId.toString(), conns)
  }
  const connectionCount = (): number => {
    for (const [key, conns] of watched) {
      count += conns.length - (measured.get(key) ?? 0)
      measured.set(key, conns.length)
    }
    watched.clear()
    return count
  }
  for (const [peerId, conns] of map.entries()) watch(peerId, conns)
  const get = map.get.bind(map)
  const set = map.set.bind(map)
  const del = map.delete.bind(map)
  const clear = map.clear.bind(map)
  map.get = (peerId) => { const conns = get(peerId); watch(peerId, conns); return conns }
  map.set = (peerId, conns) => { watch(peerId, conns); return set(peerId, conns) }
  map.delete = (peerId) => {
    flat = undefined
    const key = peerId.toString()
    watched.delete(key)
    count -= measured.get(key) ?? 0
    measured.delete(key)
    return del(peerId)
  }
  map.clear = () => { flat = undefined; count = 0; measured.clear(); watched.clear(); clear() }
  const byPeer = cm.getConnections.bind(cm)
  let lengthOnly = false
  cm.getConnections = (peerId?: PeerId): Connection[] => {
    if (peerId != null) return byPeer(peerId)
    // acceptIncomingConnection reads only the length
    if (lengthOnly) return { length: connectionCount() } as unknown as Connection[]
    if (flat == null) {
      flat = []
      for (const conns of map.values()) for (const c of conns) flat.push(c)
    }
    return flat.slice()
  }
  const accept = cm.acceptIncomingConnection.bind(cm)
  cm.acceptIncomingConnection = (maConn) => {
    lengthOnly = true
    try {
      return accept(maConn)
    } finally {
      lengthOnly = false
    }
  }
  const maxConnections = cm.getMaxConnections.bind(cm)
  const prunerPrune = prune.bind(pruner)
  pruner._maybePruneConnections = async () => {
    if (connectionCount() <= maxConnections()) return
    await prunerPrune()
  }
  cm[LINEAR_LISTING] = true
}

/**
 * The ping interval of a node's connection monitor (libp2p's private
 * `components.connectionMonitor`, `pingIntervalMs`), or `undefined` when the
 * node runs none (`connectionMonitor: { enabled: false }`). For tests proving
 * the option reaches libp2p.
 */
export function connectionMonitorInterval (node: Libp2p): number | undefined {
  const components = (node as any).components as { connectionMonitor?: { pingIntervalMs?: unknown } } | undefined
  if (components == null) throw new Libp2pInternalsChangedError(`libp2p node has no components (internals.ts was written for libp2p ${LIBP2P_VERIFIED_VERSION})`)
  let monitor
  try {
    monitor = components.connectionMonitor
  } catch (err) {
    // libp2p's components proxy throws MissingServiceError for a component that was not configured
    if ((err as Error).name === 'MissingServiceError') return undefined
    throw err
  }
  if (monitor == null) return undefined
  if (typeof monitor.pingIntervalMs !== 'number') throw new Libp2pInternalsChangedError(`libp2p's connection monitor has no pingIntervalMs (internals.ts was written for libp2p ${LIBP2P_VERIFIED_VERSION})`)
  return monitor.pingIntervalMs
}

/** What {@link exemptRelayedFromInboundRateLimit} uses of libp2p's connection manager. */
interface InboundAdmissionLike {
  acceptIncomingConnection(maConn: { remoteAddr: Multiaddr }): boolean
  inboundConnectionRateLimiter?: { consume?: (key: string, points?: number) => unknown }
}

/** Marks a connection manager whose admission {@link exemptRelayedFromInboundRateLimit} wrapped. */
const RELAYED_EXEMPT = Symbol.for('natkit.relayedExemptFromInboundRateLimit')

/**
 * libp2p {@link LIBP2P_VERIFIED_VERSION}'s `acceptIncomingConnection` charges
 * every inbound connection to a per-host rate limiter
 * (`inboundConnectionThreshold`, 5 per second) keyed by the first IP of its
 * remote address, and a relayed connection's remote address starts with the
 * *relay's* IP (`/ip4/<relay>/tcp/…/p2p/<relay>/p2p-circuit/p2p/<source>`): a
 * peer accepted at most 5 relayed connections per second per relay (all
 * others were refused after the relay had already opened the circuit: the
 * sources saw reset streams, EOFs and "Cannot write to a stream that is
 * closed"), and relayed connections used up the relay host's budget for direct
 * ones. This wraps the node's `acceptIncomingConnection` so that a relayed
 * connection skips only that rate limiter (the relay already limits circuits
 * per peer; the pending-connection and `maxConnections` checks still apply).
 * docs/upstream.md §10. Idempotent.
 *
 * @throws {Libp2pInternalsChangedError} the connection manager has no acceptIncomingConnection or inboundConnectionRateLimiter.consume
 */
export function exemptRelayedFromInboundRateLimit (node: Libp2p): void {
  const cm = (node as any).components?.connectionManager as Partial<InboundAdmissionLike> & { [RELAYED_EXEMPT]?: true } | undefined
  const limiter = cm?.inboundConnectionRateLimiter
  if (typeof cm?.acceptIncomingConnection !== 'function' || typeof limiter?.consume !== 'function') {
    throw new Libp2pInternalsChangedError(`libp2p node has no components.connectionManager with acceptIncomingConnection and inboundConnectionRateLimiter.consume (internals.ts was written for libp2p ${LIBP2P_VERIFIED_VERSION})`)
  }
  if (cm[RELAYED_EXEMPT] === true) return
  const accept = cm.acceptIncomingConnection.bind(cm)
  const consume = limiter.consume
  cm.acceptIncomingConnection = (maConn) => {
    if (!maConn.remoteAddr.toString().includes('/p2p-circuit')) return accept(maConn)
    // the limiter is consulted synchronously inside acceptIncomingConnection: skip it for this call only
    limiter.consume = () => undefined
    try {
      return accept(maConn)
    } finally {
      limiter.consume = consume
    }
  }
  cm[RELAYED_EXEMPT] = true
}

/** What {@link coalesceSocketWrites} uses of a TCP multiaddr connection (@libp2p/tcp's and tcp-reuse's `socket-to-conn`). */
interface SocketConnectionLike {
  socket?: { cork?: () => void, uncork?: () => void, destroyed?: boolean }
  sendData?: (data: unknown) => unknown
}

/** What {@link coalesceSocketWrites} wraps of libp2p's upgrader. */
interface UpgraderLike {
  upgradeInbound(maConn: SocketConnectionLike, opts: unknown): Promise<unknown>
  upgradeOutbound(maConn: SocketConnectionLike, opts: unknown): Promise<Connection>
}

/** Marks an upgrader whose connections {@link coalesceSocketWrites} corks. */
const COALESCED = Symbol.for('natkit.coalesceSocketWrites')

/**
 * js-libp2p writes to a TCP socket once per buffer of every noise frame: the
 * encrypted stream hands the TCP connection a list of the 2-byte length and
 * the ciphertext (`@libp2p/noise` `EncryptedMessageStream.encrypt`), and
 * @libp2p/tcp's `sendData` calls `socket.write` for each, so every yamux frame
 * costs two or more `write(2)`s (`writeBuffer` was 13.6 % of a relay's samples
 * at 10,000 reservations). This corks the socket of every TCP connection this
 * node upgrades (inbound and outbound, @libp2p/tcp's and tcp-reuse's: both
 * keep the net.Socket as `socket`) from its first write in a tick to the next
 * tick, so what libp2p sends in one tick leaves in one `writev`. Backpressure
 * is unchanged (`socket.write` still answers from the buffered length, and
 * 'drain' follows the flush). Connections of other transports (circuit, WebRTC,
 * WebSockets) are left as they are. docs/upstream.md §10. Idempotent.
 *
 * @throws {Libp2pInternalsChangedError} the node has no upgrader with upgradeInbound and upgradeOutbound
 */
export function coalesceSocketWrites (node: Libp2p): void {
  const upgrader = (node as any).components?.upgrader as Partial<UpgraderLike> & { [COALESCED]?: true } | undefined
  if (typeof upgrader?.upgradeInbound !== 'function' || typeof upgrader.upgradeOutbound !== 'function') {
    throw new Libp2pInternalsChangedError(`libp2p node has no components.upgrader with upgradeInbound and upgradeOutbound (internals.ts was written for libp2p ${LIBP2P_VERIFIED_VERSION})`)
  }
  if (upgrader[COALESCED] === true) return
  const inbound = upgrader.upgradeInbound.bind(upgrader)
  const outbound = upgrader.upgradeOutbound.bind(upgrader)
  upgrader.upgradeInbound = async (maConn, opts) => { corkPerTick(maConn); return await inbound(maConn, opts) }
  upgrader.upgradeOutbound = async (maConn, opts) => { corkPerTick(maConn); return await outbound(maConn, opts) }
  upgrader[COALESCED] = true
}

/** Corks a TCP connection's socket from the first `sendData` in a tick until the next tick; other connections are left alone. */
function corkPerTick (maConn: SocketConnectionLike): void {
  const socket = maConn.socket
  const send = maConn.sendData
  if (typeof send !== 'function' || typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function') return
  const uncork = (): void => { corked = false; socket.uncork?.() }
  let corked = false
  maConn.sendData = function (this: unknown, data: unknown) {
    if (!corked && socket.destroyed !== true) {
      corked = true
      socket.cork?.()
      process.nextTick(uncork)
    }
    return send.call(this, data)
  }
}
