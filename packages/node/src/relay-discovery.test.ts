import { createHash } from 'node:crypto'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify, type Identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { NatkitEvents, type NatkitEvent } from '@natkit/events'
import { createLibp2p, type Libp2pOptions, type ServiceFactoryMap } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { RELAY_RENDEZVOUS_PREFIX, relayRendezvousCid } from './discovery.js'
import { relayAdvertiser } from './relay-advertiser.js'
import { relayDiscovery } from './relay-discovery.js'
import type { Libp2p, PeerId, ServiceMap } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

describe('the relay key (docs/relay-discovery.md)', () => {
  it('is CIDv1, raw codec, of the SHA-256 of /natkit/relay/<network>: one per network preset', () => {
    const lab = relayRendezvousCid('lab')
    expect(lab.version).toBe(1)
    expect(lab.code).toBe(0x55)
    expect(lab.multihash.code).toBe(0x12)
    expect(Buffer.from(lab.multihash.digest).toString('hex')).toBe(createHash('sha256').update(`${RELAY_RENDEZVOUS_PREFIX}lab`).digest('hex'))
    // the values documented in docs/relay-discovery.md
    expect(lab.toString()).toBe('bafkreicyog2zjtn6frp6xk566ssvphrod3yfowkp4dwxq4kid3hzrzkosy')
    expect(relayRendezvousCid('local').toString()).toBe('bafkreihb3wrweri2elycbaabpjmjtvlz32llz4kirplwq5n2nxu6s526rq')
    expect(relayRendezvousCid('public').equals(lab)).toBe(false)
  })
})

/** In-process nodes on 127.0.0.1: a DHT server (bootstrap), relays that advertise, a peer that discovers. */
const PROTOCOL = '/natkit-test/kad/1.0.0'
const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => await n.stop())) })

/** identify and ping, which kad-dht needs */
type Base = { identify: Identify, ping: Ping }
const base = (): ServiceFactoryMap<Base> => ({ identify: identify(), ping: ping() })

async function node<S extends ServiceMap> (services: ServiceFactoryMap<S & Base>, connectionGater: Libp2pOptions['connectionGater'] = {}, transports: Libp2pOptions['transports'] = [tcp()]): Promise<Libp2p<S & Base>> {
  const n = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater,
    services
  })
  nodes.push(n)
  return n
}

const dht = (clientMode: boolean): ReturnType<typeof kadDHT> => kadDHT({ clientMode, protocol: PROTOCOL, peerInfoMapper: passthroughMapper, allowQueryWithZeroPeers: true, initialQuerySelfInterval: 0 })

describe('RelayDiscovery with real nodes (loopback)', () => {
  it('dials candidates only through the connection gater: a relay the gater refuses is never used, the other is reserved on', async () => {
    const boot = await node({ ...base(), dht: dht(false) })
    const bootMa = boot.getMultiaddrs()[0] as Multiaddr
    const relayEvents = new NatkitEvents()
    const relays = await Promise.all([1, 2].map(async () => await node({ ...base(), relay: circuitRelayServer(), dht: dht(true), relayAdvertiser: relayAdvertiser({ network: 'test', bootstrap: [bootMa], events: relayEvents }) })))
    let advertised = 0
    const allAdvertised = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${advertised} of ${relays.length} relays advertised within 15 s`)) }, 15_000)
      relayEvents.on('relay:advertised', () => { if (++advertised === relays.length) { clearTimeout(timer); resolve() } })
    })
    await Promise.all(relays.map(async r => await r.dial(bootMa)))
    await allAdvertised

    const [refused, allowed] = [relays[0], relays[1]] as [Libp2p, Libp2p]
    const asked: string[] = []
    const gater = {
      denyDialMultiaddr: (ma: Multiaddr): boolean => {
        asked.push(ma.toString())
        return ma.toString().includes(refused.peerId.toString())
      },
      denyDialPeer: (peer: PeerId): boolean => peer.equals(refused.peerId)
    }
    const events = new NatkitEvents()
    const log: NatkitEvent[] = []
    events.onAny(e => { log.push(e) })
    const peer = await node({ ...base(), dht: dht(true), relayDiscovery: relayDiscovery({ network: 'test', events, relays: 2, retry: 60_000, retryMax: 60_000 }) }, gater, [tcp(), circuitRelayTransport()])
    await peer.dial(bootMa)
    const reserved = events.waitFor('reservation', () => true, 15_000)
    ;peer.services.relayDiscovery.keep()
    const lookup = await events.waitFor('relay:discovery', () => true, 15_000)
    expect(lookup.found).toBe(2)
    expect(lookup.candidates.map(c => c.relay)).toEqual([allowed.peerId.toString()])
    expect((await reserved).relay).toBe(allowed.peerId.toString())
    // the gater was asked, and the refused relay was never connected to
    expect(asked.some(a => a.includes(allowed.peerId.toString()))).toBe(true)
    expect(peer.getConnections(refused.peerId)).toEqual([])
    expect(log.filter(e => e.event === 'relay:selected').map(e => (e as NatkitEvent<'relay:selected'>).relay)).toEqual([allowed.peerId.toString()])
    expect(peer.services.relayDiscovery.relays).toEqual([allowed.peerId.toString()])
  }, 30_000)
})
