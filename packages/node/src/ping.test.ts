import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_PENDING_INBOUND, DEFAULT_MAX_PENDING_INBOUND_PER_IP } from '@natkit/config'
import { afterEach, describe, expect, it } from 'vitest'
import { createNatkitNode, DEFAULT_PING_MAX_OUTBOUND_STREAMS } from './node.js'
import { pingConnection } from './ping.js'
import type { Libp2p } from '@libp2p/interface'

const nodes: Libp2p[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
})

async function started (): Promise<Libp2p> {
  // no connection monitor: the test's own pings are the only ones
  const node = await createNatkitNode({ options: { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], maxConnections: 10, dialTimeout: 5_000, maxPendingInbound: DEFAULT_MAX_PENDING_INBOUND, maxPendingInboundPerIp: DEFAULT_MAX_PENDING_INBOUND_PER_IP, handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT }, privateKey: await generateKeyPair('Ed25519'), transports: [tcp()], connectionPingInterval: 0 })
  nodes.push(node)
  await node.start()
  return node
}

describe('ping streams per connection', () => {
  it(`a natkit node opens up to DEFAULT_PING_MAX_OUTBOUND_STREAMS (${DEFAULT_PING_MAX_OUTBOUND_STREAMS}) pings at once on one connection (libp2p's monitor pings beside natkit's own)`, async () => {
    const [a, b] = [await started(), await started()]
    const conn = await a.dial(b.getMultiaddrs()[0] ?? '')
    const rtts = await Promise.all(Array.from({ length: DEFAULT_PING_MAX_OUTBOUND_STREAMS }, async () => await pingConnection(conn, { signal: AbortSignal.timeout(5_000) })))
    expect(rtts.every(rtt => rtt >= 0)).toBe(true)
    // the bound holds: of one more at once, one is refused (by our outbound or the remote's inbound limit)
    const over = await Promise.allSettled(Array.from({ length: DEFAULT_PING_MAX_OUTBOUND_STREAMS + 1 }, async () => await pingConnection(conn, { signal: AbortSignal.timeout(5_000) })))
    expect(over.filter(r => r.status === 'rejected').map(r => String((r as PromiseRejectedResult).reason))).toEqual([expect.stringMatching(/Too many (outbound|inbound) protocol streams|stream that is closed/)])
  })
})
