import { setTimeout as delay } from 'node:timers/promises'
import { isIPv4 } from '@chainsafe/is-ip'
import { getNetConfig, isLinkLocal, isLoopback, isPrivate, isPrivateIp } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { TCP, WebSockets } from '@multiformats/multiaddr-matcher'
import {
  DEFAULT_MAPPING_TTL, DEFAULT_MAX_MAPPINGS, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SEARCH_MESSAGE_INTERVAL,
  DEFAULT_SEARCH_RETRY, DEFAULT_SEARCH_RETRY_MAX, DEFAULT_SEARCH_TIMEOUT, DEFAULT_UNMAP_TIMEOUT
} from './constants.js'
import type { Gateway, UPnPNAT } from '@achingbrain/nat-port-mapper'
import type { ComponentLogger, Libp2pEvents, Logger, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { NatkitEvents, UpnpFailureReason } from '@natkit/events'

/** The part of a UPnP client this service uses (`upnpNat()` of @achingbrain/nat-port-mapper; a fake in tests). */
export type UpnpClient = Pick<UPnPNAT, 'findGateways'>

export interface UpnpPortMappingInit {
  /** Where `upnp:mapped` and `upnp:failed` go. */
  events: NatkitEvents
  /** How often M-SEARCH is repeated during a search (ms). @default DEFAULT_SEARCH_MESSAGE_INTERVAL */
  searchMessageInterval?: number
  /** How long one gateway search waits (ms). @default DEFAULT_SEARCH_TIMEOUT */
  searchTimeout?: number
  /** Pause after a search that found no gateway (ms), doubled each time. @default DEFAULT_SEARCH_RETRY */
  searchRetry?: number
  /** Longest pause between searches (ms). @default DEFAULT_SEARCH_RETRY_MAX */
  searchRetryMax?: number
  /** Lease asked for each mapping (ms), renewed while the node runs. @default DEFAULT_MAPPING_TTL */
  mappingTtl?: number
  /** Timeout of one request to the gateway (ms). @default DEFAULT_REQUEST_TIMEOUT */
  requestTimeout?: number
  /** Most ports mapped at once. @default DEFAULT_MAX_MAPPINGS */
  maxMappings?: number
  /** How the mappings are labelled on the gateway. @default `natkit <peer id>` */
  description?: string
  /** The UPnP client. @default upnpNat() of @achingbrain/nat-port-mapper, loaded at start */
  client?: UpnpClient
}

/** The libp2p components the service uses. */
export interface UpnpPortMappingComponents {
  addressManager: Pick<AddressManager, 'getAddressesWithMetadata' | 'addPublicAddressMapping' | 'removePublicAddressMapping' | 'confirmObservedAddr'>
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  peerId: PeerId
}

/** A mapped address stays confirmed while the node runs (the lease is renewed); stop() withdraws it. */
const CONFIRM_FOREVER_MS = 8_640_000_000_000_000

interface Mapped { internalHost: string, internalPort: number, externalHost: string, externalPort: number }

function positive (name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`upnp: ${name} must be a positive number, got ${String(value)}`)
  return v
}

/**
 * Maps this node's private TCP listen ports on the LAN's UPnP IGD gateway and
 * announces the mapped addresses, as soon as the gateway answers.
 *
 * @libp2p/upnp-nat maps 5 s after the node's addresses last changed (a
 * debounce each change restarts), so a peer that is busy — dialling, being
 * observed, reserving relay slots — may go on without a mapping for as long
 * as it stays busy: a UPnP peer that dialled at start hole-punched as a
 * port-restricted one (issue 10). Here a listen address is mapped when the
 * gateway has been found and its external address checked, and a new one as
 * soon as it appears; each outcome is an event, with the reason when there
 * is no mapping (no gateway answered, the gateway's external address is
 * private — a second NAT in front —, the gateway refused or failed).
 */
export class UpnpPortMapping implements Startable {
  readonly [Symbol.toStringTag] = '@natkit/upnp'
  readonly #components: UpnpPortMappingComponents
  readonly #events: NatkitEvents
  readonly #log: Logger
  readonly #searchMessageInterval: number
  readonly #searchTimeout: number
  readonly #searchRetry: number
  readonly #searchRetryMax: number
  readonly #mappingTtl: number
  readonly #requestTimeout: number
  readonly #maxMappings: number
  readonly #description: string
  #client: UpnpClient | undefined
  #controller = new AbortController()
  #startedAt = 0
  #gateway: Gateway | undefined
  #externalIp: string | undefined
  /** key `host:port/tcp` → the mapping */
  readonly #mapped = new Map<string, Mapped>()
  /** keys reported as not mapped (refused, over the bound): not tried again */
  readonly #skipped = new Set<string>()
  #mapping: Promise<void> | undefined
  #again = false
  #search: Promise<void> | undefined

