/**
 * raceDirectPaths' bookkeeping with a scripted node: which phrase each path
 * gets when paths fail, win or end in an order a loaded machine produces.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { NatkitEvents } from '@natkit/events'
import { describe, expect, it, vi } from 'vitest'
import { raceDirectPaths, type RaceRunner } from './direct-paths.js'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

const RELAY = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'

interface Scripted {
  runner: RaceRunner
  relayed: Connection & { status: string }
  /** Settles the (first) WebRTC dial the race starts. */
  webrtc: PromiseWithResolvers<Connection>
  /** Every WebRTC dial the race started, in order. */
  dials: Array<PromiseWithResolvers<Connection>>
  /** A direct TCP connection to the remote opens (its ping is answered). */
  openTcp: () => void
  /** A direct connection over WebRTC, as the transport returns it. */
  webrtcConn: () => Connection
}

async function scripted (): Promise<Scripted> {
  const remote: PeerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const node = new EventTarget() as unknown as Libp2p & EventTarget
  const dials = [Promise.withResolvers<Connection>()]
  const conns: Connection[] = []
  let dialled = 0
  Object.assign(node, {
    getConnections: () => conns,
    peerStore: { get: async () => ({ metadata: new Map([['AgentVersion', new Uint8Array()]]), protocols: ['/webrtc-signaling/0.0.1'] }) },
    components: {
      transportManager: {
        dial: async () => {
          if (dialled++ > 0) dials.push(Promise.withResolvers<Connection>())
          return await dials[dialled - 1].promise
        }
      },
      upgrader: {}
    }
  })
  const relayed = { remotePeer: remote, remoteAddr: multiaddr(`${RELAY}/p2p-circuit/p2p/${remote.toString()}`), limits: {}, status: 'open' } as unknown as Connection & { status: string }
  conns.push(relayed)
  const unsupported = Object.assign(new Error('protocol selection failed'), { name: 'UnsupportedProtocolError' })
  const direct = (addr: string): Connection => ({ remotePeer: remote, remoteAddr: multiaddr(addr), status: 'open', newStream: async () => { throw unsupported }, close: async () => {}, abort: () => {} }) as unknown as Connection
  const openTcp = (): void => {
    const tcp = direct(`/ip4/127.0.0.1/tcp/5002/p2p/${remote.toString()}`)
    conns.push(tcp)
    node.dispatchEvent(new CustomEvent('connection:open', { detail: tcp }))
  }
  const webrtcConn = (): Connection => direct(`${RELAY}/p2p-circuit/webrtc/p2p/${remote.toString()}`)
  return { runner: { node, events: new NatkitEvents('local') }, relayed, webrtc: dials[0], dials, openTcp, webrtcConn }
}

const plan = { race: ['tcp' as const, 'webrtc' as const], skipped: {} }

