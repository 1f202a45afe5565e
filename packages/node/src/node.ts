import { yamux } from '@libp2p/yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { identityFromSeed, loadOrCreateIdentity } from '@natkit/identity'
import { lazyComponentLogger } from './logger.js'
import { coalesceSocketWrites, exemptRelayedFromInboundRateLimit, linearConnectionListing, natkitNoise } from '@natkit/libp2p-internals'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { checkListenAddrs, toListenAddressError } from './listen.js'
import { observeNode } from './observe.js'
import { inboundAdmission, inboundAdmissionInit } from './admission.js'
import type { CommonOptions, Role } from '@natkit/config'
import type { NatkitEvents } from '@natkit/events'
import type { Libp2p, PrivateKey, ServiceMap } from '@libp2p/interface'

/** The libp2p identify agent string every natkit node announces. */
export const NATKIT_VERSION = '0.1.0'
export const NATKIT_AGENT = `natkit/${NATKIT_VERSION}`

/**
 * Delay (ms) between start and the bootstrap peers being reported (and so
 * dialled): @libp2p/bootstrap's `timeout`, 1000 there; none here.
 *
 * @default 0
 */
export const BOOTSTRAP_DISCOVERY_DELAY = 0

/** The services every natkit node runs, whatever its role. */
export type BaseServices = {
  identify: ReturnType<ReturnType<typeof identify>>
  identifyPush: ReturnType<ReturnType<typeof identifyPush>>
  ping: ReturnType<ReturnType<typeof ping>>
}

/** The components libp2p hands to a service factory (libp2p does not export the type). */
export type Libp2pComponents = Parameters<NonNullable<Libp2pOptions['transports']>[number]>[0]

/** A role's service factories: each gets libp2p's components, the base services and the role's other services. */
export type NatkitServiceFactories<S extends ServiceMap> = { [K in keyof S]: (components: Libp2pComponents & BaseServices & S) => S[K] }

/** The node `createNatkitNode` returns for a role whose own services are `S`. */
export type NatkitNode<S extends ServiceMap = ServiceMap> = Libp2p<BaseServices & S>

const str = (xs: ReadonlyArray<unknown> | undefined): string[] => (xs ?? []).map(x => String(x))

/** The options of the common base (every role has them). */
export type NatkitBaseOptions = Pick<CommonOptions, 'listen' | 'announce' | 'bootstrap' | 'maxConnections' | 'dialTimeout' | 'metrics' | 'maxPendingInbound' | 'maxPendingInboundPerIp' | 'handshakeTimeout'>

export interface NatkitNodeInit<S extends ServiceMap> {
  options: NatkitBaseOptions
  privateKey: PrivateKey
  /** The role's transports (the base adds none). */
  transports: NonNullable<Libp2pOptions['transports']>
  /** The role's services, added to identify, identifyPush and ping. */
  services?: NatkitServiceFactories<S>
  connectionGater?: Libp2pOptions['connectionGater']
  /** Listen addresses, when the role adds some to `options.listen`. @default options.listen */
  listen?: string[]
  /**
   * At least this long (ms) an inbound connection may take to upgrade
   * (libp2p's `inboundUpgradeTimeout`; for WebRTC this is the whole signalling
   * and ICE exchange the remote started). Raises `--handshake-timeout`, never
   * lowers it.
   *
   * @default `--handshake-timeout` alone
   */
  inboundUpgradeTimeout?: number
  /**
   * How often libp2p's connection monitor pings every connection (aborting
   * those whose ping fails), in ms; 0 = no monitor (the relay's default: see
   * `DEFAULT_RELAY_CONNECTION_PING_INTERVAL`).
   *
   * @default libp2p's (10 s)
   */
  connectionPingInterval?: number
  /**
   * Run identify on every inbound connection (libp2p runs it on every
   * connection it opens or accepts). `false` identifies only the remotes this
   * node dialled: a relay learns nothing it uses from the thousands of peers
   * that reserve on it (their protocols, listen addresses and agent would fill
   * its peer store), and each identify costs it a stream, a protobuf exchange
   * and a peer store merge per reservation (the relay passes `false`).
   * Remotes still identify this node, so they learn their observed address.
   *
   * @default true
   */
  identifyInbound?: boolean
}

