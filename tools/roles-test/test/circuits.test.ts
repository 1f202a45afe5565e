/**
 * Concurrent circuits through one relay (issue 14): with the relay's limits
 * above the load, every circuit opens and carries its ping. Before natkit
 * exempted relayed connections from libp2p's per-IP inbound rate limit
 * (`exemptRelayedFromInboundRateLimit`, docs/upstream.md §10), the
 * destination refused all but ~5 relayed connections per second from the
 * relay's IP: 95 of these 100 failed.
 */
import { resolveOptions } from '@natkit/config'
import { NatkitEvents } from '@natkit/events'
import { createNode } from '@natkit/testkit/libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import { byteStream, echo } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { createRelay } from '@natkit/relay-app/node'
import { RELAY_ROLE } from '@natkit/relay-app'
import { createPeer } from '@natkit/peer-app/node'
import { PEER_ROLE } from '@natkit/peer-app'
import type { Libp2p } from '@libp2p/interface'

const ECHO = '/natkit-test/echo/1.0.0'
/** Concurrent circuits (the failing size). */
const CIRCUITS = 100
/** Sources connecting to the relay at once while the test sets up (the circuits themselves all open at once). */
const SETUP_CONCURRENCY = 10
/** Handshake timeouts of the relay and the destination: generous, the test runs beside others on 2 cores. */
const HANDSHAKE_TIMEOUT = 30_000

const stops: Array<() => Promise<void>> = []
afterEach(async () => { await Promise.all(stops.splice(0).map(async s => { await s() })) })

describe('concurrent circuits', () => {
  it(`${CIRCUITS} circuits at once to one peer, one ping each: all succeed below the relay's limits`, async () => {
    const relay = await createRelay(resolveOptions(RELAY_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], autonat: false, maxCircuitsPerPeer: 1000, maxInboundHopStreams: 1000, maxOutboundStopStreams: 1000, maxPendingInboundPerIp: 1000, maxConnections: 1000, handshakeTimeout: HANDSHAKE_TIMEOUT } }), new NatkitEvents())
    stops.push(async () => { await relay.stop() })
    await relay.start()
    const relayAddr = relay.node.getMultiaddrs().find(ma => ma.toString().includes('/tcp/'))?.toString() ?? ''
    const events = new NatkitEvents()
    const b = await createPeer(resolveOptions(PEER_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], webrtc: false, upnp: false, dht: false, holepunch: false, relay: [relayAddr], handshakeTimeout: HANDSHAKE_TIMEOUT } }), events)
    stops.push(async () => { await b.stop() })
    await b.start()
    await events.waitFor('reservation', () => true, 10_000)
    await b.node.handle(ECHO, async (stream) => { await echo(stream) }, { runOnLimitedConnection: true, maxInboundStreams: 2 * CIRCUITS })
    // one source node per circuit, each from its own loopback address (libp2p admits 5 new connections per second per IP)
    const sources: Libp2p[] = await Promise.all(Array.from({ length: CIRCUITS }, async (_, i) => await createNode({}, [], undefined, `127.0.1.${i + 2}`)))
    stops.push(async () => { await Promise.all(sources.map(async s => { await s.stop() })) })
    const target = multiaddr(`${relayAddr}/p2p-circuit/p2p/${b.peerId}`)
    // each source's connection to the relay first (a few at a time), then every circuit at once
    for (let i = 0; i < sources.length; i += SETUP_CONCURRENCY) {
      await Promise.all(sources.slice(i, i + SETUP_CONCURRENCY).map(async s => await s.dial(multiaddr(relayAddr), { signal: AbortSignal.timeout(HANDSHAKE_TIMEOUT) })))
    }
    const results = await Promise.allSettled(sources.map(async (s) => {
      const stream = await s.dialProtocol(target, ECHO, { runOnLimitedConnection: true, signal: AbortSignal.timeout(30_000) })
      const bytes = byteStream(stream)
      const ping = new Uint8Array(32).fill(7)
      await bytes.write(ping)
      const back = await bytes.read({ bytes: 32, signal: AbortSignal.timeout(30_000) })
      await stream.close()
      return back.subarray()
    }))
    const failures = results.flatMap(r => r.status === 'rejected' ? [String((r.reason as Error).message)] : [])
    expect(failures, `${failures.length}/${CIRCUITS} circuits failed`).toEqual([])
  }, 120_000)
})
