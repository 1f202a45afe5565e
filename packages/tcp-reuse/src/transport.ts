// Derived from @libp2p/tcp 11.0.28 (src/tcp.ts), https://github.com/libp2p/js-libp2p,
// copyright (c) Protocol Labs, Inc. and contributors, licensed Apache-2.0 OR MIT;
// used under MIT. See ../NOTICE for the license text and what changed.
import net from 'node:net'
import { AbortError, serviceCapabilities, transportSymbol } from '@libp2p/interface'
import { TCP as TCPMatcher } from '@multiformats/multiaddr-matcher'
import unixSocket from 'node-unix-socket'
import { DialError } from './errors.js'
import { DEFAULT_LISTENER_CLOSE_TIMEOUT, TcpReuseListener } from './listener.js'
import { socketToConn } from './socket-to-conn.js'
import { isLocalAddress, isLoopback, isWildcard, toTcpTarget, unmapIPv4 } from './utils.js'
import type { ReuseAddress } from './listener.js'
import type { TcpTarget } from './utils.js'
import type { ComponentLogger, Connection, CounterGroup, CreateListenerOptions, DialTransportOptions, Listener, Logger, Metrics, MetricGroup, OutboundConnectionUpgradeEvents, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Dial outbound connections from the port of an active listener */
export const DEFAULT_REUSE_PORT = true
/** TCP keep-alive on dialed and accepted sockets */
export const DEFAULT_KEEP_ALIVE = true
/** Disable Nagle's algorithm on dialed and accepted sockets */
export const DEFAULT_NO_DELAY = true

/**
 * A dial option this transport reads (libp2p's transport manager passes dial
 * options through): `optimisticSelect` names the security protocol the remote
 * is known to speak (e.g. the `encryption` of a relayed connection to the same
 * peer); the upgrader's multistream-select of it then costs no round trip
 * (see `SocketToConnInit.optimisticSelect`). Outbound upgrades only.
 */
export interface OptimisticSelectDialOptions {
  optimisticSelect?: string
}
/**
 * Most addresses {@link TcpReuseTransport.expectInitiator} holds at once.
 *
 * @default 64
 */
export const MAX_INITIATOR_CLAIMS = 64

/** An inbound connection the listener upgrades as the initiator (see {@link TcpReuseTransport.expectInitiator}). */
export interface InitiatorClaim {
  /** The peer's address as dialed, ending in `/p2p/<peer>`: the connection's remote address. */
  remoteAddr: Multiaddr
  /** Passed on as {@link OptimisticSelectDialOptions.optimisticSelect}. */
  optimisticSelect?: string
  /** The claim ends when this aborts; an upgrade still running is aborted with it. */
  signal: AbortSignal
}

/** Options of {@link TcpReuseTransport.expectInitiator}. */
export interface ExpectInitiatorOptions extends OptimisticSelectDialOptions {
  signal: AbortSignal
}

/** Half-open sockets are not used by libp2p */
export const DEFAULT_ALLOW_HALF_OPEN = false
/**
 * With `reusePort`, a listener on a fixed port first binds it without
 * SO_REUSEPORT and fails with `EADDRINUSE` when another socket (another
 * process) already listens there, instead of silently sharing the port
 */
export const DEFAULT_EXCLUSIVE_PORT = true
/** Errno codes of a reuse dial that make us retry from an ephemeral port */
export const FALLBACK_ERROR_CODES: readonly string[] = ['EADDRINUSE', 'EADDRNOTAVAIL']

/**
 * Socket options for dialed or accepted sockets
 */
export interface TcpReuseSocketOptions {
  /**
   * Enable TCP keep-alive
   *
   * @default DEFAULT_KEEP_ALIVE
   */
  keepAlive?: boolean

  /**
   * Delay in ms before the first keep-alive probe
   *
   * @default 0 (node's default)
   */
  keepAliveInitialDelay?: number

  /**
   * Disable Nagle's algorithm
   *
   * @default DEFAULT_NO_DELAY
   */
  noDelay?: boolean

  /**
   * Allow half-open sockets
   *
   * @default DEFAULT_ALLOW_HALF_OPEN
   */
  allowHalfOpen?: boolean
}

export interface TcpReuseInit {
  /**
   * Bind listeners with SO_REUSEPORT|SO_REUSEADDR and dial outbound
   * connections from the port of an active listener of the same IP family,
   * so the address a remote (or a NAT) observes is our listen port
   *
   * @default DEFAULT_REUSE_PORT
   */
  reusePort?: boolean

  /**
   * With `reusePort`, refuse to listen on a fixed port that another socket
   * already listens on (SO_REUSEPORT would otherwise share it, and inbound
   * connections would split between the two). Port 0 is never shared.
   *
   * @default DEFAULT_EXCLUSIVE_PORT
   */
  exclusivePort?: boolean

  /**
   * Close inbound sockets after this many ms without activity
   *
   * @default DEFAULT_SOCKET_INACTIVITY_TIMEOUT
   */
  inboundSocketInactivityTimeout?: number

  /**
   * Close outbound sockets after this many ms without activity
   *
   * @default DEFAULT_SOCKET_INACTIVITY_TIMEOUT
   */
  outboundSocketInactivityTimeout?: number

  /**
   * Reject inbound connections once a listener has this many open sockets
   * (`net.Server#maxConnections`)
   *
   * @default undefined (no limit)
   */
  maxConnections?: number

  /**
   * Maximum length of the queue of pending inbound connections
   *
   * @default undefined (node's default, 511)
   */
  backlog?: number

  /**
   * How long a listener's `close()` waits for its server and sockets to close
   *
   * @default DEFAULT_LISTENER_CLOSE_TIMEOUT
   */
  listenerCloseTimeout?: number

  /**
   * Options applied to every dialed socket
   *
   * @default {}
   */
  dialOpts?: TcpReuseSocketOptions

  /**
   * Options applied to every accepted socket
   *
   * @default {}
   */
  listenOpts?: TcpReuseSocketOptions
}

export interface TcpReuseComponents {
  metrics?: Metrics
  logger: ComponentLogger
}

/**
 * Emitted via `onProgress` before the TCP connect starts
 */
export interface TcpReuseOpenConnectionEvent {
  type: 'tcp-reuse:open-connection'
  detail: { reusePort?: number }
}

export type TcpReuseDialEvents = OutboundConnectionUpgradeEvents | TcpReuseOpenConnectionEvent

export interface ReuseStatus {
  /** active reuse-port listeners, usable as dial sources */
  listening: ReuseAddress[]
  /** successful dials made from a listener's port */
  reuseDials: number
  /** successful dials made from an ephemeral port */
  fallbackDials: number
}

interface DialSource {
  host: string
  port: number
}

/** Where an outbound connection was dialled from (see `TcpReuseTransport.dialSource`). */
export interface ConnectionDialSource {
  /** The local TCP port the connection left from. */
  port: number
  /** True if that is a listener's port (port reuse), false for an ephemeral port (fallback). */
  reused: boolean
}

export class TcpReuseTransport implements Transport<TcpReuseDialEvents> {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = '@natkit/tcp-reuse'
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']

  private readonly init: TcpReuseInit
  private readonly components: TcpReuseComponents
  private readonly log: Logger
  private readonly reusePort: boolean
  /** listeners that are currently listening, bounded by the listen addresses */
  private readonly listeners = new Set<TcpReuseListener>()
  private reuseDials = 0
  private fallbackDials = 0
  /** `host:port` → an inbound connection from there is upgraded as the initiator (bounded by MAX_INITIATOR_CLAIMS) */
  private readonly claims = new Map<string, InitiatorClaim>()
  /** outbound connections → the port they left from; weak, so closed connections are forgotten */
  private readonly dialSources = new WeakMap<Connection, ConnectionDialSource>()
  /** sockets bound to a listener's port by `connect` */
  private readonly reusedSockets = new WeakSet<net.Socket>()
  private readonly metrics: {
    events?: CounterGroup
    errors?: CounterGroup
    listenerStatus?: MetricGroup
    listenerErrors?: MetricGroup
    listenerEvents?: MetricGroup
  }

  constructor (components: TcpReuseComponents, init: TcpReuseInit = {}) {
    this.components = components
    this.init = init
    this.reusePort = init.reusePort ?? DEFAULT_REUSE_PORT
    this.log = components.logger.forComponent('natkit:tcp-reuse')

    const metrics = components.metrics
    this.metrics = {
      events: metrics?.registerCounterGroup('natkit_tcp_reuse_dialer_events_total', {
        label: 'event',
        help: 'Total count of tcp-reuse dialer events by type'
      }),
      errors: metrics?.registerCounterGroup('natkit_tcp_reuse_dialer_errors_total', {
        label: 'event',
        help: 'Total count of tcp-reuse dialer errors by type'
      }),
      listenerStatus: metrics?.registerMetricGroup('natkit_tcp_reuse_listener_status_info', {
        label: 'address',
        help: 'Current status of the tcp-reuse listener sockets'
      }),
      listenerErrors: metrics?.registerMetricGroup('natkit_tcp_reuse_listener_errors_total', {
        label: 'address',
        help: 'Total count of tcp-reuse listener errors by type'
      }),
      listenerEvents: metrics?.registerMetricGroup('natkit_tcp_reuse_listener_events_total', {
        label: 'address',
        help: 'Total count of tcp-reuse listener events by type'
      })
    }
    metrics?.registerMetricGroup('natkit_tcp_reuse_inbound_connections_total', {
      label: 'address',
      help: 'Current open inbound sockets per tcp-reuse listener',
      calculate: () => {
        const output: Record<string, number> = {}

        for (const listener of this.listeners) {
          output[listener.addr] = listener.socketCount
        }

        return output
      }
    })
  }

  /**
   * Which listen ports outbound dials can reuse, and how many dials used one
   */
  reuseStatus (): ReuseStatus {
    const listening: ReuseAddress[] = []

    for (const listener of this.listeners) {
      const address = listener.reuseAddress()

      if (address != null) {
        listening.push({ ...address })
      }
    }

    return {
      listening,
      reuseDials: this.reuseDials,
      fallbackDials: this.fallbackDials
    }
  }

  /**
   * The local port an outbound connection of this transport was dialled from,
   * and whether it was a listener's port (reuse) or an ephemeral one
   * (fallback); undefined for inbound and unknown connections. What a remote
   * observes of such a connection says how our NAT maps the listen port only
   * when `reused` is true.
   */
  dialSource (connection: Connection): ConnectionDialSource | undefined {
    const source = this.dialSources.get(connection)
    return source != null ? { ...source } : undefined
  }

  /**
   * Until `options.signal` aborts, an inbound connection from the TCP address
   * of `ma` (which names the peer: `/p2p/<peer>`) is upgraded as the initiator,
   * like an outbound connection to that peer. For a hole punch in which we are
   * the initiator: the peer's SYN may reach our listener instead of our own
   * dial's socket (we have no NAT, or a router's reset ended our dial first),
   * and the peer dials as the responder (`initiator: false`), so an ordinary
   * inbound upgrade would leave both sides waiting as responders. Returns false
   * (nothing held) for a non-TCP address, one without `/p2p/`, an aborted
   * signal, or when MAX_INITIATOR_CLAIMS addresses are held.
   */
  expectInitiator (ma: Multiaddr, options: ExpectInitiatorOptions): boolean {
    if (options.signal.aborted || ma.getComponents().findLast(c => c.name === 'p2p') == null) return false
    let target: TcpTarget
    try {
      target = toTcpTarget(ma)
    } catch {
      return false
    }
    const key = claimKey(target.host, target.port)
    if (!this.claims.has(key) && this.claims.size >= MAX_INITIATOR_CLAIMS) return false
    const claim: InitiatorClaim = { remoteAddr: ma, signal: options.signal, ...(typeof options.optimisticSelect === 'string' ? { optimisticSelect: options.optimisticSelect } : {}) }
    this.claims.set(key, claim)
    options.signal.addEventListener('abort', () => {
      if (this.claims.get(key) === claim) this.claims.delete(key)
    }, { once: true })
    return true
  }

  /** The claim on an inbound connection from `host:port`, if one is held. */
  claimed (host: string, port: number): InitiatorClaim | undefined {
    const claim = this.claims.get(claimKey(host, port))
    return claim?.signal.aborted === false ? claim : undefined
  }

  async dial (ma: Multiaddr, options: DialTransportOptions<TcpReuseDialEvents>): Promise<Connection> {
    // options.signal destroys the socket before 'connect'
    const socket = await this.connect(ma, options)
    const source: ConnectionDialSource = { port: socket.localPort ?? 0, reused: this.reusedSockets.has(socket) }

    let maConn
    try {
      maConn = socketToConn({
        socket,
        // a hole-punch responder (`initiator: false`, e.g. after a TCP
        // simultaneous open) takes the inbound role everywhere, including the
        // stream muxer, which reads the direction from this connection
        direction: (options as { initiator?: boolean }).initiator === false ? 'inbound' : 'outbound',
        // a protocol the caller knows the remote speaks (see `OptimisticSelectDialOptions`)
        ...(typeof (options as OptimisticSelectDialOptions).optimisticSelect === 'string' ? { optimisticSelect: (options as OptimisticSelectDialOptions).optimisticSelect } : {}),
        remoteAddr: ma,
        inactivityTimeout: this.init.outboundSocketInactivityTimeout,
        metrics: this.metrics.events,
        log: this.log.newScope('connection')
      })
    } catch (err) {
      this.metrics.errors?.increment({ outbound_to_connection: true })
      socket.destroy(err instanceof Error ? err : new Error(String(err)))
      throw err
    }

    try {
      this.log('new outbound connection %a from local port %d', maConn.remoteAddr, socket.localPort)
      // pass everything through: DCUtR sets `initiator: false` on its dial so
      // that a TCP simultaneous open ends with exactly one initiator
      const connection = await options.upgrader.upgradeOutbound(maConn, options)
      this.dialSources.set(connection, source)
      return connection
    } catch (err) {
      this.metrics.errors?.increment({ outbound_upgrade: true })
      this.log.error('error upgrading outbound connection - %e', err)
      maConn.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  private async connect (ma: Multiaddr, options: DialTransportOptions<TcpReuseDialEvents>): Promise<net.Socket> {
    options.signal.throwIfAborted()

    const target = toTcpTarget(ma)
    // `reusePort: false` on one dial (e.g. a hole punch that wants a second
    // socket beside one dialled from the listen port) leaves from an ephemeral port
    const source = (options as { reusePort?: boolean }).reusePort === false ? undefined : this.pickSource(target)

    options.onProgress?.({ type: 'tcp-reuse:open-connection', detail: { reusePort: source?.port } })

    if (source != null) {
      try {
        const socket = await this.connectSocket(target, options, source)
        this.reusedSockets.add(socket)
        this.reuseDials++
        this.metrics.events?.increment({ reuse_connect: true })
        this.log('dialed %a from reused port %s:%d', ma, source.host, source.port)
        return socket
      } catch (err) {
        if (!(err instanceof DialError) || err.code == null || !FALLBACK_ERROR_CODES.includes(err.code)) {
          throw err
        }

        this.metrics.events?.increment({ reuse_failed: true })
        this.log('reuse dial of %a from port %d failed (%s), falling back to an ephemeral port', ma, source.port, err.code)
      }
    } else {
      this.log('no reusable listener for %a (reusePort=%s), dialing from an ephemeral port', ma, this.reusePort)
    }

    const socket = await this.connectSocket(target, options)
    this.fallbackDials++
    this.metrics.events?.increment({ fallback_connect: true })
    this.log('dialed %a from ephemeral port %d', ma, socket.localPort)
    return socket
  }

  /**
   * Choose the listener whose port an outbound dial to `target` should use
   */
  private pickSource (target: TcpTarget): DialSource | undefined {
    if (!this.reusePort || target.family == null) {
      return undefined
    }

    const remoteLoopback = net.isIP(target.host) !== 0 && isLoopback(target.host)
    let best: DialSource | undefined

    for (const listener of this.listeners) {
      const address = listener.reuseAddress()

      if (address == null || address.family !== target.family) {
        continue
      }

      // a loopback-bound socket cannot reach other hosts and vice versa
      if (!isWildcard(address.host) && isLoopback(address.host) !== remoteLoopback) {
        continue
      }

      // connecting from port P to our own port P would connect the socket to
      // itself (TCP self-connect)
      if (address.port === target.port && net.isIP(target.host) !== 0 && isLocalAddress(target.host)) {
        continue
      }

      // prefer a specific address over a wildcard
      if (best == null || !isWildcard(address.host)) {
        best = { host: address.host, port: address.port }
      }
    }

    return best
  }

  private async connectSocket (target: TcpTarget, options: DialTransportOptions<TcpReuseDialEvents>, source?: DialSource): Promise<net.Socket> {
    const opts = this.init.dialOpts ?? {}
    const keepAlive = opts.keepAlive ?? DEFAULT_KEEP_ALIVE
    const noDelay = opts.noDelay ?? DEFAULT_NO_DELAY
    const allowHalfOpen = opts.allowHalfOpen ?? DEFAULT_ALLOW_HALF_OPEN
    const label = `${target.host}:${target.port}`

    options.signal.throwIfAborted()

    let socket: net.Socket

    if (source != null) {
      let fd: number
      try {
        fd = unixSocket.createReuseportFd(source.port, source.host)
      } catch (err) {
        // node-unix-socket reports errno as text ("Address already in use")
        const message = err instanceof Error ? err.message : String(err)
        throw new DialError(`connection error ${label}: could not bind ${source.host}:${source.port}: ${message}`, {
          cause: err,
          code: /in use/i.test(message) ? 'EADDRINUSE' : /not available|cannot assign/i.test(message) ? 'EADDRNOTAVAIL' : undefined
        })
      }

      try {
        socket = new net.Socket({ fd, allowHalfOpen })
      } catch (err) {
        // never handed to a socket, so nobody else will close it
        unixSocket.closeFd(fd)
        const e = err as NodeJS.ErrnoException
        throw new DialError(`connection error ${label}: ${e.message}`, { cause: err, code: e.code })
      }

      socket.connect({ host: target.host, port: target.port, family: target.family })
    } else {
      socket = net.connect({
        host: target.host,
        port: target.port,
        family: target.family,
        allowHalfOpen,
        keepAlive,
        keepAliveInitialDelay: opts.keepAliveInitialDelay,
        noDelay
      })
    }

    return new Promise<net.Socket>((resolve, reject) => {
      const cleanup = (): void => {
        socket.removeListener('error', onError)
        socket.removeListener('connect', onConnect)
        options.signal.removeEventListener('abort', onAbort)
      }
      const onError = (err: NodeJS.ErrnoException): void => {
        cleanup()
        this.log.error('dial to %s errored - %e', label, err)
        this.metrics.events?.increment({ error: true })
        socket.destroy()
        reject(new DialError(`connection error ${label}: ${err.code ?? err.message}`, { cause: err, code: err.code }))
      }
      const onConnect = (): void => {
        cleanup()
        this.metrics.events?.increment({ connect: true })
        socket.setNoDelay(noDelay)
        socket.setKeepAlive(keepAlive, opts.keepAliveInitialDelay)
        resolve(socket)
      }
      const onAbort = (): void => {
        cleanup()
        this.log('dial to %s aborted', label)
        this.metrics.events?.increment({ abort: true })
        socket.destroy()
        reject(new AbortError(`Dial to ${label} was aborted`))
      }

      socket.once('error', onError)
      socket.once('connect', onConnect)
      options.signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  createListener (options: CreateListenerOptions): Listener {
    const listenOpts = this.init.listenOpts ?? {}

    return new TcpReuseListener({
      upgrader: options.upgrader,
      logger: this.components.logger,
      reusePort: this.reusePort,
      exclusivePort: this.init.exclusivePort ?? DEFAULT_EXCLUSIVE_PORT,
      inactivityTimeout: this.init.inboundSocketInactivityTimeout,
      maxConnections: this.init.maxConnections,
      backlog: this.init.backlog,
      keepAlive: listenOpts.keepAlive ?? DEFAULT_KEEP_ALIVE,
      keepAliveInitialDelay: listenOpts.keepAliveInitialDelay,
      noDelay: listenOpts.noDelay ?? DEFAULT_NO_DELAY,
      allowHalfOpen: listenOpts.allowHalfOpen ?? DEFAULT_ALLOW_HALF_OPEN,
      closeTimeout: this.init.listenerCloseTimeout ?? DEFAULT_LISTENER_CLOSE_TIMEOUT,
      metrics: {
        status: this.metrics.listenerStatus,
        errors: this.metrics.listenerErrors,
        events: this.metrics.listenerEvents
      },
      claimed: (host, port) => this.claimed(host, port),
      onListening: listener => {
        this.listeners.add(listener)
      },
      onClosed: listener => {
        this.listeners.delete(listener)
      }
    })
  }

  /**
   * Only `/ip4|ip6|dns|dns4|dns6/.../tcp/N` addresses (optionally `/p2p/...`)
   */
  listenFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter(ma => TCPMatcher.exactMatch(ma))
  }

  dialFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return this.listenFilter(multiaddrs)
  }
}

function claimKey (host: string, port: number): string {
  return `${unmapIPv4(host).toLowerCase()}:${port}`
}
