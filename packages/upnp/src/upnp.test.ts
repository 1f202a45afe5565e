import { multiaddr } from '@multiformats/multiaddr'
import { NatkitEvents, type NatkitEvent } from '@natkit/events'
import { describe, expect, it } from 'vitest'
import { UpnpPortMapping } from './upnp.js'
import type { Gateway, MapPortOptions, PortMapping } from '@achingbrain/nat-port-mapper'
import type { ComponentLogger, Libp2pEvents, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { NodeAddress } from '@libp2p/interface-internal'
import type { UpnpClient, UpnpPortMappingComponents, UpnpPortMappingInit } from './upnp.js'

const silent = { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) } as unknown as ComponentLogger
const peerId = { toString: () => '12D3KooWTest' } as unknown as PeerId

interface FakeGateway extends Gateway {
  maps: Array<{ port: number, host: string, options?: MapPortOptions }>
  stopped: number
}

/** A gateway at 192.168.1.1:5000 with external address `externalIp`; `refuse` ports throw on map. */
function fakeGateway (opts: { externalIp?: string | Error, refuse?: number[], family?: 'IPv4' | 'IPv6' } = {}): FakeGateway {
  const gw: FakeGateway = {
    id: 'gw1',
    host: '192.168.1.1',
    port: 5000,
    family: opts.family ?? 'IPv4',
    maps: [],
    stopped: 0,
    async stop () { gw.stopped++ },
    async map (port: number, host: string, options?: MapPortOptions): Promise<PortMapping> {
      gw.maps.push({ port, host, options })
      if (opts.refuse?.includes(port) === true) throw new Error('ConflictInMappingEntry')
      return { externalHost: '11.0.1.1', externalPort: port, internalHost: host, internalPort: port, protocol: 'TCP' }
    },
    async * mapAll () {},
    async unmap () {},
    async externalIp () {
      const ip = opts.externalIp ?? '11.0.1.1'
      if (ip instanceof Error) throw ip
      return ip
    }
  }
  return gw
}

/** Each search yields the next entry of `answers` (undefined: nothing answers, the search runs until its signal ends). */
function fakeClient (answers: Array<Gateway | undefined>): UpnpClient & { searches: number } {
  const client = {
    searches: 0,
    async * findGateways (options?: { signal?: AbortSignal }) {
      const answer = answers[Math.min(client.searches++, answers.length - 1)]
      if (answer != null) {
        yield answer
        return
      }
      const signal = options?.signal
      if (signal == null) throw new Error('a search needs a signal')
      if (!signal.aborted) await new Promise(resolve => { signal.addEventListener('abort', resolve, { once: true }) })
    }
  }
  return client as unknown as UpnpClient & { searches: number }
}

interface Harness {
  service: UpnpPortMapping
  log: NatkitEvent[]
  addrs: NodeAddress[]
  libp2pEvents: EventTarget
  published: string[]
  removed: string[]
  confirmed: string[]
  events: NatkitEvents
}

function harness (client: UpnpClient, init: Partial<UpnpPortMappingInit> = {}, listen: string[] = ['/ip4/192.168.1.10/tcp/4100', '/ip4/127.0.0.1/tcp/4100']): Harness {
  const addrs: NodeAddress[] = listen.map(a => ({ multiaddr: multiaddr(a), type: 'transport', verified: true, expires: Infinity }))
  const published: string[] = []
  const removed: string[] = []
  const confirmed: string[] = []
  const libp2pEvents = new EventTarget()
  const components: UpnpPortMappingComponents = {
    addressManager: {
      getAddressesWithMetadata: () => addrs,
      addPublicAddressMapping: (ih: string, ip: number, eh: string, ep?: number) => { published.push(`${ih}:${ip}->${eh}:${ep}`) },
      removePublicAddressMapping: (ih: string, ip: number, eh: string, ep?: number) => { removed.push(`${ih}:${ip}->${eh}:${ep}`) },
      confirmObservedAddr: (ma) => { confirmed.push(ma.toString()) }
    },
    events: libp2pEvents as unknown as TypedEventTarget<Libp2pEvents>,
    logger: silent,
    peerId
  }
  const events = new NatkitEvents()
  const log: NatkitEvent[] = []
  events.onAny(e => { log.push(e) })
  const service = new UpnpPortMapping(components, { events, client, ...init })
  return { service, log, addrs, libp2pEvents, published, removed, confirmed, events }
}

