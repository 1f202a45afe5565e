import { limitsNotReaching, resolveOptions } from '@natkit/config'
import { NatkitEvents, type NatkitEvent } from '@natkit/events'
import { createStunServer, type StunServer } from '@natkit/stun'
import { DEFAULT_NAT_DISCOVERY_LIFETIME_MAX_MS, DEFAULT_NAT_DISCOVERY_TIMEOUT } from './nat.js'
import { PEER_ROLE } from './options.js'
import { afterEach, describe, expect, it } from 'vitest'
import { StrictSign, TopicValidatorResult } from '@libp2p/gossipsub'
import { DHT_INITIAL_SELF_QUERY_DELAY, composeInit, createPeer, dialDiscovered, textValidator } from './node.js'
import type { PeerDiscoveryEvents, PeerInfo, TypedEventTarget } from '@libp2p/interface'
import { PUBSUB_MAX_FRAME } from './options.js'
import { DEFAULT_CONFIRM_TIMEOUT, DEFAULT_WEBRTC_ACCEPT_WINDOW, WEBRTC_SIGNALING_PROTOCOL, confirmDirect, nodeComponents, transportTags, type NatkitRunner } from '@natkit/node'

const running: NatkitRunner[] = []
afterEach(async () => { await Promise.all(running.splice(0).map(async r => { await r.stop() })) })

async function start (flags: Record<string, unknown> = {}): Promise<Awaited<ReturnType<typeof createPeer>>> {
  const r = await createPeer(resolveOptions(PEER_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], seed: 'node-peer', upnp: false, ...flags } }), new NatkitEvents())
  running.push(r)
  await r.start()
  return r
}

const transports = (node: Parameters<typeof nodeComponents>[0]): string[] => transportTags(nodeComponents(node).transportManager)

describe('peer composition', () => {
  it('port-reusing TCP, relay transport, hole punching, DHT client', async () => {
    const { node } = await start({ webrtc: false })
    expect(transports(node)).toEqual(expect.arrayContaining(['@natkit/tcp-reuse', '@libp2p/circuit-relay-v2-transport']))
    expect(node.getProtocols()).toEqual(expect.arrayContaining(['/libp2p/dcutr', '/libp2p/circuit/relay/0.2.0/stop']))
    expect(node.services.dht?.getMode()).toBe('client')
    const stock = await start({ webrtc: false, tcpReuse: false, holepunch: false })
    expect(transports(stock.node)).toContain('@libp2p/tcp')
    expect(stock.node.getProtocols()).not.toContain('/libp2p/dcutr')
  })
})

describe('no fixed wait before the first DHT lookup (issue 14)', () => {
  it('the DHT self-query that lookups wait for starts at once; only the public preset keeps private addresses out', () => {
    const o = resolveOptions(PEER_ROLE, {})
    expect(DHT_INITIAL_SELF_QUERY_DELAY).toBe(0)
    expect(composeInit(o).dht).toMatchObject({ clientMode: true, initialQuerySelfInterval: DHT_INITIAL_SELF_QUERY_DELAY, publicAddressesOnly: false })
    expect(composeInit({ ...o, network: 'public' }).dht?.publicAddressesOnly).toBe(true)
    expect(composeInit({ ...o, dht: false }).dht).toBeUndefined()
  })
})

describe('--direct-paths reaches the components that make each path', () => {
  const init = (directPaths: string): ReturnType<typeof composeInit> => composeInit(resolveOptions(PEER_ROLE, { flags: { directPaths } }))

  it('composeInit: tcp mounts hole punching (with the confirming ping), webrtc the WebRTC transport with its acceptance window', () => {
    expect(init('tcp').holepunch?.confirmDirect).toBe(confirmDirect)
    expect(init('tcp').webrtc).toBeUndefined()
    expect(init('webrtc').holepunch).toBeUndefined()
    expect(init('webrtc').webrtc?.inboundUpgradeTimeout).toBe(DEFAULT_WEBRTC_ACCEPT_WINDOW)
    expect(init('tcp,webrtc')).toMatchObject({ holepunch: { confirmTimeout: DEFAULT_CONFIRM_TIMEOUT }, webrtc: { iceServers: [] } })
    // a path whose feature is off is not mounted either
    expect(composeInit(resolveOptions(PEER_ROLE, { flags: { holepunch: false } })).holepunch).toBeUndefined()
  })

  it('a running peer speaks exactly the protocols of its paths', async () => {
    const tcpOnly = await start({ directPaths: 'tcp' })
    expect(tcpOnly.node.getProtocols()).toContain('/libp2p/dcutr')
    expect(tcpOnly.node.getProtocols()).not.toContain(WEBRTC_SIGNALING_PROTOCOL)
    const webrtcOnly = await start({ directPaths: 'webrtc', seed: 'node-peer-webrtc' })
    expect(webrtcOnly.node.getProtocols()).toContain(WEBRTC_SIGNALING_PROTOCOL)
    expect(webrtcOnly.node.getProtocols()).not.toContain('/libp2p/dcutr')
  })
})

