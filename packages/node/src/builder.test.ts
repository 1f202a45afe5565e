import { ROLES, defaultFor, optionsFor, resolveOptions, type Role, type RoleOptions } from '@natkit/config'
import { NatkitEvents } from '@natkit/events'
import { identityFromSeed } from '@natkit/identity'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { buildNode, composeInit } from './builder.js'
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
  it('caps circuits per source peer within the window; a denial is a warn', async () => {
    const events = new NatkitEvents()
    const seen: string[] = []
    events.on('warn', (e) => { seen.push(e.message) })
    const gater = relayGater({ events, maxCircuitsPerPeer: 2, windowMs: 60_000 })
    const a = peerIdFromString('12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6')
    const b = peerIdFromString('12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C')
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(true)
    expect(await gater.denyOutboundRelayedConnection?.(b, a)).toBe(false)
    expect(seen).toEqual([expect.stringMatching(/denied: more than 2 circuits within 60000 ms/)])
    // the gater is asked before the outcome is known: it grants reservations without reporting them
    expect(gater.denyInboundRelayReservation).toBeUndefined()
  })

  it('forgets the oldest peers beyond its bound', async () => {
    const events = new NatkitEvents()
    const gater = relayGater({ events, maxCircuitsPerPeer: 1, windowMs: 60_000, maxTrackedPeers: 1 })
    const a = peerIdFromString('12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6')
    const b = peerIdFromString('12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C')
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(b, a)).toBe(false)
    // a was evicted, so its count restarted
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
  })
})

describe('composeInit: every limit option reaches the component that uses it', () => {
  /** option key → where its value must arrive in `composeInit`'s result, per role. */
  const PATHS: Record<string, string[]> = {
    maxConnections: ['connectionManager.maxConnections'],
    dialTimeout: ['connectionManager.dialTimeout'],
    kBucketSize: ['dht.kBucketSize'],
    maxReservations: ['relayServer.reservations.maxReservations'],
    reservationTtl: ['relayServer.reservations.reservationTtl'],
    circuitDuration: ['relayServer.reservations.defaultDurationLimit', 'relayGater.windowMs'],
    circuitData: ['relayServer.reservations.defaultDataLimit'],
    maxCircuitsPerPeer: ['relayGater.maxCircuitsPerPeer'],
    maxInboundHopStreams: ['relayServer.maxInboundHopStreams'],
    maxOutboundStopStreams: ['relayServer.maxOutboundStopStreams'],
    hopTimeout: ['relayServer.hopTimeout'],
    holepunchTimeout: ['holepunch.timeout'],
    holepunchAttempts: ['holepunch.attempts'],
    reservationRetry: ['reservationKeeper.retry'],
    reservationRetryMax: ['reservationKeeper.retryMax']
  }
  /** per role, because the same option feeds different components */
  const ROLE_PATHS: Partial<Record<Role, Record<string, string[]>>> = {
    peer: { dialTimeout: ['connectionManager.dialTimeout', 'circuitTransport.reservationCompletionTimeout', 'reservationKeeper.timeout'] }
  }
  /** Limits that are not handed to libp2p: the apps use them directly. */
  const NOT_LIBP2P = new Set(['timeout', 'pingInterval'])
  const LIMIT_TYPES = new Set(['int', 'duration', 'bytes'])
  const get = (obj: any, path: string): unknown => path.split('.').reduce((o, k) => o?.[k], obj)

  for (const role of ROLES) {
    it(`${role}: a non-default value of each limit arrives unchanged`, () => {
      const limits = optionsFor(role).filter(s => LIMIT_TYPES.has(s.type) && !NOT_LIBP2P.has(s.key))
      const used = new Set<number>()
      const flags: Record<string, unknown> = { relay: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6'] }
      // distinct values, so that one option passed in place of another is caught too
      for (const spec of limits) {
        const def = defaultFor(spec, 'local', role) as number
        const next = (from: number): number => { let v = from; while (v === def || used.has(v)) v++; return v }
        let v = next(def + 1)
        if (spec.max != null && v > spec.max) v = next(spec.min ?? 0)
        used.add(v)
        flags[spec.key] = v
      }
      const options = resolveOptions(role, { flags: role === 'peer' ? flags : { ...flags, relay: undefined } })
      const composed = composeInit(options as RoleOptions<Role>)
      for (const spec of limits) {
        const paths = ROLE_PATHS[role]?.[spec.key] ?? PATHS[spec.key]
        expect(paths, `option ${spec.key} (${role}) is not mapped to a libp2p component in this test`).toBeDefined()
        expect((options as any)[spec.key]).not.toBe(defaultFor(spec, 'local', role))
        for (const path of paths) expect(String(get(composed, path)), `${spec.key} -> ${path}`).toBe(String((options as any)[spec.key]))
      }
    })
  }
})
