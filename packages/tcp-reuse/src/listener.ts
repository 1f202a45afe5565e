// Derived from @libp2p/tcp 11.0.28 (src/listener.ts), https://github.com/libp2p/js-libp2p,
// copyright (c) Protocol Labs, Inc. and contributors, licensed Apache-2.0 OR MIT;
// used under MIT. See ../NOTICE for the license text and what changed.
import net from 'node:net'
import { AlreadyStartedError, TypedEventEmitter, setMaxListeners } from '@libp2p/interface'
import { getThinWaistAddresses } from '@libp2p/utils'
import { InvalidListenAddressError, ListenError } from './errors.js'
import { socketToConn } from './socket-to-conn.js'
import { probeListen } from './probe.js'
import { onceEvent, toTcpTarget } from './utils.js'
import type { IpFamily } from './utils.js'
import type { InitiatorClaim } from './transport.js'
import type { ComponentLogger, Listener, ListenerEvents, Logger, MetricGroup, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Whether `server.listen()` supports `reusePort` (Node >= 22.12 or >= 23.1) */
export const NODE_HAS_REUSE_PORT = ((major: number, minor: number) => major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12))(
  ...process.versions.node.split('.').map(Number) as [number, number]
)

/** How long `close()` waits for the server and its sockets to close (ms) */
export const DEFAULT_LISTENER_CLOSE_TIMEOUT = 5_000

/**
 * An address a reuse-port listener is bound to, which outbound dials may use
 * as their source
 */
export interface ReuseAddress {
  host: string
  port: number
  family: IpFamily
}

export interface ListenerMetrics {
  status?: MetricGroup
  errors?: MetricGroup
  events?: MetricGroup
}

export interface TcpReuseListenerInit {
  upgrader: Upgrader
  logger: ComponentLogger
  reusePort: boolean
  /** with `reusePort`, refuse a fixed port another socket already listens on */
  exclusivePort: boolean
  inactivityTimeout?: number
  maxConnections?: number
  backlog?: number
  keepAlive: boolean
  keepAliveInitialDelay?: number
  noDelay: boolean
  allowHalfOpen: boolean
  closeTimeout: number
  metrics: ListenerMetrics
  /** A claim on an inbound connection from `host:port`: it is upgraded as the initiator (`TcpReuseTransport.expectInitiator`). */
  claimed?(host: string, port: number): InitiatorClaim | undefined
  /** called once the server is listening */
  onListening(listener: TcpReuseListener): void
  /** called when the listener stops listening (or failed to start) */
  onClosed(listener: TcpReuseListener): void
}

enum Status {
  INACTIVE,
  ACTIVE,
  CLOSED
}