  constructor (components: UpnpPortMappingComponents, init: UpnpPortMappingInit) {
    this.#components = components
    this.#events = init.events
    this.#log = components.logger.forComponent('natkit:upnp')
    this.#searchMessageInterval = positive('searchMessageInterval', init.searchMessageInterval, DEFAULT_SEARCH_MESSAGE_INTERVAL)
    this.#searchTimeout = positive('searchTimeout', init.searchTimeout, DEFAULT_SEARCH_TIMEOUT)
    this.#searchRetry = positive('searchRetry', init.searchRetry, DEFAULT_SEARCH_RETRY)
    this.#searchRetryMax = positive('searchRetryMax', init.searchRetryMax, DEFAULT_SEARCH_RETRY_MAX)
    this.#mappingTtl = positive('mappingTtl', init.mappingTtl, DEFAULT_MAPPING_TTL)
    this.#requestTimeout = positive('requestTimeout', init.requestTimeout, DEFAULT_REQUEST_TIMEOUT)
    this.#maxMappings = Math.floor(positive('maxMappings', init.maxMappings, DEFAULT_MAX_MAPPINGS))
    this.#description = init.description ?? `natkit ${components.peerId.toString()}`
    this.#client = init.client
  }

  /** The mapped addresses, e.g. `/ip4/203.0.113.7/tcp/4100` (for status output and tests). */
  get mappedAddresses (): string[] {
    return [...this.#mapped.values()].map(m => `/ip4/${m.externalHost}/tcp/${m.externalPort}`)
  }

  readonly #onAddresses = (): void => { this.#mapSoon() }

  async start (): Promise<void> {
    this.#controller = new AbortController()
    this.#startedAt = Date.now()
    this.#mapped.clear()
    this.#skipped.clear()
    if (this.#client == null) {
      const { upnpNat } = await import('@achingbrain/nat-port-mapper')
      this.#client = upnpNat({ description: this.#description, ttl: this.#mappingTtl, autoRefresh: true })
    }
    this.#components.events.addEventListener('transport:listening', this.#onAddresses)
    this.#components.events.addEventListener('self:peer:update', this.#onAddresses)
    this.#search = this.#findGateway(this.#client, this.#controller.signal).catch((err: Error) => { this.#log.error('gateway search ended - %e', err) })
  }

  async stop (): Promise<void> {
    this.#controller.abort()
    this.#components.events.removeEventListener('transport:listening', this.#onAddresses)
    this.#components.events.removeEventListener('self:peer:update', this.#onAddresses)
    await this.#search
    await this.#mapping
    for (const m of this.#mapped.values()) {
      this.#components.addressManager.removePublicAddressMapping(m.internalHost, m.internalPort, m.externalHost, m.externalPort, 'tcp')
    }
    this.#mapped.clear()
    const gateway = this.#gateway
    this.#gateway = undefined
    this.#externalIp = undefined
    // removes the gateway's mappings and ends its lease renewals
    if (gateway != null) await gateway.stop({ signal: AbortSignal.timeout(DEFAULT_UNMAP_TIMEOUT) }).catch((err: Error) => { this.#log.error('removing the mappings failed - %e', err) })
  }

  /** Searches until an IPv4 gateway answers (backing off between searches), then checks its external address and maps. */
  async #findGateway (client: UpnpClient, signal: AbortSignal): Promise<void> {
    let retry = this.#searchRetry
    while (!signal.aborted) {
      const gateway = await this.#searchOnce(client, signal)
      if (signal.aborted) {
        await gateway?.stop({ signal: AbortSignal.timeout(DEFAULT_UNMAP_TIMEOUT) }).catch(() => {})
        return
      }
      if (gateway != null) {
        const outcome = await this.#useGateway(gateway, signal, retry)
        if (outcome !== 'retry') return
      } else {
        this.#fail('no-gateway', `no UPnP IGD gateway answered an SSDP search within ${this.#searchTimeout} ms`, retry)
      }
      // ends at once when stopped (the loop then ends)
      await delay(retry, undefined, { signal }).catch(() => {})
      retry = Math.min(retry * 2, this.#searchRetryMax)
    }
  }

  async #searchOnce (client: UpnpClient, signal: AbortSignal): Promise<Gateway | undefined> {
    const search = AbortSignal.any([signal, AbortSignal.timeout(this.#searchTimeout)])
    try {
      for await (const gateway of client.findGateways({ signal: search, searchInterval: this.#searchMessageInterval })) {
        if (gateway.family === 'IPv4') return gateway
        this.#log('ignoring IPv6 gateway %s', gateway.id)
      }
    } catch (err) {
      if (!search.aborted) this.#log.error('gateway search failed - %e', err)
    }
    return undefined
  }

  async #useGateway (gateway: Gateway, signal: AbortSignal, retryInMs: number): Promise<'mapping' | 'double-nat' | 'retry'> {
    const where = `${gateway.host}:${gateway.port}`
    let externalIp: string
    try {
      externalIp = await gateway.externalIp({ signal: AbortSignal.any([signal, AbortSignal.timeout(this.#requestTimeout)]) })
    } catch (err) {
      if (signal.aborted) return 'retry'
      await gateway.stop({ signal: AbortSignal.timeout(DEFAULT_UNMAP_TIMEOUT) }).catch(() => {})
      this.#fail('gateway-error', `the UPnP gateway at ${where} did not tell its external address: ${(err as Error).message}`, retryInMs)
      return 'retry'
    }
    const priv = isPrivateIp(externalIp)
    if (priv !== false) {
      await gateway.stop({ signal: AbortSignal.timeout(DEFAULT_UNMAP_TIMEOUT) }).catch(() => {})
      this.#fail('double-nat', priv === true
        ? `the UPnP gateway at ${where} has the private external address ${externalIp}: another NAT is in front of it, so a mapping would not make this node reachable`
        : `the UPnP gateway at ${where} gave no IP address as its external address (${JSON.stringify(externalIp).slice(0, 64)})`)
      return 'double-nat'
    }
    this.#log('gateway %s, external address %s', where, externalIp)
    this.#gateway = gateway
    this.#externalIp = externalIp
    this.#mapSoon()
    return 'mapping'
  }

  /** Maps what is not mapped yet; a call while mapping runs makes it look again when done (never postponed by later calls). */
  #mapSoon (): void {
    if (this.#gateway == null || this.#controller.signal.aborted) return
    if (this.#mapping != null) {
      this.#again = true
      return
    }
    this.#mapping = (async () => {
      do {
        this.#again = false
        await this.#mapNew()
      } while (this.#again && !this.#controller.signal.aborted)
    })().catch((err: Error) => { this.#log.error('mapping failed - %e', err) }).finally(() => {
      this.#mapping = undefined
      // an address change between the loop's last check and here
      if (this.#again) this.#mapSoon()
    })
  }

  /** Private IPv4 TCP listen addresses (plain or WebSockets), as `host`, `port`, `key`. */
  #candidates (): Array<{ host: string, port: number, key: string, ma: Multiaddr }> {
    const out = new Map<string, { host: string, port: number, key: string, ma: Multiaddr }>()
    for (const { multiaddr: ma, type } of this.#components.addressManager.getAddressesWithMetadata()) {
      if (type !== 'transport') continue
      if (!TCP.exactMatch(ma) && !WebSockets.exactMatch(ma)) continue
      if (isPrivate(ma) !== true || isLoopback(ma) || isLinkLocal(ma)) continue
      const config = getNetConfig(ma)
      if (config.type !== 'ip4' || !isIPv4(config.host) || config.port == null) continue
      const key = `${config.host}:${config.port}/tcp`
      if (!out.has(key)) out.set(key, { host: config.host, port: config.port, key, ma })
    }
    return [...out.values()]
  }

  async #mapNew (): Promise<void> {
    const gateway = this.#gateway
    const signal = this.#controller.signal
    if (gateway == null) return
    const where = `${gateway.host}:${gateway.port}`
    for (const c of this.#candidates()) {
      if (signal.aborted) return
      if (this.#mapped.has(c.key) || this.#skipped.has(c.key)) continue
      if (this.#mapped.size >= this.#maxMappings) {
        this.#skipped.add(c.key)
        this.#fail('limit', `not mapping ${c.ma.toString()}: ${this.#maxMappings} ports are mapped already (maxMappings)`)
        continue
      }
      try {
        const m = await gateway.map(c.port, c.host, {
          protocol: 'TCP',
          description: this.#description,
          ttl: this.#mappingTtl,
          autoRefresh: true,
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.#requestTimeout)])
        })
        if (signal.aborted) return
        const mapped: Mapped = { internalHost: c.host, internalPort: c.port, externalHost: m.externalHost !== '' ? m.externalHost : this.#externalIp ?? '', externalPort: m.externalPort }
        this.#mapped.set(c.key, mapped)
        this.#components.addressManager.addPublicAddressMapping(mapped.internalHost, mapped.internalPort, mapped.externalHost, mapped.externalPort, 'tcp')
        const external = multiaddr(`/ip4/${mapped.externalHost}/tcp/${mapped.externalPort}`)
        // the gateway itself reports the mapping: announced without AutoNAT confirmations
        this.#components.addressManager.confirmObservedAddr(external, { ttl: CONFIRM_FOREVER_MS - Date.now() })
        this.#log('mapped %s:%d to %a', c.host, c.port, external)
        this.#events.emit('upnp:mapped', { internal: `/ip4/${c.host}/tcp/${c.port}`, external: external.toString(), gateway: where, ms: Date.now() - this.#startedAt })
      } catch (err) {
        if (signal.aborted) return
        this.#skipped.add(c.key)
        this.#fail('map-refused', `the UPnP gateway at ${where} did not map TCP port ${c.port} of ${c.host}: ${(err as Error).message}`)
      }
    }
  }

  #fail (reason: UpnpFailureReason, message: string, retryInMs?: number): void {
    this.#log('%s: %s', reason, message)
    this.#events.emit('upnp:failed', { reason, message, ...(retryInMs != null ? { retryInMs } : {}) })
  }
}

/** `services: { upnp: upnpPortMapping({ events }) }` */
export function upnpPortMapping (init: UpnpPortMappingInit): (components: UpnpPortMappingComponents) => UpnpPortMapping {
  return (components) => new UpnpPortMapping(components, init)
}
