import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { identityFromSeed, loadOrCreateIdentity } from '@natkit/identity'
import { buildNode, composeInit, type BuildInit } from './builder.js'
import { checkReachability, type ReachabilityResult } from '@natkit/autonat-check'
import { TCP } from '@multiformats/multiaddr-matcher'
import { isLoopback, isPrivate } from '@libp2p/utils'
import { registerRoleCounters, startMetricsServer } from './metrics.js'
import { registerGoHolePunchMetrics } from './holepunch-metrics.js'
import { isLimited, observeNode } from './observe.js'
import { pingConnection } from './ping.js'
import { ReservationKeeper } from './reservations.js'
import { announceSelf, findPeerAddrs } from './discovery.js'
import type { NatkitEvents } from '@natkit/events'
import { createStunServer } from '@natkit/stun'
import type { Role, RoleOptions, PeerOptions, RelayOptions } from '@natkit/config'
import type { Connection, Libp2p, PrivateKey } from '@libp2p/interface'

export class DialTargetError extends Error {
  override name = 'DialTargetError'
}

/** `checkReachability`: this node has no non-loopback TCP address a server could dial back (a usage problem). */
export class NoCandidateAddressesError extends Error {
  override name = 'NoCandidateAddressesError'
}

/** Outcome of `NatkitRole.dialPeer`, also emitted as `dial:result`. */
export interface DialResult {
  target: string
  outcome: 'direct' | 'relayed' | 'failed'
  remotePeer?: string
  remoteAddr?: string
  relayedRttMs?: number
  directRttMs?: number
  timeToRelayedMs?: number
  timeToDirectMs?: number
  reason?: string
}

async function loadKey (o: RoleOptions<Role>): Promise<{ key: PrivateKey, note: string }> {
  if (o.seed != null) return { key: await identityFromSeed(o.seed), note: 'identity derived from --seed (test only)' }
  if (o.identity != null) {
    const { privateKey, created } = await loadOrCreateIdentity(o.identity)
    return { key: privateKey, note: `${created ? 'created new' : 'loaded'} identity ${o.identity}` }
  }
  return { key: await generateKeyPair('Ed25519'), note: 'no --identity given: using an ephemeral identity (the peer id changes on restart)' }
}

/**
 * A running natkit role: identity, libp2p node, event translation, metrics,
 * and (peer) relay reservations. Apps are thin CLIs around this class.
 */
export class NatkitRole<R extends Role = Role> {
  readonly options: RoleOptions<R>
  readonly events: NatkitEvents
  readonly node: Libp2p<Record<string, any>>
  #cleanups: Array<() => void | Promise<void>> = []
  #keeper?: ReservationKeeper
  /** Observed address per identified connection (identify runs once per connection). */
  readonly #identified = new WeakMap<Connection, Multiaddr | undefined>()
  #stopped = false

  private constructor (options: RoleOptions<R>, events: NatkitEvents, node: Libp2p<Record<string, any>>) {
    this.options = options
    this.events = events
    this.node = node
  }

  static async create<R extends Role>(options: RoleOptions<R>, events: NatkitEvents, build: Pick<BuildInit<R>, 'autonatServer'> = {}): Promise<NatkitRole<R>> {
    const { key, note } = await loadKey(options as RoleOptions<Role>)
    const node = await buildNode({ ...build, options, privateKey: key, events })
    events.peerId = node.peerId.toString()
    events.emit('info', { message: note })
    return new NatkitRole(options, events, node)
  }

  get peerId (): string { return this.node.peerId.toString() }

