import { limitsNotReaching, resolveOptions } from '@natkit/config'
import { NatkitEvents } from '@natkit/events'
import { PEER_ROLE } from './options.js'
import { afterEach, describe, expect, it } from 'vitest'
import { composeInit, createPeer } from './node.js'
import { nodeComponents, transportTags, type NatkitRunner } from '@natkit/node'

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
  /** Limits that are not handed to libp2p: the app uses them directly. */
  const NOT_LIBP2P = new Set(['timeout', 'pingInterval'])

  it('a non-default value of each limit arrives unchanged', () => {
    expect(limitsNotReaching({ role: PEER_ROLE, paths: PATHS, compose: composeInit, exclude: NOT_LIBP2P, extraFlags: { relay: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6'] } })).toEqual([])
  })
})