export class TcpReuseListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  private readonly init: TcpReuseListenerInit
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private readonly shutdownController = new AbortController()
  private readonly log: Logger
  private status = Status.INACTIVE
  private listeningAddr?: Multiaddr
  private bound?: ReuseAddress
  /** `host:port` label for metrics */
  addr = 'unknown'

  constructor (init: TcpReuseListenerInit) {
    super()
    this.init = init
    this.log = init.logger.forComponent('natkit:tcp-reuse:listener')
    setMaxListeners(Infinity, this.shutdownController.signal)

    this.server = net.createServer({
      allowHalfOpen: init.allowHalfOpen,
      keepAlive: init.keepAlive,
      keepAliveInitialDelay: init.keepAliveInitialDelay,
      noDelay: init.noDelay
    }, socket => {
      this.onSocket(socket)
    })

    if (init.maxConnections != null) {
      this.server.maxConnections = init.maxConnections
    }

    this.server
      .on('error', err => {
        this.init.metrics.errors?.increment({ [`${this.addr} listen_error`]: true })
        this.safeDispatchEvent('error', { detail: err })
      })
      .on('drop', () => {
        this.init.metrics.events?.increment({ [`${this.addr} drop`]: true })
      })
      .on('close', () => {
        this.init.metrics.status?.update({ [this.addr]: Status.INACTIVE })
        this.safeDispatchEvent('close')
      })
  }

  /** Number of accepted sockets that are still open */
  get socketCount (): number {
    return this.sockets.size
  }

  /**
   * The address outbound dials may reuse, if this listener is active and was
   * bound with SO_REUSEPORT
   */
  reuseAddress (): ReuseAddress | undefined {
    if (this.status !== Status.ACTIVE || !this.init.reusePort) {
      return undefined
    }

    return this.bound
  }

  async listen (ma: Multiaddr): Promise<void> {
    if (this.status === Status.ACTIVE) {
      throw new AlreadyStartedError('server is already listening')
    }

    let target
    try {
      target = toTcpTarget(ma)
    } catch (err) {
      throw new InvalidListenAddressError(`Cannot listen on ${ma.toString()}: ${err instanceof Error ? err.message : String(err)}`)
    }

    const family = net.isIP(target.host)

    if (family !== 4 && family !== 6) {
      throw new InvalidListenAddressError(`Cannot listen on ${ma.toString()}: host must be an IP address`)
    }

    if (this.init.reusePort && !NODE_HAS_REUSE_PORT) {
      this.init.onClosed(this)
      throw new ListenError(`listening with reusePort needs Node.js >= 22.12, this is ${process.version}`)
    }

    try {
      // SO_REUSEPORT would let us share a port another process serves (inbound
      // connections would split between us): first take it without SO_REUSEPORT
      if (this.init.reusePort && this.init.exclusivePort && target.port !== 0) {
        await probeListen(target.host, target.port, family)
      }
      // with reusePort (SO_REUSEPORT, Node >= 22.12) our dials can bind the same port
      await this.startServer(() => this.server.listen({
        host: target.host,
        port: target.port,
        ipv6Only: family === 6,
        reusePort: this.init.reusePort,
        backlog: this.init.backlog
      }))
    } catch (err) {
      this.init.onClosed(this)
      const e = err as NodeJS.ErrnoException
      throw new ListenError(`could not bind ${target.host}:${target.port}: ${e.message}`, { cause: err, code: e.code })
    }

    const address = this.server.address()

    if (address == null || typeof address === 'string') {
      this.server.close()
      this.init.onClosed(this)
      throw new ListenError(`listening on ${ma.toString()} produced no TCP address`)
    }

    this.listeningAddr = ma
    this.bound = { host: target.host, port: address.port, family }
    this.addr = `${address.address}:${address.port}`
    this.status = Status.ACTIVE
    this.init.metrics.status?.update({ [this.addr]: Status.ACTIVE })
    this.log('listening on %s (reusePort=%s)', this.addr, this.init.reusePort)
    this.init.onListening(this)
    this.safeDispatchEvent('listening')
  }

  private async startServer (listen: () => void): Promise<void> {
    const listening = onceEvent(this.server, 'listening')
    listen()
    await listening
  }

  private onSocket (socket: net.Socket): void {
    this.init.metrics.events?.increment({ [`${this.addr} connection`]: true })

    if (this.status !== Status.ACTIVE || this.listeningAddr == null) {
      socket.destroy()
      return
    }

    this.sockets.add(socket)
    socket.once('close', () => {
      this.sockets.delete(socket)
    })

    const claim = socket.remoteAddress != null && socket.remotePort != null ? this.init.claimed?.(socket.remoteAddress, socket.remotePort) : undefined
    let maConn
    try {
      maConn = socketToConn({
        socket,
        direction: claim != null ? 'outbound' : 'inbound',
        ...(claim != null ? { remoteAddr: claim.remoteAddr, ...(claim.optimisticSelect != null ? { optimisticSelect: claim.optimisticSelect } : {}) } : {}),
        localAddr: this.listeningAddr,
        inactivityTimeout: this.init.inactivityTimeout,
        metrics: this.init.metrics.events,
        metricPrefix: `${this.addr} `,
        log: this.init.logger.forComponent('natkit:tcp-reuse:connection')
      })
    } catch (err) {
      this.log.error('inbound connection failed - %e', err)
      this.init.metrics.errors?.increment({ [`${this.addr} inbound_to_connection`]: true })
      socket.destroy()
      return
    }

    // a claimed connection: a hole punch's peer reached our listener while we are the punch's initiator
    const kind = claim != null ? 'claimed' : 'inbound'
    if (claim != null) {
      this.log('new inbound connection %a, claimed by a hole punch: upgrading it as the initiator', maConn.remoteAddr)
      this.init.metrics.events?.increment({ [`${this.addr} claimed`]: true })
    } else {
      this.log('new inbound connection %a', maConn.remoteAddr)
    }
    const conn = maConn
    const upgrade = claim != null
      ? this.init.upgrader.upgradeOutbound(conn, { signal: AbortSignal.any([this.shutdownController.signal, claim.signal]) })
      : this.init.upgrader.upgradeInbound(conn, { signal: this.shutdownController.signal })
    upgrade
      .then(() => {
        this.log('%s connection upgraded %a', kind, conn.remoteAddr)
      })
      .catch(err => {
        this.log.error('%s connection upgrade failed - %e', kind, err)
        this.init.metrics.errors?.increment({ [`${this.addr} ${kind}_upgrade`]: true })
        conn.abort(err)
      })
  }

  getAddrs (): Multiaddr[] {
    if (this.status !== Status.ACTIVE || this.bound == null) {
      return []
    }

    return getThinWaistAddresses(this.listeningAddr, this.bound.port)
  }

  updateAnnounceAddrs (): void {
    // nothing to add to announce addresses
  }

  async close (): Promise<void> {
    if (this.status === Status.CLOSED) {
      return
    }

    const wasListening = this.server.listening
    this.status = Status.CLOSED
    // stop offering this port to outbound dials before anything else
    this.init.onClosed(this)
    this.log('closing %s', this.addr)

    const signal = AbortSignal.timeout(this.init.closeTimeout)
    const waits: Array<Promise<void>> = []

    if (wasListening) {
      waits.push(onceEvent(this.server, 'close', { signal, rejectOnError: false }))
      // stop accepting; 'close' fires once every accepted socket has closed
      this.server.close()
    }

    // abort in-progress upgrades
    this.shutdownController.abort()

    for (const socket of this.sockets) {
      if (!socket.destroyed) {
        waits.push(onceEvent(socket, 'close', { signal, rejectOnError: false }))
        socket.destroy()
      }
    }

    const results = await Promise.allSettled(waits)

    for (const result of results) {
      if (result.status === 'rejected') {
        this.log.error('listener %s did not close cleanly within %dms - %e', this.addr, this.init.closeTimeout, result.reason)
        break
      }
    }
  }
}
