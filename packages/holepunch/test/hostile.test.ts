/**
 * Issue 11, attacks 3 and 4: hole punching as a connection cannon, and
 * strangers filling the punch table. Loopback only: every address a test
 * names is a counting TCP listener on 127.0.1.x, so dials are counted where
 * they arrive, outside the code under test.
 */
import { createServer, type AddressInfo, type Server } from 'node:net'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_CONCURRENT_PUNCHES, DEFAULT_MAX_DIAL_CANDIDATES, DEFAULT_MAX_PEER_CANDIDATES, DEFAULT_MAX_PEER_CANDIDATE_IPS,
  HOLEPUNCH_PROTOCOL, MAX_MESSAGE_SIZE, decodeHolePunch, encodeHolePunch, holePunch
} from '../src/index.js'
import { createPeer, createRelay, directConnections, nextEvent, recordingGater, relayedConnections, reserve, waitUntil, type PeerNode } from './helpers.js'
import type { HolePunchFailureEvent, HolePunchRefusedEvent, HolePunchService, HolePunchSuccessEvent } from '../src/index.js'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type HpNode = PeerNode<{ holePunch: HolePunchService }>

/** TCP listeners that count the connections they get and close them at once. */
class CountingListeners {
  readonly servers: Server[] = []
  /** `ip:port` → connections accepted. */
  readonly hits = new Map<string, number>()

  /** `perIp` listeners on each of `ips`; returns their addresses in `order` (port-major: consecutive addresses on different IPs). */
  async listen (ips: string[], perIp: number): Promise<Multiaddr[]> {
    const byIp: string[][] = ips.map(() => [])
    for (const [i, ip] of ips.entries()) {
      for (let n = 0; n < perIp; n++) {
        const server = createServer((socket) => {
          const key = `${ip}:${(server.address() as AddressInfo).port}`
          this.hits.set(key, (this.hits.get(key) ?? 0) + 1)
          socket.destroy()
        })
        this.servers.push(server)
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject)
          server.listen(0, ip, () => { resolve() })
        })
        byIp[i].push(`/ip4/${ip}/tcp/${(server.address() as AddressInfo).port}`)
      }
    }
    const out: Multiaddr[] = []
    for (let n = 0; n < perIp; n++) for (const list of byIp) out.push(multiaddr(list[n]))
    return out
  }

  total (): number {
    return [...this.hits.values()].reduce((a, b) => a + b, 0)
  }

  ips (): Set<string> {
    return new Set([...this.hits.keys()].map(k => k.slice(0, k.lastIndexOf(':'))))
  }

  async close (): Promise<void> {
    await Promise.all(this.servers.map(async s => new Promise<void>(resolve => { s.close(() => { resolve() }) })))
  }
}

/** 300 loopback addresses: 10 listeners on each of 127.0.1.1 … 127.0.1.30. */
const IPS = Array.from({ length: 30 }, (_, i) => `127.0.1.${i + 1}`)
const PER_IP = 10

async function closed (stream: Stream, timeoutMs = 5_000): Promise<void> {
  if (stream.status !== 'open') return
  const { promise, resolve, reject } = Promise.withResolvers<void>()
  const timer = setTimeout(() => { reject(new Error(`stream still ${stream.status} after ${timeoutMs} ms`)) }, timeoutMs)
  stream.addEventListener('close', () => { resolve() }, { once: true })
  try {
    await promise
  } finally {
    clearTimeout(timer)
  }
}

