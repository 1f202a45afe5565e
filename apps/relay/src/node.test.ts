import { limitsNotReaching, resolveOptions } from '@natkit/config'
import { NatkitEvents } from '@natkit/events'
import { RELAY_ROLE } from './options.js'
import { afterEach, describe, expect, it } from 'vitest'
import { composeInit, createRelay } from './node.js'
import { relayRendezvousCid, type NatkitRunner } from '@natkit/node'
import { connectionMonitorInterval } from '@natkit/libp2p-internals'
import { getEventListeners } from 'node:events'
import { anySignal } from 'any-signal'

const running: NatkitRunner[] = []
afterEach(async () => { await Promise.all(running.splice(0).map(async r => { await r.stop() })) })

async function start (flags: Record<string, unknown> = {}): Promise<Awaited<ReturnType<typeof createRelay>>> {
  const r = await createRelay(resolveOptions(RELAY_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], seed: 'node-relay', ...flags } }), new NatkitEvents())
  running.push(r)
  await r.start()
  return r
}

describe('relay composition', () => {
  it('circuit relay v2 hop + AutoNAT v2, optional', async () => {
    const { node } = await start()
    expect(node.getProtocols()).toEqual(expect.arrayContaining(['/libp2p/circuit/relay/0.2.0/hop', '/libp2p/autonat/2/dial-request', '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0']))
    const noAutonat = await start({ autonat: false })
    expect(noAutonat.node.getProtocols()).not.toContain('/libp2p/autonat/2/dial-request')
  })
})

describe('circuits and the server\'s shutdown signal (issue 14)', () => {
  it('the relay server\'s shutdown signal keeps one native listener however many circuits listen to it, and its stop still ends them', async () => {
    const r = await start({ autonat: false })
    const signal = (r.node.services.relay as unknown as { shutdownController: AbortController }).shutdownController.signal
    // what each circuit does (@libp2p/circuit-relay-v2 createLimitedRelay)
    const circuits = Array.from({ length: 100 }, () => anySignal([signal]))
    expect(getEventListeners(signal, 'abort'), 'native abort listeners on the shutdown signal').toHaveLength(1)
    await r.stop()
    expect(circuits.every(c => c.aborted), 'stopping the relay aborts every circuit').toBe(true)
  })
})

describe('advertising in the DHT (issue 14)', () => {
  it('with --bootstrap the relay runs a DHT client on --dht-protocol and an advertiser for its network; without, neither', async () => {
    const plain = await start({ autonat: false })
    expect(plain.node.services.dht).toBeUndefined()
    expect(plain.node.services.relayAdvertiser).toBeUndefined()
    // a bootstrap peer that is never reached: the advertiser just keeps trying
    const bootstrap = [`/ip4/127.0.0.1/tcp/9/p2p/${plain.peerId}`]
    const r = await start({ autonat: false, seed: 'node-relay-dht', bootstrap, dhtProtocol: '/natkit-test/kad/1.0.0', network: 'lab' })
    expect(r.node.services.dht?.getMode()).toBe('client')
    expect((r.node.services.dht as unknown as { protocol: string }).protocol).toBe('/natkit-test/kad/1.0.0')
    expect(r.node.services.relayAdvertiser?.cid.equals(relayRendezvousCid('lab'))).toBe(true)
  })
})

describe('connection monitor (--connection-ping-interval)', () => {
  it('is off on the relay by default, and the option reaches libp2p\'s connection monitor', async () => {
    const { node } = await start()
    expect(connectionMonitorInterval(node), 'the relay runs no connection monitor by default').toBeUndefined()
    const monitored = await start({ connectionPingInterval: 7_000 })
    expect(connectionMonitorInterval(monitored.node)).toBe(7_000)
  })
})

describe('composeInit: every relay limit reaches the component that uses it', () => {
  /** option key → where its value must arrive in `composeInit`'s result */
  const PATHS: Record<string, string[]> = {
    maxConnections: ['connectionManager.maxConnections'],
    dialTimeout: ['connectionManager.dialTimeout'],
    maxPendingInbound: ['connectionManager.maxIncomingPendingConnections'],
    maxPendingInboundPerIp: ['inboundAdmission.maxPendingPerIp'],
    handshakeTimeout: ['connectionManager.inboundUpgradeTimeout', 'inboundAdmission.handshakeTimeout'],
    maxReservations: ['relayServer.reservations.maxReservations'],
    reservationTtl: ['relayServer.reservations.reservationTtl'],
    circuitDuration: ['relayServer.reservations.defaultDurationLimit', 'relayGater.windowMs'],
    circuitData: ['relayServer.reservations.defaultDataLimit'],
    maxCircuitsPerPeer: ['relayGater.maxCircuitsPerPeer'],
    maxInboundHopStreams: ['relayServer.maxInboundHopStreams'],
    maxOutboundStopStreams: ['relayServer.maxOutboundStopStreams'],
    hopTimeout: ['relayServer.hopTimeout'],
    maxReservationsPerIp: ['reservationLimits.maxPerIp'],
    maxReservationsPerNetwork: ['reservationLimits.maxPerNetwork'],
    reservationGrace: ['reservationLimits.grace'],
    connectionPingInterval: ['connectionPingInterval']
  }

  it('a non-default value of each limit arrives unchanged', () => {
    expect(limitsNotReaching({ role: RELAY_ROLE, paths: PATHS, compose: composeInit })).toEqual([])
  })
})

describe('identify (the relay identifies only the remotes it dialled)', () => {
  it('a peer connecting to the relay identifies it but is not identified back; a remote the relay dials is', async () => {
    const relay = await start({ autonat: false })
    const peer = await start({ autonat: false, seed: 'node-relay-peer' })
    const dialled = await start({ autonat: false, seed: 'node-relay-dialled' })
    const identified = (r: typeof relay, remote: string): Promise<void> => new Promise((resolve) => {
      const on = (evt: CustomEvent<{ peerId: { toString: () => string } }>): void => {
        if (evt.detail.peerId.toString() === remote) { r.node.removeEventListener('peer:identify', on); resolve() }
      }
      r.node.addEventListener('peer:identify', on)
    })
    const peerIdentifiedRelay = identified(peer, relay.peerId.toString())
    await peer.node.dial(relay.node.getMultiaddrs()[0])
    await peerIdentifiedRelay
    expect((await peer.node.peerStore.get(relay.node.peerId)).protocols, 'the peer identified the relay').toContain('/libp2p/circuit/relay/0.2.0/hop')
    const relayIdentifiedDialled = identified(relay, dialled.peerId.toString())
    await relay.node.dial(dialled.node.getMultiaddrs()[0])
    await relayIdentifiedDialled
    expect((await relay.node.peerStore.get(dialled.node.peerId)).protocols, 'the relay identified the remote it dialled').toContain('/ipfs/ping/1.0.0')
    // by now the relay would have identified the peer too (its identify started before the one above)
    const known = await relay.node.peerStore.get(peer.node.peerId).catch(() => undefined)
    // (libp2p records the protocol of each stream a remote opens: the peer's identify of the relay is all it knows)
    expect(known?.protocols ?? [], 'the relay did not identify the peer that connected to it').not.toContain('/ipfs/ping/1.0.0')
  })
})
