/**
 * Relays advertise themselves in the DHT so that peers without `--relay` find
 * them (issue 14): a provider record under the network's well-known relay key
 * ({@link relayRendezvousCid}: the SHA-256 of `/natkit/relay/<network>`),
 * published at start, every {@link DEFAULT_RELAY_ADVERTISE_INTERVAL} and as
 * soon as a lost `--bootstrap` peer is connected again: provider records live
 * in the DHT servers' memory, so a restarted bootstrap node has forgotten it.
 */
import { serviceDependencies, type ComponentLogger, type Libp2pEvents, type Logger, type Startable, type TypedEventTarget } from '@libp2p/interface'
import { retryDelay, sleep } from './backoff.js'
import { keeperTarget, startBootstrapKeeper } from './bootstrap-keeper.js'
import { DEFAULT_RESERVATION_JITTER, DEFAULT_RESERVATION_RETRY, DEFAULT_RESERVATION_RETRY_MAX } from './defaults.js'
import { DhtNotReadyError, DEFAULT_DHT_QUERY_TIMEOUT, DEFAULT_DHT_READY_TIMEOUT, provideTo, relayRendezvousCid, waitForRoutingTablePeer } from './discovery.js'
import type { NatkitEvents } from '@natkit/events'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { KadDHT, KadDHTInit } from '@libp2p/kad-dht'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * How often a relay publishes its provider record again (ms), beside at start
 * and after a bootstrap node came back (kad-dht keeps provider records 48 h).
 *
 * @default 600000 (10 min)
 */
export const DEFAULT_RELAY_ADVERTISE_INTERVAL = 10 * 60_000
/** Bound on one redial of a lost bootstrap peer (ms). @default 10000 */
export const DEFAULT_BOOTSTRAP_REDIAL_TIMEOUT = 10_000

export interface RelayAdvertiserInit {
  /** The network's name in the relay key: the `--network` preset. */
  network: string
  events: NatkitEvents
  /** `--bootstrap` peers, kept connected: a reconnected one gets the record again at once. */
  bootstrap: Array<string | Multiaddr>
  /**
   * Publish the record again this often (ms).
   *
   * @default DEFAULT_RELAY_ADVERTISE_INTERVAL
   */
  interval?: number
  /**
   * Bound on one publication (ms): waiting for a DHT peer, then the provide query.
   *
   * @default DEFAULT_DHT_QUERY_TIMEOUT
   */
  timeout?: number
  /**
   * First delay before publishing again after a failure (ms), doubled per failure; also the bootstrap redial schedule.
   *
   * @default DEFAULT_RESERVATION_RETRY
   */
  retry?: number
  /**
   * Upper bound of that delay (ms).
   *
   * @default DEFAULT_RESERVATION_RETRY_MAX
   */
  retryMax?: number
  /**
   * Random fraction taken off each delay.
   *
   * @default DEFAULT_RESERVATION_JITTER
   */
  jitter?: number
  /**
   * Bound on one bootstrap redial (ms).
   *
   * @default DEFAULT_BOOTSTRAP_REDIAL_TIMEOUT
   */
  dialTimeout?: number
}

/** The libp2p components the advertiser uses. */
export interface RelayAdvertiserComponents {
  connectionManager: Pick<ConnectionManager, 'getConnections' | 'openConnection'>
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  /** the node's @libp2p/kad-dht service, registered as `dht` (required: optional only in a role's service map) */
  dht?: Pick<KadDHT, 'provide'>
}

/** Publishes the relay's provider record (see the module comment); emits `relay:advertised`, and `warn` when a publication failed (it is retried). */
export class RelayAdvertiser implements Startable {
  readonly [Symbol.toStringTag] = '@natkit/relay-advertiser'
  readonly [serviceDependencies]: string[] = ['@libp2p/kad-dht']
  readonly #components: RelayAdvertiserComponents
  readonly #init: Required<Omit<RelayAdvertiserInit, 'events' | 'bootstrap' | 'network'>> & Pick<RelayAdvertiserInit, 'events' | 'bootstrap' | 'network'>
  readonly #log: Logger
  #controller = new AbortController()
  #wake = new AbortController()
  #loop?: Promise<void>
  #stopKeeper?: () => Promise<void>

