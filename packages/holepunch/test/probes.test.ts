/**
 * Issue 13: each hard-NAT probe bound reaches the code that probes. Loopback
 * only: a scripted peer answers our CONNECT with a mapping field (its NAT maps
 * per destination, or keeps the port) and one 127.0.0.1 candidate; our own
 * NAT's behaviour comes from `natBehavior` (what natkit-peer's discovery
 * feeds). Probes are counted outside the service: by a recording TCP
 * transport (every dial it is asked for) and by a counting listener at the
 * candidate (every connection that arrives). Lowering a bound lowers the count.
 */
import { createServer, type AddressInfo, type Server } from 'node:net'
import { lpStream } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { HOLEPUNCH_PROTOCOL, MAX_MESSAGE_SIZE, decodeHolePunch, encodeHolePunch, holePunch } from '../src/index.js'
import { createPeer, createRelay, nextEvent, reserve } from './helpers.js'
import { multiaddr } from '@multiformats/multiaddr'
import type { DiscoveredNat, HolePunchFailureEvent, HolePunchInit, HolePunchService, MappingHint } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

const EASY: DiscoveredNat = { mapping: 'endpoint-independent', allocation: 'preserving' }
const HARD: DiscoveredNat = { mapping: 'address-and-port-dependent', allocation: 'random' }

interface Counted {
  /** Ports of every TCP dial to 127.0.0.1 other than the candidate's and the relay's. */
  probePorts: number[]
  /** Connections that reached the candidate's listener. */
  candidateHits: number
  failure: HolePunchFailureEvent
}