describe('hostile peers against the hole punch service (issue 11, attacks 3 and 4)', () => {
  let nodes: Libp2p[] = []
  let listeners: CountingListeners | undefined
  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
    await listeners?.close()
    listeners = undefined
  })

  it('attack 3: a CONNECT of 300 addresses, new ones in every attempt, gets at most the capped dials (per attempt and per peer)', async () => {
    listeners = new CountingListeners()
    const targets = await listeners.listen(IPS, PER_IP)
    // 300 addresses of ~10 bytes each fit in one 4 KiB DCUtR message
    expect(encodeHolePunch({ type: 'CONNECT', obsAddrs: targets.map(t => t.bytes) }).byteLength).toBeLessThanOrEqual(MAX_MESSAGE_SIZE)
    // a DNS name leads the CONNECT: never a candidate (resolving it would dial whatever it names)
    const dnsName = multiaddr('/dns4/localhost/tcp/9')
    const gater = recordingGater(() => false)
    const relay = await createRelay()
    const victim: HpNode = await createPeer({ services: { holePunch: holePunch({ allowPrivateAddresses: true, unilateral: false, timeout: 1_500, retryRounds: 0 }) }, listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'], gater })
    const attacker = await createPeer({ services: {} })
    nodes.push(relay, victim, attacker)
    // the attacker answers every CONNECT of the victim (DCUtR's B) with the
    // 300 addresses, rotated so that each attempt leads with new ones
    let answered = 0
    await attacker.handle(HOLEPUNCH_PROTOCOL, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE })
      try {
        decodeHolePunch(await lp.read({ signal: AbortSignal.timeout(5_000) }))
        const shift = answered++ * DEFAULT_MAX_DIAL_CANDIDATES
        const rotated = [...targets.slice(shift), ...targets.slice(0, shift)]
        await lp.write(encodeHolePunch({ type: 'CONNECT', obsAddrs: [dnsName, ...rotated].map(t => t.bytes) }))
        await lp.read({ signal: AbortSignal.timeout(5_000) })
      } catch {}
    }, { runOnLimitedConnection: true })
    const circuit = await reserve(victim, relay)
    const attempts: string[][] = []
    victim.services.holePunch.addEventListener('holepunch:attempt', (evt) => { attempts.push(evt.detail.addrs) })
    const failure = nextEvent<HolePunchFailureEvent>(victim.services.holePunch, 'holepunch:failure', 30_000)
    await attacker.dial(circuit)
    const f = await failure
    expect(answered).toBeGreaterThanOrEqual(3)
    // each attempt dials at most its cap, and new addresses only while the peer's caps allow
    expect(attempts.length).toBeGreaterThanOrEqual(2)
    for (const addrs of attempts) expect(addrs.length).toBeLessThanOrEqual(DEFAULT_MAX_DIAL_CANDIDATES)
    expect(new Set(attempts.flat()).size).toBeLessThanOrEqual(DEFAULT_MAX_PEER_CANDIDATES)
    // over all attempts: at most the per-peer caps of distinct addresses and IPs
    expect(listeners.hits.size).toBeGreaterThan(0)
    expect(listeners.hits.size).toBeLessThanOrEqual(DEFAULT_MAX_PEER_CANDIDATES)
    expect(listeners.ips().size).toBeLessThanOrEqual(DEFAULT_MAX_PEER_CANDIDATE_IPS)
    expect(listeners.total()).toBeLessThanOrEqual(f.attempts * DEFAULT_MAX_DIAL_CANDIDATES)
    // the gater was asked about every candidate dialled, and about nothing beyond the caps
    const asked = new Set(gater.asked.filter(a => a.startsWith('/ip4/127.0.1.') || a.startsWith('/dns')).map(a => a.replace(/\/p2p\/.*$/, '')))
    for (const hit of listeners.hits.keys()) expect(asked).toContain(`/ip4/${hit.replace(':', '/tcp/')}`)
    expect(asked.size).toBeLessThanOrEqual(DEFAULT_MAX_PEER_CANDIDATES)
    expect([...asked].some(a => a.startsWith('/dns'))).toBe(false)
  }, 40_000)

  it('attack 3: a stranger\'s DCUtR stream on a relayed connection it dialed, or on a direct one, is reset and reported; nothing is dialled', async () => {
    listeners = new CountingListeners()
    const targets = await listeners.listen(IPS, PER_IP)
    const relay = await createRelay()
    const victim: HpNode = await createPeer({ services: { holePunch: holePunch({ allowPrivateAddresses: true, unilateral: false }) }, listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'] })
    // the strangers do not speak DCUtR themselves: the victim's own exchange (as B) ends with `na`
    const stranger = await createPeer({ services: {} })
    const other = await createPeer({ services: {} })
    nodes.push(relay, victim, stranger, other)
    const circuit = await reserve(victim, relay)
    const refusals: HolePunchRefusedEvent[] = []
    victim.services.holePunch.addEventListener('holepunch:refused', (evt) => { refusals.push(evt.detail) })
    const connect = encodeHolePunch({ type: 'CONNECT', obsAddrs: targets.map(t => t.bytes) })

    const attack = async (conn: Connection): Promise<void> => {
      const stream = await conn.newStream(HOLEPUNCH_PROTOCOL, { runOnLimitedConnection: true, signal: AbortSignal.timeout(5_000) })
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE })
      await lp.write(connect).catch(() => {})
      // no CONNECT comes back: the victim resets the stream
      await expect(lp.read({ signal: AbortSignal.timeout(5_000) })).rejects.toThrow()
      await closed(stream)
    }
    const relayed = await stranger.dial(circuit, { signal: AbortSignal.timeout(10_000) })
    expect(relayed.limits).toBeDefined()
    await attack(relayed)
    const direct = await other.dial(victim.getMultiaddrs().filter(ma => !ma.toString().includes('p2p-circuit')), { signal: AbortSignal.timeout(10_000) })
    expect(direct.limits).toBeUndefined()
    await attack(direct)

    await waitUntil(() => refusals.length >= 2, 5_000, 'two holepunch:refused events')
    expect(refusals).toEqual([
      expect.objectContaining({ remotePeer: stranger.peerId.toString(), reason: 'not-dialed' }),
      expect.objectContaining({ remotePeer: other.peerId.toString(), reason: 'not-relayed' })
    ])
    expect(victim.services.holePunch.getStats()).toMatchObject({ refused: 2, attempts: 0 })
    expect(listeners.total()).toBe(0)
  }, 40_000)

  for (const side of ['own', 'others'] as const) {
    it(`a full table of punches on relayed connections ${side === 'own' ? 'we dialed (maxOwnPunches)' : 'others opened (maxConcurrentPunches)'} fails with busy instead of silence`, async () => {
      const relay = await createRelay()
      const full = side === 'own' ? { maxOwnPunches: 0 } : { maxConcurrentPunches: 0 }
      const base = { allowPrivateAddresses: true, unilateral: false, retryRounds: 0 }
      // A dials B through the relay: B runs the others' table, A its own
      const b: HpNode = await createPeer({ services: { holePunch: holePunch({ ...base, ...(side === 'others' ? full : {}) }) }, listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'] })
      const a: HpNode = await createPeer({ services: { holePunch: holePunch({ ...base, ...(side === 'own' ? full : {}) }) } })
      nodes.push(relay, b, a)
      const circuit = await reserve(b, relay)
      const busySide = side === 'own' ? a : b
      const failure = nextEvent<HolePunchFailureEvent>(busySide.services.holePunch, 'holepunch:failure')
      await a.dial(circuit)
      const f = await failure
      expect(f).toMatchObject({ reason: 'busy', attempts: 0, remotePeer: (side === 'own' ? b : a).peerId.toString() })
      expect(f.message).toContain(side === 'own' ? 'maxOwnPunches' : 'maxConcurrentPunches')
      expect(busySide.services.holePunch.getStats().failures.busy).toBe(1)
      expect(directConnections(a, b)).toEqual([])
    })
  }

  it('attack 4: our own punch reaches direct while 25 strangers hold 100 DCUtR streams against us and fill the table of their punches', async () => {
    const STRANGERS = 25
    expect(STRANGERS).toBeGreaterThan(DEFAULT_MAX_CONCURRENT_PUNCHES)
    // every stranger dials from 127.0.0.1: lift libp2p's 5 inbound connections per second per host
    const connectionManager = { inboundConnectionThreshold: 4 * STRANGERS }
    const relay = await createRelay(connectionManager)
    const init = { allowPrivateAddresses: true, unilateral: false, retryRounds: 0 }
    // our punches towards the strangers wait 30 s for answers that never come: the table stays full however slow the setup
    const us: HpNode = await createPeer({ services: { holePunch: holePunch({ ...init, timeout: 30_000 }) }, listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'], connectionManager })
    const friend: HpNode = await createPeer({ services: { holePunch: holePunch(init) }, listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'] })
    nodes.push(relay, us, friend)
    const ourCircuit = await reserve(us, relay)
    const friendCircuit = await reserve(friend, relay)
    const busy: HolePunchFailureEvent[] = []
    us.services.holePunch.addEventListener('holepunch:failure', (evt) => { if (evt.detail.reason === 'busy') busy.push(evt.detail) })

    // each stranger reaches us through the relay (so we, as B, punch towards
    // it: it accepts our DCUtR stream and never answers) and directly, and
    // opens two DCUtR streams on each connection (the per-connection limit)
    const held: Stream[] = []
    let strangerStreams = 0
    const stranger = async (): Promise<void> => {
      const node = await createPeer({ services: {} })
      nodes.push(node)
      await node.handle(HOLEPUNCH_PROTOCOL, (stream) => { held.push(stream) }, { runOnLimitedConnection: true })
      const relayed = await node.dial(ourCircuit, { signal: AbortSignal.timeout(10_000) })
      const direct = await node.dial(us.getMultiaddrs().filter(ma => !ma.toString().includes('p2p-circuit')), { force: true, signal: AbortSignal.timeout(10_000) })
      for (const conn of [relayed, relayed, direct, direct]) {
        const stream = await conn.newStream(HOLEPUNCH_PROTOCOL, { runOnLimitedConnection: true, signal: AbortSignal.timeout(5_000) })
        strangerStreams++
        held.push(stream)
      }
    }
    for (let i = 0; i < STRANGERS; i++) await stranger()
    expect(strangerStreams).toBe(4 * STRANGERS)
    // the strangers' connections filled the table of punches others start
    await waitUntil(() => busy.length > 0, 10_000, 'a busy failure')

    const success = nextEvent<HolePunchSuccessEvent>(us.services.holePunch, 'holepunch:success', 20_000)
    await us.dial(friendCircuit, { signal: AbortSignal.timeout(10_000) })
    const s = await success
    expect(s.remotePeer).toBe(friend.peerId.toString())
    await waitUntil(() => directConnections(us, friend).length > 0, 10_000, 'a direct connection to our friend')
    expect(relayedConnections(friend, us).length + directConnections(friend, us).length).toBeGreaterThan(0)
    expect(us.services.holePunch.getStats().refused).toBe(4 * STRANGERS)
    expect(busy.length).toBeGreaterThanOrEqual(STRANGERS - DEFAULT_MAX_CONCURRENT_PUNCHES)
    for (const stream of held) stream.abort(new Error('test done'))
  }, 90_000)
})
