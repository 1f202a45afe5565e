/**
 * Agreement (issue 10 item 5): with `confirmDirect`, a direct connection counts
 * (success event, closing the relayed connection) only once it is confirmed.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { holePunch } from '../src/index.js'
import { createPeer, createRelay, directConnections, nextEvent, recordEvents, relayedConnections, reserve, waitUntil, type PeerNode } from './helpers.js'
import type { HolePunchService, HolePunchSuccessEvent } from '../src/index.js'
import type { Connection, Libp2p } from '@libp2p/interface'

describe('confirmDirect', () => {
  let nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  async function setup (init: Parameters<typeof holePunch>[0], beforeDial?: (b: PeerNode<{ holePunch: HolePunchService }>) => void): Promise<{ a: PeerNode<{ holePunch: HolePunchService }>, b: PeerNode<{ holePunch: HolePunchService }>, relayed: Connection }> {
    const relay = await createRelay()
    const b = await createPeer({ services: { holePunch: holePunch(init) }, listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'] })
    const a = await createPeer({ services: { holePunch: holePunch(init) } })
    nodes.push(relay, b, a)
    const circuit = await reserve(b, relay)
    beforeDial?.(b)
    return { a, b, relayed: await a.dial(circuit) }
  }

  it('a confirmed connection counts: the peer answered over it, then B closes the relayed one', async () => {
    const confirmed: string[] = []
    const { a, b } = await setup({
      allowPrivateAddresses: true,
      unilateral: false,
      confirmDirect: async (conn) => { confirmed.push(conn.remoteAddr.toString()); return await Promise.resolve() }
    })
    const s = await nextEvent<HolePunchSuccessEvent>(b.services.holePunch, 'holepunch:success')
    // B's success names a connection it confirmed first
    expect(confirmed).toContain(s.remoteAddr)
    await waitUntil(() => directConnections(b, a).length > 0 && relayedConnections(b, a).length === 0, 10_000, 'direct only on B')
  })

  it('an unconfirmed connection does not count: it is closed, no success, the relayed connection stays', async () => {
    let calls = 0
    const { a, b, relayed } = await setup({
      allowPrivateAddresses: true,
      unilateral: false,
      attempts: 1,
      timeout: 2_000,
      confirmDirect: async () => { calls++; throw new Error('the peer did not answer over the direct connection') }
    })
    const bEvents = recordEvents(b.services.holePunch)
    await waitUntil(() => bEvents.find(e => e.type === 'holepunch:failure'), 15_000, 'B\'s verdict')
    expect(calls).toBeGreaterThan(0)
    expect(bEvents.map(e => e.type)).not.toContain('holepunch:success')
    expect(b.services.holePunch.getStats().successes).toBe(0)
    // the punched connections were closed on both sides; the relayed one is still there and usable
    await waitUntil(() => directConnections(b, a).length === 0 && directConnections(a, b).length === 0, 10_000, 'unconfirmed connections closed')
    expect(relayed.status).toBe('open')
    expect(relayedConnections(b, a).length).toBe(1)
  })

  it('the unilateral direct dial counts only once confirmed: unconfirmed, it is closed and CONNECT/SYNC goes on', async () => {
    const confirmed: string[] = []
    let refuse = true
    const directDials: boolean[] = []
    let success: Promise<HolePunchSuccessEvent> | undefined
    const { a, b } = await setup({
      allowPrivateAddresses: true,
      startBeforeIdentify: false,
      attempts: 1,
      timeout: 2_000,
      // the first confirmation (the unilateral connection's) fails, later ones pass
      confirmDirect: async (conn) => {
        if (refuse) { refuse = false; throw new Error('the peer did not answer over the direct connection') }
        confirmed.push(conn.remoteAddr.toString())
      }
    }, (b) => {
      b.services.holePunch.addEventListener('holepunch:direct-dial', (e) => { directDials.push(e.detail.success) })
      success = nextEvent<HolePunchSuccessEvent>(b.services.holePunch, 'holepunch:success', 15_000)
    })
    const s = await (success as Promise<HolePunchSuccessEvent>)
    // the unilateral dial was reported unsuccessful, and the success came from the CONNECT/SYNC attempt
    expect(directDials).toEqual([false])
    expect(s.attempt).toBe(1)
    expect(confirmed).toContain(s.remoteAddr)
    await waitUntil(() => directConnections(b, a).length > 0 && relayedConnections(b, a).length === 0, 10_000, 'direct only on B')
  })

  it('a confirmed unilateral dial counts at attempt 0', async () => {
    let calls = 0
    let success: Promise<HolePunchSuccessEvent> | undefined
    await setup({ allowPrivateAddresses: true, startBeforeIdentify: false, confirmDirect: async () => { calls++ } }, (b) => {
      success = nextEvent<HolePunchSuccessEvent>(b.services.holePunch, 'holepunch:success', 15_000)
    })
    const s = await (success as Promise<HolePunchSuccessEvent>)
    expect(s.attempt).toBe(0)
    expect(calls).toBe(1)
  })
})