describe('raceDirectPaths', () => {
  it('WebRTC cut by the relayed connection closing after the punch loses to TCP instead of failing', async () => {
    const s = await scripted()
    const race = raceDirectPaths(s.runner, s.relayed, { plan, holepunchAttempts: 1, signal: AbortSignal.timeout(5_000), webrtcWindow: 5_000 })
    await new Promise(resolve => setImmediate(resolve))
    // B's punch succeeded and B closed the relayed connection: the signalling stream dies first...
    s.relayed.status = 'closed'
    s.webrtc.reject(new Error('stream reset'))
    await new Promise(resolve => setImmediate(resolve))
    // ...then A sees the direct TCP connection open
    s.openTcp()
    const result = await race
    expect(result.path).toBe('tcp')
    expect(result.paths.tcp).toMatch(/^won after \d+ ms$/)
    expect(result.paths.webrtc).toBe('lost: tcp was direct first')
  })

  it('when every path fails after the relayed connection closed, the race ends with both failures, before its timeout', async () => {
    const s = await scripted()
    const t0 = Date.now()
    const race = raceDirectPaths(s.runner, s.relayed, { plan, holepunchAttempts: 1, signal: AbortSignal.timeout(5_000), webrtcWindow: 5_000 })
    await new Promise(resolve => setImmediate(resolve))
    s.relayed.status = 'closed'
    s.webrtc.reject(new Error('stream reset'))
    s.runner.events.emit('holepunch:failure', { remotePeer: s.relayed.remotePeer.toString(), reason: 'no-answer', message: 'no SYN came back', attempts: 1, ms: 10 })
    const result = await race
    expect(Date.now() - t0).toBeLessThan(4_000)
    expect(result.conn).toBeUndefined()
    expect(result.paths.webrtc).toBe('failed: stream reset')
    expect(result.paths.tcp).toBe('failed: no-answer: no SYN came back')
  })

  it('a WebRTC failure while the relayed connection is still open settles at once', async () => {
    const s = await scripted()
    const race = raceDirectPaths(s.runner, s.relayed, { plan: { race: ['webrtc'], skipped: { tcp: 'not tried' } }, holepunchAttempts: 1, signal: AbortSignal.timeout(5_000), webrtcWindow: 5_000 })
    await new Promise(resolve => setImmediate(resolve))
    s.webrtc.reject(new Error('ICE failed'))
    const result = await race
    expect(result.paths).toEqual({ tcp: 'not tried', webrtc: 'failed: ICE failed' })
  })

  it('a busy punch table ends the TCP path at once, whatever the attempt count', async () => {
    const s = await scripted()
    const race = raceDirectPaths(s.runner, s.relayed, { plan: { race: ['tcp'], skipped: { webrtc: 'not tried' } }, holepunchAttempts: 3, signal: AbortSignal.timeout(5_000) })
    await new Promise(resolve => setImmediate(resolve))
    s.runner.events.emit('holepunch:failure', { remotePeer: s.relayed.remotePeer.toString(), reason: 'busy', message: 'maxOwnPunches (16) punches already run', attempts: 0, ms: 0 })
    const result = await race
    expect(result.paths.tcp).toBe('failed: busy: maxOwnPunches (16) punches already run')
  })

  it('a `final` failure (both NATs symmetric: no further attempt) ends the TCP path at once; a plain first-attempt failure does not', async () => {
    const s = await scripted()
    const race = raceDirectPaths(s.runner, s.relayed, { plan: { race: ['tcp'], skipped: { webrtc: 'not tried' } }, holepunchAttempts: 3, signal: AbortSignal.timeout(5_000) })
    let settled = false
    void race.then(() => { settled = true })
    await new Promise(resolve => setImmediate(resolve))
    s.runner.events.emit('holepunch:failure', { remotePeer: s.relayed.remotePeer.toString(), reason: 'no-answer', message: 'no SYN came back', attempts: 1, ms: 10 })
    await new Promise(resolve => setImmediate(resolve))
    expect(settled).toBe(false)
    const t0 = Date.now()
    s.runner.events.emit('holepunch:failure', { remotePeer: s.relayed.remotePeer.toString(), reason: 'symmetric-nat-suspected', message: 'both NATs are symmetric', attempts: 1, ms: 10, final: true })
    const result = await race
    expect(Date.now() - t0).toBeLessThan(1_000)
    expect(result.paths.tcp).toBe('failed: symmetric-nat-suspected: both NATs are symmetric')
  })

  it('a second direct connection over the winning path is closed and the winner keeps its phrase', async () => {
    const s = await scripted()
    const race = raceDirectPaths(s.runner, s.relayed, { plan, holepunchAttempts: 1, signal: AbortSignal.timeout(5_000), webrtcWindow: 5_000 })
    await new Promise(resolve => setImmediate(resolve))
    // both TCP connections are being confirmed when the first one wins
    s.openTcp()
    s.openTcp()
    const result = await race
    await new Promise(resolve => setImmediate(resolve))
    expect(result.path).toBe('tcp')
    expect(result.paths.tcp).toMatch(/^won after \d+ ms$/)
    expect(result.paths.webrtc).toBe('lost: tcp was direct first')
  })

  it('a stalled WebRTC attempt gets a second one beside it after the hedge delay, and the second one can win', async () => {
    const s = await scripted()
    const webrtcOnly = { race: ['webrtc' as const], skipped: { tcp: 'not tried' } }
    const race = raceDirectPaths(s.runner, s.relayed, { plan: webrtcOnly, holepunchAttempts: 1, signal: AbortSignal.timeout(5_000), webrtcWindow: 5_000, webrtcHedgeDelay: 50 })
    await vi.waitFor(() => { expect(s.dials).toHaveLength(2) }, { timeout: 2_000, interval: 10 })
    // the second attempt connects; the first one (stalled) is the one that fails
    s.dials[1].resolve(s.webrtcConn())
    s.dials[0].reject(new Error('The operation was aborted due to timeout'))
    const result = await race
    expect(result.path).toBe('webrtc')
    expect(result.paths.webrtc).toMatch(/^won after \d+ ms$/)
  })

  it('a WebRTC attempt that fails before the hedge delay is not repeated', async () => {
    const s = await scripted()
    const webrtcOnly = { race: ['webrtc' as const], skipped: { tcp: 'not tried' } }
    const race = raceDirectPaths(s.runner, s.relayed, { plan: webrtcOnly, holepunchAttempts: 1, signal: AbortSignal.timeout(5_000), webrtcWindow: 5_000, webrtcHedgeDelay: 200 })
    await vi.waitFor(() => { expect(s.dials).toHaveLength(1) })
    await new Promise(resolve => setImmediate(resolve))
    s.webrtc.reject(new Error('ICE failed'))
    const result = await race
    expect(result.paths.webrtc).toBe('failed: ICE failed')
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(s.dials).toHaveLength(1)
  })
})