/**
 * Outbound ping streams at once per connection: libp2p's connection monitor
 * pings every connection, and natkit pings specific ones beside it
 * (`pingConnection` in `dial`, a direct path's confirmation). @libp2p/ping's
 * own default, 1, made the second one fail with "Too many outbound protocol
 * streams" whenever the monitor's ping of a new connection came first.
 *
 * @default 4
 */
export const DEFAULT_PING_MAX_OUTBOUND_STREAMS = 4

/**
 * Inbound ping streams at once per connection: a natkit remote opens up to
 * DEFAULT_PING_MAX_OUTBOUND_STREAMS of them (@libp2p/ping's default is 2).
 *
 * @default 4
 */
export const DEFAULT_PING_MAX_INBOUND_STREAMS = 4

/** libp2p's `connectionMonitor` init for {@link NatkitNodeInit.connectionPingInterval}. */
export function connectionMonitorInit (interval: number | undefined): Libp2pOptions['connectionMonitor'] {
  if (interval == null) return undefined
  return interval === 0 ? { enabled: false } : { pingInterval: interval }
}

/** `limits` with `inboundUpgradeTimeout` raised to at least `atLeast` (ms), if given. */
function withUpgradeTimeout (limits: ConnectionManagerLimits, atLeast: number | undefined): ConnectionManagerLimits {
  return atLeast == null ? limits : { ...limits, inboundUpgradeTimeout: Math.max(limits.inboundUpgradeTimeout, atLeast) }
}

/** The connection manager limits the base takes from the common options. */
export interface ConnectionManagerLimits {
  maxConnections: number
  dialTimeout: number
  /** `--max-pending-inbound` */
  maxIncomingPendingConnections: number
  /** `--handshake-timeout` */
  inboundUpgradeTimeout: number
}

/** The connection manager limits the base takes from the common options (a test of a role proves they arrive). */
export function connectionManagerInit (options: Pick<CommonOptions, 'maxConnections' | 'dialTimeout' | 'maxPendingInbound' | 'handshakeTimeout'>): ConnectionManagerLimits {
  return {
    maxConnections: options.maxConnections,
    dialTimeout: options.dialTimeout,
    maxIncomingPendingConnections: options.maxPendingInbound,
    inboundUpgradeTimeout: options.handshakeTimeout
  }
}

/**
 * The common base of every natkit node: the given identity, noise, yamux,
 * identify, identify push, ping, bootstrap discovery from `--bootstrap`,
 * prometheus metrics with `--metrics`, connection limits and inbound
 * admission (pending-handshake limits, see admission.ts). The role adds its
 * transports, services and gater. The node is created but not started.
 */
