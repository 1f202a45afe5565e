/**
 * The load generator against the real natkit-relay binary, at a tiny size:
 * its clients reserve, and circuits between them, held open together, carry a ping each.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { assertFreshBuild } from '@natkit/testkit'
import { BINS } from '@natkit/testkit/roles'
import { circuits, reserveMany } from '../src/load.js'
import { RelayProcess } from '../src/relay-proc.js'
import type { BenchClient } from '../src/client.js'

const cleanup: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c() })

describe('load generator', () => {
  it('light clients reserve on natkit-relay and open circuits, held together, with a ping each; the relay\'s CPU and RSS are read from /proc', async () => {
    assertFreshBuild(BINS.relay)
    const relay = await RelayProcess.start('natkit', { reservations: 4, circuits: 1, concurrency: 2, circuitDataBytes: 131_072 })
    cleanup.push(async () => await relay.stop())
    const before = relay.stat()
    const held = await reserveMany({ addr: relay.addr, peerId: relay.peerId }, 3, 2, 30_000, 15_000)
    const closeAll = (cs: BenchClient[]): void => { for (const c of cs) c.close() }
    cleanup.push(() => { closeAll(held.clients) })
    expect(held.errors).toEqual({})
    expect(held.granted).toBe(3)
    expect(held.clients.every(c => c.connected)).toBe(true)
    const sources = await reserveMany({ addr: relay.addr, peerId: relay.peerId }, 1, 1, 30_000, 15_000, false, 3)
    cleanup.push(() => { closeAll(sources.clients) })
    let beforePingsCalls = 0
    const r = await circuits(3, sources.clients, held.clients, 15_000, 2, async () => {
      beforePingsCalls++
      // a wait the result must account for
      await new Promise(resolve => setTimeout(resolve, 60))
      return false
    })
    expect(beforePingsCalls).toBe(1)
    expect(r.quiet, 'its answer is reported').toBe(false)
    expect(r.quietWaitMs).toBeGreaterThanOrEqual(59)
    expect(r.errors).toEqual({})
    expect(r.succeeded).toBe(3)
    expect(r.heldAtOnce, 'all three open before the pings').toBe(3)
    expect(r.pingConcurrency).toBe(2)
    expect(r.pingMs).toHaveLength(3)
    expect(Math.min(...r.pingMs)).toBeGreaterThan(0)
    const after = relay.stat()
    expect(after.cpuMs, 'the relay did work for the load').toBeGreaterThan(before.cpuMs)
    expect(after.rssBytes).toBeGreaterThan(0)
  }, 60_000)

  it('a reservation refused by the relay is counted, not thrown', async () => {
    const relay = await RelayProcess.start('natkit', { reservations: 4, circuits: 0, concurrency: 2, circuitDataBytes: 131_072 })
    cleanup.push(async () => await relay.stop())
    // a client that never reserved cannot be a circuit's destination: the relay answers NO_RESERVATION
    const a = await reserveMany({ addr: relay.addr, peerId: relay.peerId }, 2, 2, 30_000, 15_000, false)
    cleanup.push(() => { for (const c of a.clients) c.close() })
    const r = await circuits(1, [a.clients[0]], [a.clients[1]], 15_000, 1)
    expect(r.succeeded).toBe(0)
    expect(r.heldAtOnce).toBe(0)
    expect(Object.keys(r.errors)).toEqual(['RelayRefusedError: relay refused connect: NO_RESERVATION'])
  }, 60_000)
})
