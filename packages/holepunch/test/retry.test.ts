import { createServer, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { TypedEventEmitter } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { HolePunch, holePunch } from '../src/index.js'
import { createPeer, createRelay, nextEvent, recordingGater, reserve, waitUntil } from './helpers.js'
import type { HolePunchComponents, HolePunchFailureEvent, HolePunchRetryEvent, HolePunchService, RelayedExpiringEvent } from '../src/index.js'
import type { Connection, Libp2p, Libp2pEvents } from '@libp2p/interface'

/** A loopback TCP port nobody listens on (dials to it are refused at once). */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

describe('keep trying after a failed punch', () => {
  let nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  /**
   * B punches A, whose only candidate refuses every SYN; A may dial nothing
   * but the relay, so no direct connection can ever appear.
   */
  async function failingPair (bInit: Parameters<typeof holePunch>[0]): Promise<{ b: Libp2p<{ holePunch: HolePunchService }>, a: Libp2p<{ holePunch: HolePunchService }>, target: string, dials: string[], relayed: Awaited<ReturnType<Libp2p['dial']>> }> {
    const relay = await createRelay()
    const relayAddr = relay.getMultiaddrs()[0].toString()
    const refused = await closedPort()
    const dials: string[] = []
    const b = await createPeer({
      services: { holePunch: holePunch({ allowPrivateAddresses: true, unilateral: false, attempts: 1, timeout: 600, ...bInit }) },
      listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'],
      gater: recordingGater(() => false),
      dials
    })
    const a = await createPeer({
      services: { holePunch: holePunch({ allowPrivateAddresses: true, timeout: 600, retryRounds: 0 }) },
      announce: [`/ip4/127.0.0.1/tcp/${refused}`],
      gater: recordingGater(ma => !ma.toString().startsWith(relayAddr))
    })
    nodes.push(relay, b, a)
    const relayed = await a.dial(await reserve(b, relay))
    return { b, a, target: `/ip4/127.0.0.1/tcp/${refused}/p2p/${a.peerId}`, dials, relayed }
  }

  it('runs bounded, backed-off retry rounds while the peer is reached only through the relay, then stops', async () => {
    const retries: HolePunchRetryEvent[] = []
    const failures: HolePunchFailureEvent[] = []
    const { b, relayed } = await failingPair({ retryRounds: 2, retryDelay: 200, retryMaxDelay: 300, retryMinDelay: 0, punchResends: 2 })
    const hp = b.services.holePunch
    hp.addEventListener('holepunch:retry', (evt) => { retries.push(evt.detail) })
    hp.addEventListener('holepunch:failure', (evt) => { failures.push(evt.detail) })
    // the first punch and both retry rounds fail
    await waitUntil(() => failures.length >= 3, 20_000, 'three failed rounds')
    expect(failures.map(f => f.reason)).toEqual(['reset-by-remote', 'reset-by-remote', 'reset-by-remote'])
    expect(retries.map(r => r.round)).toEqual([1, 2])
    expect(retries.every(r => r.maxRounds === 2 && r.reason === 'reset-by-remote')).toBe(true)
    // exponential backoff (×2 per round, capped at retryMaxDelay), jittered ±20 %
    expect(retries[0].delayMs).toBeGreaterThanOrEqual(160)
    expect(retries[0].delayMs).toBeLessThanOrEqual(240)
    expect(retries[1].delayMs).toBeGreaterThanOrEqual(240)
    expect(retries[1].delayMs).toBeLessThanOrEqual(360)
    // bounded: after the last round nothing more is planned
    await waitUntil(() => hp.getStats().attempts === 3 ? true : undefined, 5_000, 'three attempts')
    expect(hp.getStats()).toMatchObject({ retries: 2, pendingRetries: 0, attempts: 3 })
    expect(relayed.status).toBe('open')
  })

  it('brings a pending retry forward when our addresses change', async () => {
    const { b, a } = await failingPair({ retryRounds: 1, retryDelay: 600_000, retryMaxDelay: 600_000, retryMinDelay: 0, punchResends: 0 })
    const hp = b.services.holePunch
    const retry = await nextEvent<HolePunchRetryEvent>(hp, 'holepunch:retry')
    expect(retry.delayMs).toBeGreaterThan(60_000)
    expect(hp.getStats().pendingRetries).toBe(1)
    const second = nextEvent<HolePunchFailureEvent>(hp, 'holepunch:failure', 10_000)
    // our own peer record changes (as when the address manager learns an address): self:peer:update
    await b.peerStore.merge(b.peerId, { metadata: { 'natkit-test': new Uint8Array([1]) } })
    const f = await second
    expect(f.remotePeer).toBe(a.peerId.toString())
    expect(hp.getStats()).toMatchObject({ retries: 1, pendingRetries: 0 })
  })

  it('spends at most maxPeerPunchDials punch dials on one peer over all attempts and rounds', async () => {
    const failures: HolePunchFailureEvent[] = []
    const { a, b, dials } = await failingPair({ attempts: 2, punchResends: 100, maxPeerPunchDials: 5, retryRounds: 1, retryDelay: 100, retryMaxDelay: 100, retryMinDelay: 0 })
    const hp = b.services.holePunch
    hp.addEventListener('holepunch:failure', (evt) => { failures.push(evt.detail) })
    await waitUntil(() => failures.length >= 2, 20_000, 'two failed rounds')
    // every punch dial to A's candidates (the budget counts first SYNs and resends alike)
    expect(dials.filter(d => d.endsWith(`/p2p/${a.peerId}`) && !d.includes('p2p-circuit'))).toHaveLength(5)
    // the first round spent the budget on resets; the retry round could dial nothing and says so
    expect(failures[0].reason).toBe('reset-by-remote')
    expect(failures[1].reason).toBe('dial-budget-exhausted')
    expect(failures[1].message).toContain('no punch dials left for this peer: 5 per 3600000 ms used')
  })
})

describe('relayed connection limits', () => {
  let nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  it('warns before a relayed connection without a direct alternative reaches its duration or data limit', async () => {
    // js-libp2p relays send their duration limit in ms where the spec (and go)
    // say seconds, so a real js circuit would claim ~1000× its duration: the
    // service gets a relayed connection whose live limits behave like
    // circuit-relay-v2's LimitTracker, on an event bus of its own
    // two idle nodes lend a peer id each (and a logger)
    const [self, remote] = await Promise.all([createPeer({ services: {} }), createPeer({ services: {} })])
    nodes.push(self, remote)
    const events = new TypedEventEmitter<Libp2pEvents>()
    const components = {
      peerId: self.peerId,
      events,
      logger: self.logger,
      registrar: { register: async () => 'topology', unregister: () => {}, handle: async () => {}, unhandle: async () => {} },
      connectionManager: { getConnections: () => [] },
      transportManager: { getTransports: () => [] }
    } as unknown as HolePunchComponents
    const service = new HolePunch(components, { relayLimitWarning: 3_000 })
    await service.start()
    try {
      const expires = Date.now() + 4_000
      let bytes = 1000n
      const limits = { get seconds () { return Math.round((expires - Date.now()) / 1000) }, get bytes () { return bytes } }
      const remotePeer = remote.peerId
      const remoteAddr = multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${components.peerId}/p2p-circuit/p2p/${remotePeer}`)
      const conn = Object.assign(new EventTarget(), { limits, status: 'open', remotePeer, remoteAddr }) as unknown as Connection
      const warnings: RelayedExpiringEvent[] = []
      service.addEventListener('relayed:expiring', (evt) => { warnings.push(evt.detail) })
      const t0 = Date.now()
      events.safeDispatchEvent('connection:open', { detail: conn })
      // 4 s left, warned 3 s before the end
      const duration = await waitUntil(() => warnings.find(w => w.limit === 'duration'), 5_000, 'duration warning')
      expect(Date.now() - t0).toBeGreaterThanOrEqual(500)
      expect(Date.now() - t0).toBeLessThan(4_000)
      expect(duration).toMatchObject({ remotePeer: remotePeer.toString(), remoteAddr: remoteAddr.toString() })
      expect(duration.remainingMs).toBeLessThanOrEqual(3_000)
      expect(duration.message).toContain('duration limit')
      expect(warnings.some(w => w.limit === 'data')).toBe(false)
      // 91 % of the data allowance used: the data warning
      bytes = 90n
      const data = await waitUntil(() => warnings.find(w => w.limit === 'data'), 5_000, 'data warning')
      expect(data).toMatchObject({ limit: 'data', limitBytes: 1000 })
      expect(data.message).toContain('90 of the 1000 bytes')
      // one warning per limit
      expect(warnings).toHaveLength(2)
    } finally {
      await service.stop()
    }
  })
})