describe('@natkit/upnp', () => {
  it('maps each private TCP listen port once the gateway answered, announces it and says so', async () => {
    const gw = fakeGateway()
    const h = harness(fakeClient([gw]), { mappingTtl: 120_000 })
    await h.service.start()
    const mapped = await h.events.waitFor('upnp:mapped', () => true, 5_000)
    expect(mapped).toMatchObject({ internal: '/ip4/192.168.1.10/tcp/4100', external: '/ip4/11.0.1.1/tcp/4100', gateway: '192.168.1.1:5000' })
    // loopback is not mapped; the init's lease reaches the gateway
    expect(gw.maps).toEqual([{ port: 4100, host: '192.168.1.10', options: expect.objectContaining({ protocol: 'TCP', ttl: 120_000, autoRefresh: true, description: 'natkit 12D3KooWTest' }) }])
    expect(h.published).toEqual(['192.168.1.10:4100->11.0.1.1:4100'])
    expect(h.confirmed).toEqual(['/ip4/11.0.1.1/tcp/4100'])
    expect(h.service.mappedAddresses).toEqual(['/ip4/11.0.1.1/tcp/4100'])
    await h.service.stop()
    // stopping withdraws the address and has the gateway remove its mappings
    expect(h.removed).toEqual(['192.168.1.10:4100->11.0.1.1:4100'])
    expect(gw.stopped).toBe(1)
  })

  it('maps while the node\'s addresses keep changing (no debounce that each change restarts), and a new listen port at once', async () => {
    const gw = fakeGateway()
    const h = harness(fakeClient([gw]))
    await h.service.start()
    let churn = 0
    const first = h.events.waitFor('upnp:mapped', () => true, 5_000)
    const timer = setInterval(() => { if (churn++ < 500) h.libp2pEvents.dispatchEvent(new CustomEvent('self:peer:update')) }, 5)
    try {
      await first
      // mapped while the updates were still coming (upnp-nat would wait for 5 s of quiet)
      expect(churn).toBeLessThan(500)
      h.addrs.push({ multiaddr: multiaddr('/ip4/192.168.1.10/tcp/4200/ws'), type: 'transport', verified: true, expires: Infinity })
      const second = await h.events.waitFor('upnp:mapped', e => e.internal.endsWith('/4200'), 5_000)
      expect(second.external).toBe('/ip4/11.0.1.1/tcp/4200')
      expect(churn).toBeLessThan(500)
    } finally {
      clearInterval(timer)
    }
    // each port mapped once, however many updates came
    expect(gw.maps.map(m => m.port)).toEqual([4100, 4200])
    await h.service.stop()
  })

  it('says when no gateway answers, backs off, and maps once one does', async () => {
    const gw = fakeGateway()
    const client = fakeClient([undefined, undefined, gw])
    const h = harness(client, { searchTimeout: 30, searchRetry: 20, searchRetryMax: 30 })
    await h.service.start()
    await h.events.waitFor('upnp:mapped', () => true, 5_000)
    const failed = h.log.filter(e => e.event === 'upnp:failed')
    expect(failed).toEqual([
      expect.objectContaining({ reason: 'no-gateway', retryInMs: 20, message: 'no UPnP IGD gateway answered an SSDP search within 30 ms' }),
      expect.objectContaining({ reason: 'no-gateway', retryInMs: 30 })
    ])
    expect(client.searches).toBe(3)
    await h.service.stop()
  })

  it('maps nothing behind a second NAT (the gateway\'s external address is private) and names it', async () => {
    const gw = fakeGateway({ externalIp: '100.64.3.4' })
    const h = harness(fakeClient([gw]))
    await h.service.start()
    const failed = await h.events.waitFor('upnp:failed', () => true, 5_000)
    expect(failed).toMatchObject({ reason: 'double-nat' })
    expect((failed as NatkitEvent<'upnp:failed'>).message).toContain('private external address 100.64.3.4')
    expect(gw.maps).toEqual([])
    await h.service.stop()
    expect(h.published).toEqual([])
  })

  it('reports a gateway that does not tell its external address, and searches again', async () => {
    const broken = fakeGateway({ externalIp: new Error('HTTP 500') })
    const good = fakeGateway()
    const h = harness(fakeClient([broken, good]), { searchRetry: 10 })
    await h.service.start()
    await h.events.waitFor('upnp:mapped', () => true, 5_000)
    expect(h.log.find(e => e.event === 'upnp:failed')).toMatchObject({ reason: 'gateway-error', retryInMs: 10, message: 'the UPnP gateway at 192.168.1.1:5000 did not tell its external address: HTTP 500' })
    expect(broken.maps).toEqual([])
    await h.service.stop()
  })

  it('a refused mapping is reported with the port and the gateway\'s reason; the other ports are still mapped; at most maxMappings', async () => {
    const gw = fakeGateway({ refuse: [4100] })
    const listen = ['/ip4/192.168.1.10/tcp/4100', '/ip4/192.168.1.10/tcp/4101', '/ip4/192.168.1.10/tcp/4102', '/ip4/192.168.1.10/tcp/4103']
    const h = harness(fakeClient([gw]), { maxMappings: 2 }, listen)
    await h.service.start()
    await h.events.waitFor('upnp:failed', e => e.reason === 'limit', 5_000)
    const failed = h.log.filter((e): e is NatkitEvent<'upnp:failed'> => e.event === 'upnp:failed')
    expect(failed.map(e => e.reason)).toEqual(['map-refused', 'limit'])
    expect(failed[0].message).toBe('the UPnP gateway at 192.168.1.1:5000 did not map TCP port 4100 of 192.168.1.10: ConflictInMappingEntry')
    expect(failed[1].message).toContain('/ip4/192.168.1.10/tcp/4103')
    expect(h.service.mappedAddresses).toEqual(['/ip4/11.0.1.1/tcp/4101', '/ip4/11.0.1.1/tcp/4102'])
    // neither the refused nor the unbounded one is asked again on the next address change
    h.libp2pEvents.dispatchEvent(new CustomEvent('self:peer:update'))
    await h.service.stop()
    expect(gw.maps.map(m => m.port)).toEqual([4100, 4101, 4102])
  })

  it('ignores IPv6 gateways and maps nothing public, loopback or UDP', async () => {
    const v6 = fakeGateway({ family: 'IPv6' })
    const v4 = fakeGateway()
    // one search answered by an IPv6 gateway first, then an IPv4 one
    const client = { async * findGateways () { yield v6; yield v4 } } as unknown as UpnpClient
    const h = harness(client, {}, ['/ip4/11.0.0.5/tcp/4100', '/ip4/127.0.0.1/tcp/4100', '/ip4/192.168.1.10/udp/4100/quic-v1', '/ip4/192.168.1.10/tcp/4300'])
    await h.service.start()
    await h.events.waitFor('upnp:mapped', () => true, 5_000)
    await h.service.stop()
    expect(v6.maps).toEqual([])
    expect(v4.maps.map(m => m.port)).toEqual([4300])
  })

  it('refuses a non-positive bound, naming it', () => {
    expect(() => harness(fakeClient([]), { maxMappings: 0 })).toThrow('upnp: maxMappings must be a positive number, got 0')
    expect(() => harness(fakeClient([]), { searchTimeout: Number.NaN })).toThrow(/searchTimeout/)
  })

  it('stops during a search without waiting for it to time out', async () => {
    const client = fakeClient([undefined])
    const h = harness(client, { searchTimeout: 60_000 })
    await h.service.start()
    const t0 = Date.now()
    await h.service.stop()
    expect(Date.now() - t0).toBeLessThan(1_000)
    expect(h.log).toEqual([])
  })
})