  async start (): Promise<void> {
    const o = this.options as RoleOptions<Role>
    this.events.emit('info', { message: `starting ${o.role} ${this.peerId} (network preset ${o.network})` })
    const observer = observeNode(this.node, this.events)
    this.#cleanups.push(observer.off)
    this.#cleanups.push(registerRoleCounters(this.events))
    if (this.node.services.holepunch != null) this.#cleanups.push(registerGoHolePunchMetrics(this.node.services.holepunch as EventTarget))
    const onIdentify = (evt: any): void => { this.#identified.set(evt.detail.connection, evt.detail.observedAddr) }
    this.node.addEventListener('peer:identify', onIdentify)
    this.#cleanups.push(() => { this.node.removeEventListener('peer:identify', onIdentify) })
    await this.node.start()
    if (o.role === 'peer' || o.role === 'autonat') this.#confirmPublicInterfaceAddrs()
    observer.refresh()
    if (o.metrics != null) {
      const m = await startMetricsServer(o.metrics.host, o.metrics.port)
      this.#cleanups.push(m.close)
      this.events.emit('info', { message: `metrics on ${m.url}` })
    }
    if (o.role === 'relay' && (o as RelayOptions).stunListen != null) {
      const { host, port } = (o as RelayOptions).stunListen as { host: string, port: number }
      const stun = createStunServer()
      const bound = await stun.listen(port, host)
      this.#cleanups.push(async () => { await stun.close() })
      this.events.emit('info', { message: `STUN binding server on udp ${bound.address}:${bound.port}` })
    }
    if (o.role === 'peer') {
      const p = o as PeerOptions
      const keeper = composeInit(p).reservationKeeper
      if (keeper != null) {
        this.#keeper = new ReservationKeeper(this.node, { ...keeper, events: this.events })
        this.#keeper.start()
      }
      if (p.pingInterval > 0) this.#startPingLoop(p.pingInterval)
      if (p.dht && p.bootstrap.length > 0) this.#startAnnouncing()
    }
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    await this.#keeper?.stop()
    for (const c of this.#cleanups.reverse()) await c()
    await this.node.stop()
  }

  /**
   * A TCP listen address on one of this host's own interfaces whose IP is
   * public (no NAT in front) is announced right away, as go-libp2p does. js-libp2p
   * would wait for AutoNAT v2 to confirm it from several network segments, and
   * until then a relayed peer cannot upgrade unilaterally to us; the DCUtR
   * exchange is then the only way, which cannot work into a listener (both
   * sides would be multistream responders).
   */
  #confirmPublicInterfaceAddrs (): void {
    const am = (this.node as any).components.addressManager
    const tm = (this.node as any).components.transportManager
    for (const ma of tm.getAddrs() as Multiaddr[]) {
      if (!TCP.exactMatch(ma) || isPrivate(ma) === true) continue
      am.confirmObservedAddr(ma, { type: 'transport' })
      this.events.emit('info', { message: `announcing ${ma.toString()}: a public address on this host's own interface` })
    }
  }

  /** Publishes this peer's DHT provider record at start and again whenever a reservation changes its addresses. */
  #startAnnouncing (): void {
    const controller = new AbortController()
    let running: Promise<void> | undefined
    let again = false
    const announce = (): void => {
      if (running != null) { again = true; return }
      running = announceSelf(this.node, controller.signal).then(() => {
        this.events.emit('info', { message: 'published this peer\'s addresses to the DHT' })
      }, (err: Error) => {
        if (!controller.signal.aborted) this.events.emit('warn', { message: `DHT announce failed: ${err.message}` })
      }).finally(() => {
        running = undefined
        if (again && !controller.signal.aborted) { again = false; announce() }
      })
    }
    const off = this.events.on('reservation', announce)
    announce()
    this.#cleanups.push(async () => { off(); controller.abort(); await running })
  }