describe('hard-NAT probe bounds reach the probing code (counted outside it)', () => {
  let nodes: Libp2p[] = []
  let server: Server | undefined
  afterEach(async () => { await afterEachNow() })

  /**
   * One punch: we are B (DCUtR initiator) with `init` and `ours`; the peer's
   * CONNECT carries `peer` (its mapping; the port is its candidate's).
   */
  async function punch (init: HolePunchInit, ours: DiscoveredNat, peer: Omit<MappingHint, 'port'>): Promise<Counted> {
    let candidateHits = 0
    server = createServer((socket) => { candidateHits++; socket.destroy() })
    await new Promise<void>((resolve) => { server?.listen(0, '127.0.0.1', () => { resolve() }) })
    const port = (server.address() as AddressInfo).port
    const dials: string[] = []
    const relay = await createRelay()
    const us = await createPeer<{ holePunch: HolePunchService }>({
      services: { holePunch: holePunch({ allowPrivateAddresses: true, unilateral: false, attempts: 1, retryRounds: 0, timeout: 3_000, natBehavior: () => ours, ...init }) },
      listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'],
      dials
    })
    const them = await createPeer({ services: {} })
    nodes.push(relay, us, them)
    await them.handle(HOLEPUNCH_PROTOCOL, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE })
      try {
        decodeHolePunch(await lp.read({ signal: AbortSignal.timeout(5_000) }))
        await lp.write(encodeHolePunch({ type: 'CONNECT', obsAddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}`).bytes], mapping: { ...peer, port } }))
        await lp.read({ signal: AbortSignal.timeout(5_000) })
      } catch {}
    }, { runOnLimitedConnection: true })
    const circuit = await reserve(us, relay)
    const relayPort = Number(relay.getMultiaddrs()[0].toString().split('/')[4])
    const failure = nextEvent<HolePunchFailureEvent>(us.services.holePunch, 'holepunch:failure', 15_000)
    await them.dial(circuit)
    const f = await failure
    const probePorts = dials.filter(d => d.startsWith('/ip4/127.0.0.1/tcp/')).map(d => Number(d.split('/')[4])).filter(p => p !== port && p !== relayPort)
    return { probePorts, candidateHits, failure: f }
  }

  it('predictionWindow: the easy side dials exactly that many predicted ports (sequential peer)', async () => {
    const sequential = { mapping: 'endpoint-dependent', allocation: 'sequential', stride: 1 } as const
    const four = await punch({ predictionWindow: 4 }, EASY, sequential)
    expect(four.failure.strategy).toBe('predict')
    expect(four.probePorts.length).toBe(4)
    expect(four.failure.probes).toBe(4)
    await afterEachNow()
    const nine = await punch({ predictionWindow: 9 }, EASY, sequential)
    expect(nine.probePorts.length).toBe(9)
    // a known sequential allocation: no random probes beside the window
    expect(nine.failure.strategy).toBe('predict')
  }, 60_000)

  it('our NAT\'s filtering: endpoint-independent or address-dependent → plain DCUtR, no probes; address-and-port-dependent → probes', async () => {
    const random = { mapping: 'endpoint-dependent', allocation: 'random' } as const
    for (const filtering of ['endpoint-independent', 'address-dependent'] as const) {
      const admits = await punch({ maxProbes: 20, probeRate: 1_000 }, { ...EASY, filtering }, random)
      expect(admits.failure.strategy, filtering).toBeUndefined()
      expect(admits.failure.probes, filtering).toBeUndefined()
      expect(admits.probePorts, filtering).toEqual([])
      await afterEachNow()
    }
    const filters = await punch({ maxProbes: 20, probeRate: 1_000 }, { ...EASY, filtering: 'address-and-port-dependent' }, random)
    expect(filters.failure.strategy).toBe('birthday')
    expect(filters.probePorts.length).toBe(20)
  }, 60_000)

  it('maxProbes: random probes stop at the bound', async () => {
    const random = { mapping: 'endpoint-dependent', allocation: 'random' } as const
    const few = await punch({ maxProbes: 5, probeRate: 1_000 }, EASY, random)
    expect(few.failure.strategy).toBe('birthday')
    expect(few.probePorts.length).toBe(5)
    await afterEachNow()
    const more = await punch({ maxProbes: 40, probeRate: 1_000 }, EASY, random)
    expect(more.probePorts.length).toBe(40)
  }, 60_000)

  it('probeRate and probeTime: probes started are about rate × time', async () => {
    const random = { mapping: 'endpoint-dependent', allocation: 'random' } as const
    const slow = await punch({ probeRate: 10, probeTime: 1_000 }, EASY, random)
    await afterEachNow()
    const fast = await punch({ probeRate: 50, probeTime: 1_000 }, EASY, random)
    await afterEachNow()
    const short = await punch({ probeRate: 50, probeTime: 300 }, EASY, random)
    // ~11, ~51, ~16 (one probe at 0 ms, then one per 1/rate s until probeTime)
    expect(slow.probePorts.length).toBeGreaterThanOrEqual(5)
    expect(slow.probePorts.length).toBeLessThanOrEqual(12)
    expect(fast.probePorts.length).toBeGreaterThanOrEqual(25)
    expect(fast.probePorts.length).toBeLessThanOrEqual(52)
    expect(short.probePorts.length).toBeGreaterThanOrEqual(5)
    expect(short.probePorts.length).toBeLessThanOrEqual(17)
    expect(fast.probePorts.length).toBeGreaterThan(slow.probePorts.length * 2)
    expect(fast.probePorts.length).toBeGreaterThan(short.probePorts.length * 2)
  }, 60_000)

  it('birthdaySockets: the hard side opens that many mappings toward the easy peer, the easy side none', async () => {
    const keeps = { mapping: 'endpoint-independent', allocation: 'unknown' } as const
    const four = await punch({ birthdaySockets: 4, probeRate: 1_000 }, HARD, keeps)
    expect(four.failure.strategy).toBe('birthday')
    expect(four.failure.probes).toBe(4)
    const fourHits = four.candidateHits
    await afterEachNow()
    const sixteen = await punch({ birthdaySockets: 16, probeRate: 1_000 }, HARD, keeps)
    expect(sixteen.failure.probes).toBe(16)
    // the same plain DCUtR dials in both runs: the difference is the extra mappings
    expect(sixteen.candidateHits - fourHits).toBe(12)
    expect(fourHits).toBeGreaterThanOrEqual(4)
    await afterEachNow()
    // a cone (easy) side facing an easy peer opens none
    const easy = await punch({ birthdaySockets: 16, probeRate: 1_000 }, EASY, keeps)
    expect(easy.failure.strategy).toBeUndefined()
    expect(easy.candidateHits).toBeLessThan(fourHits)
  }, 60_000)

  it('attempts: both NATs symmetric → one plain attempt, not `attempts` of them; a cone side keeps trying', async () => {
    const random = { mapping: 'endpoint-dependent', allocation: 'random' } as const
    const both = await punch({ attempts: 3, maxProbes: 0 }, HARD, random)
    expect(both.failure.attempts).toBe(1)
    expect(both.failure.message).toMatch(/both NATs are symmetric/)
    expect(both.failure.final).toBe(true)
    await afterEachNow()
    // the same peer with our NAT endpoint-independent (probing off): every attempt runs
    const cone = await punch({ attempts: 3, maxProbes: 0 }, EASY, random)
    expect(cone.failure.attempts).toBe(3)
    expect(cone.failure.final).toBeUndefined()
  }, 60_000)

  /** Tears the previous punch's nodes and listener down (as afterEach does), so a test can run several. */
  async function afterEachNow (): Promise<void> {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
    await new Promise<void>(resolve => { if (server == null) resolve(); else server.close(() => { resolve() }) })
    server = undefined
  }
})