export async function createNatkitNode<S extends ServiceMap> (init: NatkitNodeInit<S>): Promise<NatkitNode<S>> {
  const o = init.options
  const bootstrapList = str(o.bootstrap)
  const node = await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    // libp2p's default logger builds debug instances per connection and stream even with DEBUG off
    logger: lazyComponentLogger(),
    nodeInfo: { name: 'natkit', version: NATKIT_VERSION, userAgent: NATKIT_AGENT },
    addresses: { listen: init.listen ?? str(o.listen), announce: str(o.announce) },
    transports: init.transports,
    // noise, with its X25519 key objects reused and no exception per received frame (docs/upstream.md §11)
    connectionEncrypters: [natkitNoise()],
    streamMuxers: [yamux()],
    connectionGater: inboundAdmission(init.connectionGater ?? {}, inboundAdmissionInit(o)),
    // a role that accepts WebRTC raises the upgrade timeout to its acceptance window (signalling and ICE)
    connectionManager: withUpgradeTimeout(connectionManagerInit(o), init.inboundUpgradeTimeout),
    connectionMonitor: connectionMonitorInit(init.connectionPingInterval),
    // optional services are loaded only when used (a role without --metrics never loads prom-client)
    peerDiscovery: bootstrapList.length > 0 ? [await bootstrapDiscovery(bootstrapList)] : [],
    metrics: o.metrics != null ? (await import('@libp2p/prometheus-metrics')).prometheusMetrics({ collectDefaultMetrics: true }) : undefined,
    services: {
      identify: identify({ runOnConnectionOpen: init.identifyInbound !== false }),
      identifyPush: identifyPush(),
      ping: ping({ maxOutboundStreams: DEFAULT_PING_MAX_OUTBOUND_STREAMS, maxInboundStreams: DEFAULT_PING_MAX_INBOUND_STREAMS }),
      ...init.services
    }
  }) as NatkitNode<S>
  // libp2p's getConnections() is quadratic in the connections held (docs/upstream.md §10)
  linearConnectionListing(node)
  // libp2p rate-limits relayed connections by the relay's IP (5/s per relay; docs/upstream.md §10)
  exemptRelayedFromInboundRateLimit(node)
  // libp2p writes to a TCP socket once per buffer of every noise frame (docs/upstream.md §10)
  coalesceSocketWrites(node)
  if (init.identifyInbound === false) {
    // identify only the remotes this node dialled (what identify's runOnConnectionOpen does for every connection)
    node.addEventListener('connection:open', (evt) => {
      if (evt.detail.direction === 'outbound') node.services.identify.identify(evt.detail).catch(() => {})
    })
  }
  return node
}

/** natkit's metrics modules (prom-client), loaded with `--metrics` only. */
async function loadMetrics (): Promise<typeof import('./metrics.js') & typeof import('./holepunch-metrics.js')> {
  const [m, h] = await Promise.all([import('./metrics.js'), import('./holepunch-metrics.js')])
  return { ...m, ...h }
}

/**
 * Bootstrap discovery of `list`, with no wait: @libp2p/bootstrap waits
 * `timeout` ms (1 s by default) after start before it reports the bootstrap
 * peers (and the node dials them), so the first DHT lookup of a short-lived
 * `natkit-peer dial` idled ~1 s. With {@link BOOTSTRAP_DISCOVERY_DELAY} they are
 * reported (and dialled) right after start.
 */
async function bootstrapDiscovery (list: string[]): Promise<NonNullable<Libp2pOptions['peerDiscovery']>[number]> {
  const { bootstrap } = await import('@libp2p/bootstrap')
  return bootstrap({ list, timeout: BOOTSTRAP_DISCOVERY_DELAY })
}

/**
 * The private key of `--seed` (tests), `--identity` (loaded or created, 0600)
 * or a new ephemeral one, with a note saying which.
 */
export async function loadIdentity (options: Pick<CommonOptions, 'seed' | 'identity'>): Promise<{ key: PrivateKey, note: string }> {
  if (options.seed != null) return { key: await identityFromSeed(options.seed), note: 'identity derived from --seed (test only)' }
  if (options.identity != null) {
    const { privateKey, created } = await loadOrCreateIdentity(options.identity)
    return { key: privateKey, note: `${created ? 'created new' : 'loaded'} identity ${options.identity}` }
  }
  return { key: await generateKeyPair('Ed25519'), note: 'no --identity given: using an ephemeral identity (the peer id changes on restart)' }
}

/** A started natkit node and what runs beside it; `stop` undoes everything, in reverse order. */
export interface RunningNode {
  /** Adds work to undo on stop (run before the node stops, last added first). */
  onStop(cleanup: () => void | Promise<void>): void
  stop(): Promise<void>
}

/**
 * Lifecycle of the common base: translates libp2p events into natkit events
 * (`observeNode`), counts them into the metrics registry, starts the node and
 * the `--metrics` server. Emits `starting <role> …` first. Bad listen
 * addresses fail with a one-line `ListenAddressError` (see `checkListenAddrs`).
 */