  constructor (components: RelayAdvertiserComponents, init: RelayAdvertiserInit) {
    this.#components = components
    this.#log = components.logger.forComponent('natkit:relay-advertiser')
    this.#init = {
      ...init,
      interval: init.interval ?? DEFAULT_RELAY_ADVERTISE_INTERVAL,
      timeout: init.timeout ?? DEFAULT_DHT_QUERY_TIMEOUT,
      retry: init.retry ?? DEFAULT_RESERVATION_RETRY,
      retryMax: init.retryMax ?? DEFAULT_RESERVATION_RETRY_MAX,
      jitter: init.jitter ?? DEFAULT_RESERVATION_JITTER,
      dialTimeout: init.dialTimeout ?? DEFAULT_BOOTSTRAP_REDIAL_TIMEOUT
    }
  }

  /** The DHT key this relay advertises under. */
  get cid (): ReturnType<typeof relayRendezvousCid> {
    return relayRendezvousCid(this.#init.network)
  }

  start (): void {
    this.#controller = new AbortController()
  }

  afterStart (): void {
    const { retry, retryMax, jitter, dialTimeout } = this.#init
    this.#stopKeeper = startBootstrapKeeper(keeperTarget(this.#components), {
      list: this.#init.bootstrap,
      retry,
      retryMax,
      jitter,
      dialTimeout,
      onReconnect: (peer) => {
        this.#log('bootstrap peer %p is back: advertising again', peer)
        this.#wake.abort()
      }
    })
    this.#loop = this.#run(this.#controller.signal)
  }

  async beforeStop (): Promise<void> {
    this.#controller.abort()
    await this.#stopKeeper?.()
    await this.#loop
  }

  stop (): void {}

  async #run (signal: AbortSignal): Promise<void> {
    const cid = this.cid
    let failures = 0
    while (!signal.aborted) {
      this.#wake = new AbortController()
      const woken = this.#wake.signal
      let delay = this.#init.interval
      try {
        const bounded = AbortSignal.any([signal, woken, AbortSignal.timeout(this.#init.timeout)])
        await waitForRoutingTablePeer(this.#components.dht, Math.min(this.#init.timeout, DEFAULT_DHT_READY_TIMEOUT), bounded)
        const dht = this.#components.dht
        if (dht == null) throw new DhtNotReadyError('this node runs no DHT service named dht')
        const servers = await provideTo(dht, cid, bounded)
        failures = 0
        this.#init.events.emit('relay:advertised', { cid: cid.toString(), network: this.#init.network, servers })
      } catch (err) {
        if (signal.aborted) return
        // a bootstrap node came back while publishing (perhaps stuck on its old connection): publish anew at once
        if (woken.aborted) continue
        delay = retryDelay(failures++, this.#init)
        this.#init.events.emit('warn', { message: `advertising this relay in the DHT failed: ${(err as Error).message} (retry in ${delay} ms)` })
      }
      if (!woken.aborted) await sleep(delay, AbortSignal.any([signal, woken]))
    }
  }
}

/** The advertiser as a libp2p service: `services: { dht: kadDHT(…), relayAdvertiser: relayAdvertiser({ network, bootstrap, events }) }`. */
export function relayAdvertiser (init: RelayAdvertiserInit): (components: RelayAdvertiserComponents) => RelayAdvertiser {
  return (components) => new RelayAdvertiser(components, init)
}

/** The services {@link relayAdvertisingServices} adds, as a role's service map declares them. */
export type RelayAdvertisingServices = {
  /** with `--bootstrap`: a DHT client */
  dht?: KadDHT
  /** with `--bootstrap`: the advertiser of this relay in the DHT */
  relayAdvertiser?: RelayAdvertiser
}

/** What a relay needs to advertise itself: its options. */
export interface RelayAdvertisingOptions {
  network: string
  bootstrap: ReadonlyArray<string | Multiaddr>
  dhtProtocol: string
  dialTimeout: number
}

/** The Kademlia init of an advertising relay: a DHT client (it serves no DHT queries) on `--dht-protocol`; only the public preset keeps private addresses out of records. */
export function relayDhtInit (o: Pick<RelayAdvertisingOptions, 'network' | 'dhtProtocol'>): Omit<KadDHTInit, 'peerInfoMapper'> & { publicAddressesOnly: boolean } {
  return { clientMode: true, protocol: o.dhtProtocol, initialQuerySelfInterval: 0, publicAddressesOnly: o.network === 'public' }
}

/**
 * The services a relay with `--bootstrap` adds to advertise itself: a DHT
 * client and the advertiser (none without `--bootstrap`: nothing loads
 * @libp2p/kad-dht then).
 */
export async function relayAdvertisingServices (o: RelayAdvertisingOptions, events: NatkitEvents): Promise<{ dht: ReturnType<typeof import('@libp2p/kad-dht').kadDHT>, relayAdvertiser: ReturnType<typeof relayAdvertiser> } | Record<string, never>> {
  if (o.bootstrap.length === 0) return {}
  const { kadDHT, passthroughMapper, removePrivateAddressesMapper } = await import('@libp2p/kad-dht')
  const { publicAddressesOnly, ...init } = relayDhtInit(o)
  return {
    dht: kadDHT({ ...init, peerInfoMapper: publicAddressesOnly ? removePrivateAddressesMapper : passthroughMapper }),
    relayAdvertiser: relayAdvertiser({ network: o.network, bootstrap: [...o.bootstrap], events, dialTimeout: o.dialTimeout })
  }
}
