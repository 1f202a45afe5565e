import { createServer, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { HOLEPUNCH_PROTOCOL, holePunch } from '../src/index.js'
import { attemptDetail, createPeer, createRelay, directConnections, nextEvent, recordEvents, recordingGater, relayedConnections, reserve, waitUntil, type PeerNode } from './helpers.js'
import type { HolePunchFailureEvent, HolePunchOutcomeEvent, HolePunchService, HolePunchSuccessEvent } from '../src/index.js'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Multiaddr } from '@multiformats/multiaddr'

describe('hole punch over a loopback relay', () => {
  let nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  async function setup (init: Parameters<typeof holePunch>[0]): Promise<{ a: PeerNode<{ holePunch: HolePunchService }>, b: PeerNode<{ holePunch: HolePunchService }>, relay: Libp2p, circuit: Multiaddr }> {
    const relay = await createRelay()
    const b = await createPeer({ services: { holePunch: holePunch(init) }, listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'] })
    const a = await createPeer({ services: { holePunch: holePunch(init) } })
    nodes.push(relay, b, a)
    const circuit = await reserve(b, relay)
    return { a, b, relay, circuit }
  }

  it('A secures its punch dial with the relayed connection\'s protocol, selected optimistically (optimisticUpgrade)', async () => {
    for (const optimisticUpgrade of [true, false]) {
      const relay = await createRelay()
      const b = await createPeer({ services: { holePunch: holePunch({ allowPrivateAddresses: true, unilateral: false, optimisticUpgrade }) }, listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'] })
      const dials: string[] = []
      const dialOptions: Array<Record<string, unknown>> = []
      const a = await createPeer({ services: { holePunch: holePunch({ allowPrivateAddresses: true, unilateral: false, optimisticUpgrade }) }, dials, dialOptions })
      nodes.push(relay, b, a)
      const circuit = await reserve(b, relay)
      const aSuccess = nextEvent<HolePunchSuccessEvent>(a.services.holePunch, 'holepunch:success')
      const relayed = await a.dial(circuit)
      expect(relayed.encryption).toBe('/noise')
      await aSuccess
      // A's dials toward B's own address (not the relay's): the punch
      const punch = dialOptions.filter((_, i) => dials[i]?.includes(b.peerId.toString()) && !dials[i]?.includes('p2p-circuit'))
      expect(punch.length).toBeGreaterThan(0)
      expect(punch.map(o => o.optimisticSelect)).toEqual(punch.map(() => optimisticUpgrade ? '/noise' : undefined))
    }
  })

  it('upgrades the relayed connection with the CONNECT/SYNC exchange (unilateral disabled)', async () => {
    const { a, b, circuit } = await setup({ allowPrivateAddresses: true, unilateral: false })
    const bEvents = recordEvents(b.services.holePunch)
    const aEvents = recordEvents(a.services.holePunch)
    const bSuccess = nextEvent<HolePunchSuccessEvent>(b.services.holePunch, 'holepunch:success')
    const aSuccess = nextEvent<HolePunchSuccessEvent>(a.services.holePunch, 'holepunch:success')
    const bOutcome = nextEvent<HolePunchOutcomeEvent>(b.services.holePunch, 'holepunch:outcome')

    const relayed = await a.dial(circuit)
    expect(relayed.limits).toBeDefined()

    const [sb, sa] = await Promise.all([bSuccess, aSuccess])
    expect(sb.remotePeer).toBe(a.peerId.toString())
    expect(sb.attempt).toBe(1)
    expect(sa.remotePeer).toBe(b.peerId.toString())
    expect(sb.remoteAddr).not.toContain('p2p-circuit')
    // the outcome go-libp2p's metrics are computed from: B dialled A's candidates, got a direct connection
    const ob = await bOutcome
    expect(ob).toMatchObject({ role: 'initiator', attempt: 1, directAddr: sb.remoteAddr })
    expect(ob.remoteAddrs).toEqual(attemptDetail(bEvents[0]).addrs)
    expect(ob.ownAddrs.length).toBeGreaterThan(0)

    // B (initiator) saw the exchange: attempt with measured RTT and A's addresses, then success
    expect(bEvents.map(e => e.type)).toEqual(['holepunch:attempt', 'holepunch:success'])
    expect(bEvents[0].detail).toMatchObject({ remotePeer: a.peerId.toString(), attempt: 1, maxAttempts: 3, role: 'initiator' })
    expect(typeof attemptDetail(bEvents[0]).rttMs).toBe('number')
    expect(attemptDetail(bEvents[0]).addrs.length).toBeGreaterThan(0)
    expect(aEvents.map(e => e.type)).toEqual(['holepunch:attempt', 'holepunch:success'])
    expect(aEvents[0].detail).toMatchObject({ role: 'responder', attempt: 1 })

    await waitUntil(() => directConnections(a, b).length > 0 && relayedConnections(a, b).length === 0, 10_000, 'direct only on A')
    await waitUntil(() => directConnections(b, a).length > 0 && relayedConnections(b, a).length === 0, 10_000, 'direct only on B')
    // the direct connection works for unlimited protocols
    const rtt = await a.services.ping.ping(b.peerId)
    expect(rtt).toBeGreaterThanOrEqual(0)
    expect(b.services.holePunch.getStats()).toMatchObject({ attempts: 1, successes: 1 })
  })

  it('starts the exchange when the relayed connection opens, without waiting for identify', async () => {
    const { a, b, circuit } = await setup({ allowPrivateAddresses: true, unilateral: false })
    // B's identify of A can never finish, so only the early start can begin the exchange
    await a.unhandle('/ipfs/id/1.0.0')
    const bEvents = recordEvents(b.services.holePunch)
    const success = nextEvent<HolePunchSuccessEvent>(b.services.holePunch, 'holepunch:success')
    await a.dial(circuit)
    const s = await success
    expect(s.attempt).toBe(1)
    expect(bEvents.map(e => e.type)).toEqual(['holepunch:attempt', 'holepunch:success'])
    await waitUntil(() => directConnections(a, b).length > 0 && relayedConnections(a, b).length === 0, 10_000, 'direct only')
  })

  for (const optimisticSelect of [true, false]) {
    it(`optimisticSelect ${optimisticSelect ? 'on: the CONNECT leaves with multistream-select\'s lines' : 'off: the CONNECT waits for the negotiation'}`, async () => {
      const { a, b, circuit } = await setup({ allowPrivateAddresses: true, unilateral: false, optimisticSelect })
      // the bytes A's muxer receives first on B's DCUtR stream, before A's multistream-select answers
      const firstChunk = Promise.withResolvers<string>()
      const onConnection = (evt: CustomEvent<Connection>): void => {
        const muxer = (evt.detail as unknown as { muxer?: EventTarget }).muxer
        muxer?.addEventListener('stream', (e) => {
          const stream = (e as CustomEvent<Stream>).detail
          stream.addEventListener('message', (m) => {
            const text = new TextDecoder('latin1').decode((m as unknown as { data: Uint8Array | Uint8ArrayList }).data.subarray())
            if (text.includes(HOLEPUNCH_PROTOCOL)) firstChunk.resolve(text)
          }, { once: true })
        })
      }
      a.addEventListener('connection:open', onConnection)
      const success = nextEvent<HolePunchSuccessEvent>(b.services.holePunch, 'holepunch:success')
      await a.dial(circuit)
      const chunk = await firstChunk.promise
      const afterProtocol = chunk.slice(chunk.indexOf(`${HOLEPUNCH_PROTOCOL}\n`) + HOLEPUNCH_PROTOCOL.length + 1)
      // a CONNECT is a length-prefixed protobuf with B's addresses: dozens of bytes
      if (optimisticSelect) expect(afterProtocol.length).toBeGreaterThan(8)
      else expect(afterProtocol).toBe('')
      expect((await success).attempt).toBe(1)
      a.removeEventListener('connection:open', onConnection)
    })
  }

  it('with startBeforeIdentify off, waits for identify: no exchange while the peer has not identified', async () => {
    const { a, b, circuit } = await setup({ allowPrivateAddresses: true, unilateral: false, startBeforeIdentify: false })
    await a.unhandle('/ipfs/id/1.0.0')
    const bEvents = recordEvents(b.services.holePunch)
    const relayed = await a.dial(circuit)
    // the relayed connection works (ping runs on limited connections) while B waits for an identify that never comes
    await a.services.ping.ping(relayed.remoteAddr, { signal: AbortSignal.timeout(5_000) })
    await a.services.ping.ping(relayed.remoteAddr, { signal: AbortSignal.timeout(5_000) })
    expect(bEvents).toEqual([])
    expect(directConnections(a, b)).toEqual([])
  })

  it('upgrades via the unilateral direct dial when A advertises dialable addresses', async () => {
    // identify brings A's addresses to B's peer store before the exchange starts
    const { a, b, circuit } = await setup({ allowPrivateAddresses: true, startBeforeIdentify: false })
    const bEvents = recordEvents(b.services.holePunch)
    const success = nextEvent<HolePunchSuccessEvent>(b.services.holePunch, 'holepunch:success')
    await a.dial(circuit)
    const s = await success
    expect(s.attempt).toBe(0)
    expect(bEvents[0]).toMatchObject({ type: 'holepunch:attempt', detail: { attempt: 0, role: 'initiator' } })
    await waitUntil(() => directConnections(a, b).length > 0 && relayedConnections(a, b).length === 0, 10_000, 'direct only')
  })

  it('reports no-public-addresses and keeps the relayed connection usable', async () => {
    const { a, b, circuit } = await setup({ allowPrivateAddresses: false })
    const failure = nextEvent<HolePunchFailureEvent>(b.services.holePunch, 'holepunch:failure')
    const relayed = await a.dial(circuit)
    const f = await failure
    expect(f).toMatchObject({ remotePeer: a.peerId.toString(), reason: 'no-public-addresses', attempts: 0 })
    expect(b.services.holePunch.getStats().failures['no-public-addresses']).toBe(1)
    expect(relayed.status).toBe('open')
    expect(directConnections(a, b)).toHaveLength(0)
    const rtt = await a.services.ping.ping(b.peerId, { runOnLimitedConnection: true })
    expect(rtt).toBeGreaterThanOrEqual(0)
    expect(relayed.streams.every(s => s.protocol !== HOLEPUNCH_PROTOCOL)).toBe(true)
  })

  /** A loopback TCP port nobody listens on (dials to it are refused at once). */
  async function closedPort (): Promise<number> {
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    await new Promise(resolve => server.close(resolve))
    return port
  }

  it('reports failure after the last attempt (stock off-by-one fixed), on both sides', async () => {
    const relay = await createRelay()
    const relayAddr = relay.getMultiaddrs()[0].toString()
    const refused = await closedPort()
    // B may dial loopback; A's gater allows only the relay, so A cannot dial B's candidates
    const bGater = recordingGater(() => false)
    const aGater = recordingGater(ma => !ma.toString().startsWith(relayAddr))
    const bDials: string[] = []
    const b = await createPeer({
      services: { holePunch: holePunch({ allowPrivateAddresses: true, unilateral: false, attempts: 2, timeout: 800, punchResends: 3 }) },
      listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'],
      gater: bGater,
      dials: bDials
    })
    // A offers an address where nobody listens (and the relay's view of its outbound port)
    const a = await createPeer({ services: { holePunch: holePunch({ allowPrivateAddresses: true, timeout: 800 }) }, announce: [`/ip4/127.0.0.1/tcp/${refused}`], gater: aGater })
    nodes.push(relay, b, a)
    const bHp = b.services.holePunch as HolePunchService
    const aHp = a.services.holePunch as HolePunchService
    const bEvents = recordEvents(bHp)
    const aFailure = nextEvent<HolePunchFailureEvent>(aHp, 'holepunch:failure')
    const bFailure = nextEvent<HolePunchFailureEvent>(bHp, 'holepunch:failure')
    const relayed = await a.dial(await reserve(b, relay))

    const f = await bFailure
    expect(f.attempts).toBe(2)
    // every SYN to A's candidates drew a reset: the failure says so, naming the address and the count
    expect(f.reason).toBe('reset-by-remote')
    expect(bEvents.map(e => e.type)).toEqual(['holepunch:attempt', 'holepunch:attempt', 'holepunch:failure'])
    const target = `/ip4/127.0.0.1/tcp/${refused}/p2p/${a.peerId}`
    expect(attemptDetail(bEvents[0]).addrs).toContain(target)
    // B's gater was asked about the candidate, and B really dialled it; refused SYNs are
    // sent again, `punchResends` (3) in total per attempt: 2 × (candidates + 3) dials
    expect(bGater.asked).toContain(target)
    expect(bDials).toContain(target)
    const candidates = attemptDetail(bEvents[0]).addrs.length
    expect(bDials.filter(d => d.endsWith(`/p2p/${a.peerId}`))).toHaveLength(2 * (candidates + 3))
    const toTarget = bDials.filter(d => d === target).length
    expect(f.message).toContain(`all ${toTarget} SYNs we sent to 127.0.0.1:${refused} within`)
    expect(bHp.getStats()).toMatchObject({ attempts: 2, resends: 6, successes: 0 })
    // A's gater refused B's loopback candidates: A names them instead of dialling
    const af = await aFailure
    expect(af.reason).toBe('gater-denied')
    expect(af.message).toContain(`/p2p/${b.peerId}`)
    expect(aGater.asked.some(ma => ma.endsWith(`/p2p/${b.peerId}`) && !ma.includes('p2p-circuit'))).toBe(true)
    expect(relayed.status).toBe('open')
  })

  it('never dials a candidate the connection gater refuses, and says so', async () => {
    const relay = await createRelay()
    const relayAddr = relay.getMultiaddrs()[0].toString()
    // documentation address (RFC 5737): refused by B's gater, so nothing is ever sent to it
    const doc = '/ip4/203.0.113.7/tcp/4001'
    const bGater = recordingGater(ma => !ma.toString().startsWith(relayAddr))
    const bDials: string[] = []
    const b = await createPeer({
      services: { holePunch: holePunch({ allowPrivateAddresses: true, unilateral: false, attempts: 3, timeout: 800 }) },
      listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'],
      gater: bGater,
      dials: bDials
    })
    const a = await createPeer({ services: { holePunch: holePunch({ allowPrivateAddresses: true, timeout: 800 }) }, announce: [doc] })
    nodes.push(relay, b, a)
    const bHp = b.services.holePunch as HolePunchService
    const bEvents = recordEvents(bHp)
    const bFailure = nextEvent<HolePunchFailureEvent>(bHp, 'holepunch:failure')
    const relayed = await a.dial(await reserve(b, relay))

    const f = await bFailure
    expect(f.reason).toBe('gater-denied')
    expect(f.message).toContain(`${doc}/p2p/${a.peerId}`)
    // retrying cannot change the gater's answer: one exchange, no attempt event, no dial
    expect(f.attempts).toBe(1)
    expect(bEvents.map(e => e.type)).toEqual(['holepunch:failure'])
    expect(bGater.asked).toContain(`${doc}/p2p/${a.peerId}`)
    expect(bDials.filter(d => !d.startsWith(relayAddr))).toEqual([])
    expect(bHp.getStats().failures['gater-denied']).toBe(1)
    expect(relayed.status).toBe('open')
  })

  it('dials at most maxDialCandidates of the addresses a CONNECT lists', async () => {
    const relay = await createRelay()
    const relayAddr = relay.getMultiaddrs()[0].toString()
    const refused = await closedPort()
    const many = Array.from({ length: 20 }, (_, i) => `/ip4/127.0.0.${i + 2}/tcp/${refused}`)
    const bGater = recordingGater(() => false)
    const bDials: string[] = []
    const b = await createPeer({
      services: { holePunch: holePunch({ allowPrivateAddresses: true, unilateral: false, attempts: 1, timeout: 800, maxDialCandidates: 3, punchResends: 0 }) },
      listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'],
      gater: bGater,
      dials: bDials
    })
    // A may not dial B, so B's punch dials are the only way to a direct connection
    const aGater = recordingGater(ma => !ma.toString().startsWith(relayAddr))
    const a = await createPeer({ services: { holePunch: holePunch({ allowPrivateAddresses: true, timeout: 800 }) }, announce: many, gater: aGater })
    nodes.push(relay, b, a)
    const bHp = b.services.holePunch as HolePunchService
    const bEvents = recordEvents(bHp)
    const bFailure = nextEvent<HolePunchFailureEvent>(bHp, 'holepunch:failure')
    await a.dial(await reserve(b, relay))

    await bFailure
    const attempt = bEvents.find(e => e.type === 'holepunch:attempt')
    expect(attemptDetail(attempt).addrs).toHaveLength(3)
    // the gater was asked about the 3 considered candidates only, and at most those were dialled
    const punchDials = bDials.filter(d => d.includes(`/tcp/${refused}/`))
    expect(punchDials.length).toBeGreaterThan(0)
    expect(punchDials.length).toBeLessThanOrEqual(3)
    expect(bGater.asked.filter(ma => ma.includes(`/tcp/${refused}/`))).toHaveLength(3)
  })
})
