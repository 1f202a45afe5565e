import { resolveOptions } from '@natkit/config'
import { NatkitEvents } from '@natkit/events'
import { identityFromSeed } from '@natkit/identity'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { buildNode } from './builder.js'
import { relayGater } from './relay-gater.js'
import type { Libp2p } from '@libp2p/interface'

const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => await n.stop())) })

async function build (role: 'bootstrap' | 'relay' | 'peer' | 'autonat', flags: Record<string, unknown> = {}): Promise<Libp2p<Record<string, any>>> {
  const options = resolveOptions(role, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], ...flags } })
  const node = await buildNode({ options, privateKey: await identityFromSeed(`builder-${role}`), events: new NatkitEvents() })
  nodes.push(node)
  await node.start()
  return node
}

const transports = (node: Libp2p<Record<string, any>>): string[] => (node as any).components.transportManager.getTransports().map((t: any) => t[Symbol.toStringTag])

describe('buildNode composes each role', () => {
  it('bootstrap: a DHT server on the natkit protocol, identify, ping', async () => {
    const node = await build('bootstrap')
    expect(node.getProtocols()).toEqual(expect.arrayContaining(['/natkit/kad/1.0.0', '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0']))
    expect(node.services.dht.getMode()).toBe('server')
    expect(node.services.relay).toBeUndefined()
  })

  it('relay: circuit relay v2 hop + AutoNAT v2, optional', async () => {
    const node = await build('relay')
    expect(node.getProtocols()).toEqual(expect.arrayContaining(['/libp2p/circuit/relay/0.2.0/hop', '/libp2p/autonat/2/dial-request']))
    const noAutonat = await build('relay', { autonat: false })
    expect(noAutonat.getProtocols()).not.toContain('/libp2p/autonat/2/dial-request')
  })

  it('peer: port-reusing TCP, relay transport, hole punching, DHT client', async () => {
    const node = await build('peer', { webrtc: false })
    expect(transports(node)).toEqual(expect.arrayContaining(['@natkit/tcp-reuse', '@libp2p/circuit-relay-v2-transport']))
    expect(node.getProtocols()).toEqual(expect.arrayContaining(['/libp2p/dcutr', '/libp2p/circuit/relay/0.2.0/stop']))
    expect(node.services.dht.getMode()).toBe('client')
    const stock = await build('peer', { webrtc: false, tcpReuse: false, holepunch: false })
    expect(transports(stock)).toContain('@libp2p/tcp')
    expect(stock.getProtocols()).not.toContain('/libp2p/dcutr')
  })

  it('autonat: an AutoNAT v2 server without DHT or relay', async () => {
    const node = await build('autonat')
    expect(node.getProtocols()).toContain('/libp2p/autonat/2/dial-request')
    expect(node.services.dht).toBeUndefined()
  })
})

describe('relayGater', () => {
  it('emits relay:circuit and caps circuits per source peer within the window', async () => {
    const events = new NatkitEvents()
    const seen: string[] = []
    events.on('relay:circuit', (e) => { seen.push(`${e.src}>${e.dst}`) })
    const gater = relayGater({ events, maxCircuitsPerPeer: 2, windowMs: 60_000, reservationTtl: 1000 })
    const a = peerIdFromString('12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6')
    const b = peerIdFromString('12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C')
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(true)
    expect(await gater.denyOutboundRelayedConnection?.(b, a)).toBe(false)
    expect(seen).toHaveLength(3)
  })

  it('forgets the oldest peers beyond its bound', async () => {
    const events = new NatkitEvents()
    const gater = relayGater({ events, maxCircuitsPerPeer: 1, windowMs: 60_000, reservationTtl: 1000, maxTrackedPeers: 1 })
    const a = peerIdFromString('12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6')
    const b = peerIdFromString('12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C')
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(b, a)).toBe(false)
    // a was evicted, so its count restarted
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
  })
})