  #startPingLoop (interval: number): void {
    const timer = setInterval(() => {
      for (const conn of this.node.getConnections()) {
        pingConnection(conn, { signal: AbortSignal.timeout(Math.min(interval, 10_000)) }).then((rttMs) => {
          this.events.emit('ping', { remotePeer: conn.remotePeer.toString(), rttMs, limited: isLimited(conn), remoteAddr: conn.remoteAddr.toString() })
        }, () => {})
      }
    }, interval)
    timer.unref()
    this.#cleanups.push(() => { clearInterval(timer) })
  }

  /**
   * Asks each AutoNAT v2 server to dial back this node's TCP addresses: its
   * listen addresses and the address the server observed. Emits one
   * `reachability` event per address and server. A server that cannot be
   * reached (or does not answer within `timeout`) is reported as an `error`
   * event and skipped; an existing connection to a server is reused.
   *
   * @throws {NoCandidateAddressesError} a server answered but this node has no non-loopback TCP address to test
   */
  async checkReachability (servers: string[], timeout: number): Promise<ReachabilityResult[]> {
    const all: ReachabilityResult[] = []
    let answeredWithoutCandidates = false
    for (const server of servers) {
      const ma = multiaddr(server)
      const serverId = ma.getComponents().findLast(c => c.name === 'p2p')?.value ?? server
      const signal = AbortSignal.timeout(timeout)
      let observed: Multiaddr | undefined
      try {
        // a new connection or one that already existed: libp2p identified it once, take that result
        const conn = await this.node.dial(ma, { signal })
        observed = await this.#observedAddr(conn, signal)
      } catch (err) {
        const why = signal.aborted ? `no answer within ${timeout} ms` : (err as Error).message
        this.events.emit('error', { message: `cannot reach AutoNAT server ${server}: ${why}` })
        continue
      }
      this.events.emit('info', { message: `AutoNAT server ${serverId} sees this node as ${observed?.toString() ?? '(no observed address)'}` })
      const candidates = this.#checkCandidates(observed)
      if (candidates.length === 0) {
        answeredWithoutCandidates = true
        continue
      }
      let results: ReachabilityResult[]
      try {
        results = await checkReachability(this.node as any, ma, candidates, { timeout })
      } catch (err) {
        this.events.emit('error', { message: `AutoNAT server ${server} gave no verdict: ${(err as Error).message}` })
        continue
      }
      for (const r of results) this.events.emit('reachability', { addr: r.addr, status: r.status, server: serverId })
      all.push(...results)
    }
    if (all.length === 0 && answeredWithoutCandidates) {
      throw new NoCandidateAddressesError('no address to check: every TCP listen address (and the address the server observed) is loopback; pass --listen on a non-loopback interface, e.g. --listen /ip4/0.0.0.0/tcp/4021')
    }
    return all
  }

  /** The address the remote peer observed for us, from libp2p's identify run on `conn` (waits for it if still running). */
  async #observedAddr (conn: Connection, signal: AbortSignal): Promise<Multiaddr | undefined> {
    const { promise, resolve, reject } = Promise.withResolvers<Multiaddr | undefined>()
    const onIdentify = (evt: any): void => { if (evt.detail.connection === conn) resolve(evt.detail.observedAddr) }
    const onAbort = (): void => { reject(signal.reason) }
    this.node.addEventListener('peer:identify', onIdentify)
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      if (this.#identified.has(conn)) return this.#identified.get(conn)
      signal.throwIfAborted()
      return await promise
    } finally {
      this.node.removeEventListener('peer:identify', onIdentify)
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** TCP listen addresses plus the server-observed one, without `/p2p` and without loopback. */
  #checkCandidates (observed?: Multiaddr): Multiaddr[] {
    const tm = (this.node as any).components.transportManager
    const candidates = new Map<string, Multiaddr>()
    for (const a of [...tm.getAddrs() as Multiaddr[], ...(observed != null ? [observed] : [])]) {
      const bare = a.decapsulateCode(CODE_P2P)
      if (TCP.exactMatch(bare) && !isLoopback(bare)) candidates.set(bare.toString(), bare)
    }
    return [...candidates.values()]
  }

  /** Resolves a dial target: a multiaddr, or a peer id found via the DHT or through a configured relay. */
  async resolveTarget (target: string, signal: AbortSignal): Promise<Multiaddr[]> {
    if (target.startsWith('/')) {
      try {
        return [multiaddr(target)]
      } catch (err) {
        throw new DialTargetError(`invalid multiaddr "${target}": ${(err as Error).message}`)
      }
    }
    let id
    try {
      id = peerIdFromString(target)
    } catch {
      throw new DialTargetError(`"${target}" is neither a multiaddr nor a peer id`)
    }
    const found: Multiaddr[] = []
    if (this.node.services.dht != null) {
      try {
        const addrs = await findPeerAddrs(this.node, id, signal)
        found.push(...addrs.map(ma => ma.getComponents().some(c => c.name === 'p2p' && c.value === target) ? ma : ma.encapsulate(`/p2p/${target}`)))
        this.events.emit('info', { message: `DHT lookup of ${target}: ${addrs.length === 0 ? 'no addresses' : addrs.map(String).join(', ')}` })
      } catch (err) {
        this.events.emit('info', { message: `DHT lookup of ${target} failed: ${(err as Error).message}` })
      }
    }
    const relays = (this.options as PeerOptions).relay ?? []
    for (const r of relays) found.push(multiaddr(`${String(r)}/p2p-circuit/p2p/${target}`))
    if (found.length === 0) throw new DialTargetError(`no addresses for peer ${target} (no DHT result and no --relay)`)
    return found
  }

  /**
   * Connects to a target, pings over the (usually relayed) connection, then
   * waits up to `timeout` for a direct connection from hole punching.
   */
  async dialPeer (target: string, timeout: number): Promise<DialResult> {
    const signal = AbortSignal.timeout(timeout)
    const t0 = performance.now()
    const ms = (t: number): number => Math.round(t * 10) / 10
    const result: DialResult = { target, outcome: 'failed' }
    const finish = (): DialResult => {
      this.events.emit('dial:result', { ...result })
      return result
    }
    // `/p2p-circuit/webrtc/p2p/B`: connect over the relay first (the same path a
    // TCP hole punch starts from), then upgrade with a WebRTC connection that the
    // relayed connection signals
    const webrtcTarget = target.includes('/p2p-circuit/webrtc/') ? target : undefined
    let addrs: Multiaddr[]
    try {
      addrs = await this.resolveTarget(webrtcTarget != null ? target.replace('/p2p-circuit/webrtc/', '/p2p-circuit/') : target, signal)
    } catch (err) {
      result.reason = (err as Error).message
      return finish()
    }
    let direct: Connection | undefined
    const directWaiter = Promise.withResolvers<Connection | undefined>()
    let remotePeer: string | undefined
    let relayedAt = 0
    const maxAttempts = (this.options as PeerOptions).holepunchAttempts ?? 3
    let lastFailure: string | undefined
    const onOpen = (evt: any): void => {
      const c: Connection = evt.detail
      if (remotePeer != null && c.remotePeer.toString() === remotePeer && !isLimited(c)) directWaiter.resolve(c)
    }
    const offFailure = this.events.on('holepunch:failure', (e) => {
      if (e.remotePeer !== remotePeer) return
      lastFailure = `${e.reason}: ${e.message}`
      if (e.attempts >= maxAttempts) directWaiter.resolve(undefined)
    })
    this.node.addEventListener('connection:open', onOpen)
    try {
      let conn: Connection
      try {
        conn = await this.node.dial(addrs, { signal })
      } catch (err) {
        result.reason = `not connected: ${(err as Error).message}`
        return finish()
      }
      remotePeer = conn.remotePeer.toString()
      result.remotePeer = remotePeer
      result.timeToRelayedMs = ms(performance.now() - t0)
      relayedAt = performance.now()
      result.remoteAddr = conn.remoteAddr.toString()
      try {
        const rtt = await pingConnection(conn, { signal })
        if (isLimited(conn)) result.relayedRttMs = rtt
        else result.directRttMs = rtt
        this.events.emit('ping', { remotePeer, rttMs: rtt, limited: isLimited(conn), remoteAddr: conn.remoteAddr.toString() })
      } catch (err) {
        this.events.emit('warn', { message: `ping over ${conn.remoteAddr.toString()} failed: ${(err as Error).message}` })
      }
      if (!isLimited(conn)) {
        result.outcome = 'direct'
        return finish()
      }
      result.outcome = 'relayed'
      // a direct connection may already exist (hole punch finished during the ping)
      direct = this.node.getConnections(conn.remotePeer).find(c => !isLimited(c))
      if (direct == null && webrtcTarget != null) {
        try {
          direct = await this.node.dial(multiaddr(webrtcTarget), { signal, force: true })
        } catch (err) {
          lastFailure = `WebRTC connection failed: ${(err as Error).message}`
        }
        if (direct != null && isLimited(direct)) direct = undefined
      } else if (direct == null) {
        const onAbort = (): void => { directWaiter.resolve(undefined) }
        signal.addEventListener('abort', onAbort, { once: true })
        direct = await directWaiter.promise
        signal.removeEventListener('abort', onAbort)
      }
      if (direct == null) {
        result.reason = lastFailure ?? `no direct connection within ${timeout} ms`
        return finish()
      }
      result.outcome = 'direct'
      result.timeToDirectMs = ms(performance.now() - relayedAt)
      result.remoteAddr = direct.remoteAddr.toString()
      try {
        const rtt = await pingConnection(direct, { signal: AbortSignal.timeout(10_000) })
        result.directRttMs = rtt
        this.events.emit('ping', { remotePeer, rttMs: rtt, limited: false, remoteAddr: direct.remoteAddr.toString() })
      } catch (err) {
        this.events.emit('warn', { message: `ping over the direct connection failed: ${(err as Error).message}` })
      }
      return finish()
    } finally {
      offFailure()
      this.node.removeEventListener('connection:open', onOpen)
    }
  }
}