export async function startNatkitNode<S extends ServiceMap> (node: Libp2p<S>, init: { role: Role, options: Pick<CommonOptions, 'network' | 'metrics'> & Partial<Pick<CommonOptions, 'listen'>>, events: NatkitEvents }): Promise<RunningNode> {
  const { events, options: o } = init
  const cleanups: Array<() => void | Promise<void>> = []
  let stopped = false
  const running: RunningNode = {
    onStop: (cleanup) => { cleanups.push(cleanup) },
    stop: async () => {
      if (stopped) return
      stopped = true
      for (const c of cleanups.reverse()) await c()
      await node.stop()
    }
  }
  events.emit('info', { message: `starting ${init.role} ${node.peerId.toString()} (network preset ${o.network})` })
  try {
    const observer = observeNode(node, events)
    cleanups.push(observer.off)
    // the counters are read only through the --metrics server
    const metrics = o.metrics != null ? await loadMetrics() : undefined
    if (metrics != null) {
      cleanups.push(metrics.registerRoleCounters(events))
      const holepunch = (node.services as Record<string, unknown>).holepunch
      if (holepunch instanceof EventTarget) cleanups.push(metrics.registerGoHolePunchMetrics(holepunch))
    }
    // a bad listen address: one line naming it and the cause, before anything binds
    if (o.listen != null) await checkListenAddrs(node, o.listen, init.role)
    try {
      await node.start()
    } catch (err) {
      throw toListenAddressError(err)
    }
    // every listener is bound now: the first `listening` event
    observer.refresh()
    if (o.metrics != null && metrics != null) {
      const m = await metrics.startMetricsServer(o.metrics.host, o.metrics.port)
      cleanups.push(m.close)
      events.emit('info', { message: `metrics on ${m.url}` })
    }
  } catch (err) {
    await running.stop()
    throw err
  }
  return running
}

/** A natkit node with its identity loaded, ready to start: what a role's `create…` returns and `runRole` runs. */
export interface NatkitRunner<S extends ServiceMap = ServiceMap> {
  readonly node: Libp2p<S>
  readonly events: NatkitEvents
  readonly peerId: string
  /** Starts the node (see `startNatkitNode`), then the role's own `afterStart`. */
  start(): Promise<void>
  /** Undoes the role's and the base's work, then stops the node; idempotent. */
  stop(): Promise<void>
}

export interface NatkitRunnerInit<S extends ServiceMap> {
  role: Role
  /** `listen`, when given, is checked before the node starts (see `checkListenAddrs`) */
  options: Pick<CommonOptions, 'seed' | 'identity' | 'network' | 'metrics'> & Partial<Pick<CommonOptions, 'listen'>>
  events: NatkitEvents
  /** The role's composition: builds its (not started) node from the loaded identity. */
  create: (privateKey: PrivateKey) => Promise<Libp2p<S>>
  /** The role's work once the node runs; register undo work with `running.onStop`. */
  afterStart?: (node: Libp2p<S>, running: RunningNode) => void | Promise<void>
}

/**
 * Loads the identity, builds the role's node with it (emitting which identity
 * is used) and returns a runner: the lifecycle every role shares.
 */
export async function prepareNatkitNode<S extends ServiceMap> (init: NatkitRunnerInit<S>): Promise<NatkitRunner<S>> {
  const { key, note } = await loadIdentity(init.options)
  const node = await init.create(key)
  init.events.peerId = node.peerId.toString()
  init.events.emit('info', { message: note })
  let running: RunningNode | undefined
  let stopped = false
  return {
    node,
    events: init.events,
    peerId: node.peerId.toString(),
    start: async () => {
      running = await startNatkitNode(node, init)
      await init.afterStart?.(node, running)
    },
    stop: async () => {
      if (stopped) return
      stopped = true
      await (running?.stop() ?? node.stop())
    }
  }
}
