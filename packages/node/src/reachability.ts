import { checkReachability, nodeFromComponents, type AutoNATCheckComponents, type ReachabilityResult } from '@natkit/autonat-check'
import { isLoopback } from '@libp2p/utils'
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { TCP } from '@multiformats/multiaddr-matcher'
import { UserError } from '@natkit/events'
import type { NatkitEvents } from '@natkit/events'
import type { ComponentLogger, Connection, IdentifyResult, Libp2pEvents, Logger, Startable, TypedEventTarget } from '@libp2p/interface'
import type { TransportManager } from '@libp2p/interface-internal'

/** `checkReachability`: this node has no non-loopback TCP address a server could dial back (a usage problem). */
export class NoCandidateAddressesError extends UserError {
  static override name = 'NoCandidateAddressesError'
  override name = 'NoCandidateAddressesError'
}

export interface ReachabilityCheckerInit {
  /** Where `reachability`, `info` and `error` events go. */
  events: NatkitEvents
}

/** The libp2p components the reachability checker uses. */
export interface ReachabilityCheckerComponents extends AutoNATCheckComponents {
  transportManager: Pick<TransportManager, 'getAddrs'>
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/**
 * Asks AutoNAT v2 servers to dial back this node's TCP addresses, with
 * @natkit/autonat-check (the stock `@libp2p/autonat-v2` client only feeds the
 * address manager and cannot be asked about one server). A libp2p service:
 * `services: { reachability: reachabilityChecker({ events }) }`, then
 * `node.services.reachability.check(servers, timeout)`.
 */
export class ReachabilityChecker implements Startable {
  readonly [Symbol.toStringTag] = '@natkit/reachability-checker'
  readonly #components: ReachabilityCheckerComponents
  readonly #events: NatkitEvents
  readonly #log: Logger
  /** Observed address per identified connection (identify runs once per connection). */
  readonly #identified = new WeakMap<Connection, Multiaddr | undefined>()

  constructor (components: ReachabilityCheckerComponents, init: ReachabilityCheckerInit) {
    this.#components = components
    this.#events = init.events
    this.#log = components.logger.forComponent('natkit:reachability')
  }

  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>): void => { this.#identified.set(evt.detail.connection, evt.detail.observedAddr) }

  start (): void { this.#components.events.addEventListener('peer:identify', this.#onIdentify) }
  stop (): void { this.#components.events.removeEventListener('peer:identify', this.#onIdentify) }

  /**
   * Asks each AutoNAT v2 server to dial back this node's TCP addresses: its
   * listen addresses and the address the server observed. Emits one
   * `reachability` event per address and server. A server that cannot be
   * reached (or does not answer within `timeout`) is reported as an `error`
   * event and skipped; an existing connection to a server is reused.
   *
   * @throws {NoCandidateAddressesError} a server answered but this node has no non-loopback TCP address to test
   */
  async check (servers: string[], timeout: number): Promise<ReachabilityResult[]> {
    const all: ReachabilityResult[] = []
    let answeredWithoutCandidates = false
    for (const server of servers) {
      const ma = multiaddr(server)
      const serverId = ma.getComponents().findLast(c => c.name === 'p2p')?.value ?? server
      const signal = AbortSignal.timeout(timeout)
      let observed: Multiaddr | undefined
      try {
        // a new connection or one that already existed: libp2p identified it once, take that result
        const conn = await this.#components.connectionManager.openConnection(ma, { signal })
        observed = await this.#observedAddr(conn, signal)
      } catch (err) {
        const why = signal.aborted ? `no answer within ${timeout} ms` : (err as Error).message
        this.#events.emit('error', { message: `cannot reach AutoNAT server ${server}: ${why}` })
        continue
      }
      this.#events.emit('info', { message: `AutoNAT server ${serverId} sees this node as ${observed?.toString() ?? '(no observed address)'}` })
      const candidates = this.#candidates(observed)
      if (candidates.length === 0) {
        answeredWithoutCandidates = true
        continue
      }
      let results: ReachabilityResult[]
      try {
        this.#log('asking %s about %s', serverId, candidates.map(String).join(', '))
        results = await checkReachability(nodeFromComponents(this.#components), ma, candidates, { timeout })
      } catch (err) {
        this.#events.emit('error', { message: `AutoNAT server ${server} gave no verdict: ${(err as Error).message}` })
        continue
      }
      for (const r of results) this.#events.emit('reachability', { addr: r.addr, status: r.status, server: serverId })
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
    const onIdentify = (evt: CustomEvent<IdentifyResult>): void => { if (evt.detail.connection === conn) resolve(evt.detail.observedAddr) }
    const onAbort = (): void => { reject(signal.reason) }
    this.#components.events.addEventListener('peer:identify', onIdentify)
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      if (this.#identified.has(conn)) return this.#identified.get(conn)
      signal.throwIfAborted()
      return await promise
    } finally {
      this.#components.events.removeEventListener('peer:identify', onIdentify)
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** TCP listen addresses plus the server-observed one, without `/p2p` and without loopback. */
  #candidates (observed?: Multiaddr): Multiaddr[] {
    const candidates = new Map<string, Multiaddr>()
    for (const a of [...this.#components.transportManager.getAddrs(), ...(observed != null ? [observed] : [])]) {
      const bare = a.decapsulateCode(CODE_P2P)
      if (TCP.exactMatch(bare) && !isLoopback(bare)) candidates.set(bare.toString(), bare)
    }
    return [...candidates.values()]
  }
}

/** `services: { reachability: reachabilityChecker({ events }) }` */
export function reachabilityChecker (init: ReachabilityCheckerInit): (components: ReachabilityCheckerComponents) => ReachabilityChecker {
  return (components) => new ReachabilityChecker(components, init)
}