describe('composeInit: every peer limit reaches the component that uses it', () => {
  /** option key → where its value must arrive in `composeInit`'s result */
  const PATHS: Record<string, string[]> = {
    maxConnections: ['connectionManager.maxConnections'],
    // the same option feeds three components
    dialTimeout: ['connectionManager.dialTimeout', 'circuitTransport.reservationCompletionTimeout', 'reservationKeeper.timeout'],
    maxPendingInbound: ['connectionManager.maxIncomingPendingConnections'],
    maxPendingInboundPerIp: ['inboundAdmission.maxPendingPerIp'],
    handshakeTimeout: ['connectionManager.inboundUpgradeTimeout', 'inboundAdmission.handshakeTimeout'],
    holepunchTimeout: ['holepunch.timeout'],
    holepunchAttempts: ['holepunch.attempts'],
    reservationRetry: ['reservationKeeper.retry'],
    reservationRetryMax: ['reservationKeeper.retryMax']
  }
  /** Limits that are not handed to libp2p: the app uses them directly (the pub/sub ones: the topic validator below, and the shell's `say`/`join`, test/shell.test.ts). */
  const NOT_LIBP2P = new Set(['timeout', 'pingInterval', 'pubsubMaxMessage', 'pubsubMaxTopics'])

  it('a non-default value of each limit arrives unchanged', () => {
    // --relays does nothing with --relay: the next test
    expect(limitsNotReaching({ role: PEER_ROLE, paths: PATHS, compose: composeInit, exclude: new Set([...NOT_LIBP2P, 'relays']), extraFlags: { relay: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6'] } })).toEqual([])
  })

  it('without --relay (with --bootstrap): --relays and the reservation limits reach relay discovery', () => {
    const paths = {
      ...PATHS,
      dialTimeout: ['connectionManager.dialTimeout', 'circuitTransport.reservationCompletionTimeout', 'relayDiscovery.timeout'],
      reservationRetry: ['relayDiscovery.retry'],
      reservationRetryMax: ['relayDiscovery.retryMax'],
      relays: ['relayDiscovery.relays']
    }
    const bootstrap = ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6']
    expect(limitsNotReaching({ role: PEER_ROLE, paths, compose: composeInit, exclude: NOT_LIBP2P, extraFlags: { bootstrap } })).toEqual([])
    const o = resolveOptions(PEER_ROLE, { flags: { bootstrap, network: 'lab' } })
    expect(composeInit(o).relayDiscovery).toMatchObject({ network: 'lab', relays: 2 })
    expect(composeInit(o).reservationKeeper).toBeUndefined()
    // no discovery with --relay, --relays 0, --no-dht or without --bootstrap
    expect(composeInit({ ...o, relay: bootstrap }).relayDiscovery).toBeUndefined()
    expect(composeInit({ ...o, relays: 0 }).relayDiscovery).toBeUndefined()
    expect(composeInit({ ...o, dht: false }).relayDiscovery).toBeUndefined()
    expect(composeInit({ ...o, bootstrap: [] }).relayDiscovery).toBeUndefined()
  })
})

describe('pub/sub and discovery options reach gossipsub and mDNS', () => {
  const init = (flags: Record<string, unknown> = {}): ReturnType<typeof composeInit> => composeInit(resolveOptions(PEER_ROLE, { flags }))

  it('composeInit: signed messages, bounded frames, relayed connections as --pubsub-relayed says; mDNS only with --mdns', () => {
    expect(init().pubsub).toEqual({ globalSignaturePolicy: StrictSign, maxInboundDataLength: PUBSUB_MAX_FRAME, runOnLimitedConnection: true, emitSelf: false, allowPublishToZeroTopicPeers: false })
    expect(init({ pubsubRelayed: false }).pubsub.runOnLimitedConnection).toBe(false)
    expect(init().mdns).toBeUndefined()
    expect(init({ mdns: true }).mdns).toEqual({})
  })

  it('a running peer speaks gossipsub (meshsub) and runs no mDNS unless asked', async () => {
    const { node } = await start({ webrtc: false, seed: 'node-peer-pubsub' })
    expect(node.getProtocols()).toEqual(expect.arrayContaining(['/meshsub/1.1.0', '/meshsub/1.2.0']))
    expect(node.services.mdns).toBeUndefined()
    expect(node.services.pubsub.globalSignaturePolicy).toBe(StrictSign)
  })

  it('the topic validator accepts UTF-8 text up to --pubsub-max-message bytes and rejects the rest', () => {
    const validate = textValidator(8)
    expect(validate(undefined, { data: new TextEncoder().encode('12345678') })).toBe(TopicValidatorResult.Accept)
    expect(validate(undefined, { data: new TextEncoder().encode('123456789') })).toBe(TopicValidatorResult.Reject)
    expect(validate(undefined, { data: Uint8Array.of(0xff, 0xfe) })).toBe(TopicValidatorResult.Reject)
  })
})

describe('peers found on the LAN are dialled (what --mdns feeds; libp2p 3 does not dial discovered peers)', () => {
  it('connects to a discovered peer once, and not to itself', async () => {
    const a = await start({ webrtc: false, dht: false, seed: 'node-peer-disc-a' })
    const b = await start({ webrtc: false, dht: false, seed: 'node-peer-disc-b' })
    // a discovery service's event target, as @libp2p/mdns's (which sends multicast, so is not started here)
    const lan = new EventTarget() as TypedEventTarget<PeerDiscoveryEvents>
    const found = (p: typeof a): void => { lan.dispatchEvent(new CustomEvent<PeerInfo>('peer', { detail: { id: p.node.peerId, multiaddrs: p.node.getMultiaddrs() } })) }
    dialDiscovered(a.node, lan, 5_000, { onStop: () => {} })
    found(a)
    found(b)
    found(b)
    await expect.poll(() => a.node.getConnections(b.node.peerId).length, { timeout: 10_000 }).toBe(1)
    expect(a.node.getConnections(a.node.peerId)).toEqual([])
  })
})

describe('NAT discovery at start (--nat-discovery, issue 13)', () => {
  const servers: StunServer[] = []
  afterEach(async () => { await Promise.all(servers.splice(0).map(async s => { await s.close() })) })

  /** A peer whose --stun is a loopback natkit STUN server; its events. */
  async function startWithStun (flags: Record<string, unknown>): Promise<{ peer: Awaited<ReturnType<typeof createPeer>>, events: NatkitEvents, server: StunServer }> {
    const server = createStunServer()
    servers.push(server)
    const { port } = await server.listen(0, '127.0.0.1')
    const events = new NatkitEvents()
    const peer = await createPeer(resolveOptions(PEER_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], seed: 'node-peer-nat', upnp: false, webrtc: false, dht: false, stun: [`stun:127.0.0.1:${port}`], ...flags } }), events)
    running.push(peer)
    return { peer, events, server }
  }

  it('composeInit: with --stun it is on with the named bounds, --no-nat-discovery or no --stun turns it off', () => {
    const init = (flags: Record<string, unknown>): ReturnType<typeof composeInit> => composeInit(resolveOptions(PEER_ROLE, { flags }))
    expect(init({ stun: ['stun:11.0.0.2:3478'] }).natDiscovery).toEqual({ servers: [{ address: '11.0.0.2', port: 3478 }], timeoutMs: DEFAULT_NAT_DISCOVERY_TIMEOUT, lifetimeMaxMs: DEFAULT_NAT_DISCOVERY_LIFETIME_MAX_MS })
    expect(init({ stun: ['stun:11.0.0.2:3478'], natDiscovery: false }).natDiscovery).toBeUndefined()
    expect(init({}).natDiscovery).toBeUndefined()
  })

  it('a started peer probes its --stun server, emits `nat`, and hole punching gets the result', async () => {
    const { peer, events, server } = await startWithStun({})
    const nat = new Promise<NatkitEvent<'nat'>>((resolve) => { events.on('nat', resolve) })
    await peer.start()
    const e = await nat
    // loopback: the server saw our own address and port, one observer
    expect(e).toMatchObject({ natted: false, mapping: 'none', allocation: 'preserving', publicAddress: '127.0.0.1' })
    expect(e.observers.length).toBeGreaterThanOrEqual(3)
    expect(e.ms).toBeGreaterThanOrEqual(0)
    // counted at the server, outside the peer
    expect(server.stats.requests).toBeGreaterThanOrEqual(e.observers.length)
    // the discovered mapping reached the hole punch service (no identify observation exists here)
    expect(peer.node.services.holepunch?.getOwnMapping()).toEqual({ mapping: 'endpoint-independent', allocation: 'unknown' })
  })

  it('--no-nat-discovery: no probe reaches the server, no `nat` event, hole punching knows nothing', async () => {
    const { peer, events, server } = await startWithStun({ natDiscovery: false })
    const seen: string[] = []
    events.on('nat', () => { seen.push('nat') })
    await peer.start()
    // a discovery would have asked within a few round trips; the other peer's run above took far less
    const control = await startWithStun({ seed: 'node-peer-nat-control' })
    const nat = new Promise<NatkitEvent<'nat'>>((resolve) => { control.events.on('nat', resolve) })
    await control.peer.start()
    await nat
    expect(server.stats.requests).toBe(0)
    expect(seen).toEqual([])
    expect(peer.node.services.holepunch?.getOwnMapping()).toBeUndefined()
  })
})
