/**
 * raceDirectPaths' bookkeeping with a scripted node: which phrase each path
 * gets when paths fail, win or end in an order a loaded machine produces.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { NatkitEvents } from '@natkit/events'
import { describe, expect, it } from 'vitest'
import { raceDirectPaths, type RaceRunner } from './direct-paths.js'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

const RELAY = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'

interface Scripted {
  runner: RaceRunner
  relayed: Connection & { status: string }
  /** Settles the WebRTC dial the race starts. */
  webrtc: PromiseWithResolvers<Connection>
  /** A direct TCP connection to the remote opens (its ping is answered). */
  openTcp: () => void
}

async function scripted (): Promise<Scripted> {
  const remote: PeerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const node = new EventTarget() as unknown as Libp2p & EventTarget
  const webrtc = Promise.withResolvers<Connection>()
  const conns: Connection[] = []
  Object.assign(node, {
    getConnections: () => conns,
    peerStore: { get: async () => ({ metadata: new Map([['AgentVersion', new Uint8Array()]]), protocols: ['/webrtc-signaling/0.0.1'] }) },
    components: { transportManager: { dial: async () => await webrtc.promise }, upgrader: {} }
  })
  const relayed = { remotePeer: remote, remoteAddr: multiaddr(`${RELAY}/p2p-circuit/p2p/${remote.toString()}`), limits: {}, status: 'open' } as unknown as Connection & { status: string }
  conns.push(relayed)
  const openTcp = (): void => {
    const unsupported = Object.assign(new Error('protocol selection failed'), { name: 'UnsupportedProtocolError' })
    const tcp = { remotePeer: remote, remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/5002/p2p/${remote.toString()}`), status: 'open', newStream: async () => { throw unsupported }, close: async () => {}, abort: () => {} } as unknown as Connection
    conns.push(tcp)
    node.dispatchEvent(new CustomEvent('connection:open', { detail: tcp }))
  }
  return { runner: { node, events: new NatkitEvents('local') }, relayed, webrtc, openTcp }
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
})
