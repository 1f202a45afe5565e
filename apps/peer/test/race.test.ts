/**
 * The direct-path race on loopback, with the role binaries: peer B keeps a
 * reservation on a relay, peer A dials B's circuit address (no /webrtc in it)
 * and races TCP hole punching and WebRTC as `--direct-paths` says. Loopback
 * has no NAT, so both paths work: what is checked is which ones ran, that
 * the winner is confirmed on both sides, and what `dial:result` reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RoleProcess, listeningAddr, RolePool } from '@natkit/testkit/roles'
import type { NatkitEvent } from '@natkit/events'

const pool = new RolePool()
const start = pool.start
afterAll(async () => { await pool.stopAll() })

let b: RoleProcess
let circuit: string

beforeAll(async () => {
  const relay = start('relay', ['--listen', '/ip4/127.0.0.1/tcp/0', '--seed', 'race-relay'])
  const relayAddr = await listeningAddr(relay)
  // B announces only its relay address: A reaches it through the relay, then the paths race
  b = start('peer', ['--listen', '/ip4/127.0.0.1/tcp/0', '--seed', 'race-peer-b', '--relay', relayAddr.addr, '--announce', `${relayAddr.addr}/p2p-circuit`, '--allow-private-addresses', '--no-dht'])
  const reservation = await b.waitFor('reservation')
  circuit = `${relayAddr.addr}/p2p-circuit/p2p/${reservation.peerId}`
}, 60_000)

async function dial (seed: string, extra: string[]): Promise<{ a: RoleProcess, result: NatkitEvent<'dial:result'>, exit: number | null }> {
  const a = start('peer', ['dial', circuit, '--listen', '/ip4/127.0.0.1/tcp/0', '--seed', seed, '--allow-private-addresses', '--no-dht', '--timeout', '20s', ...extra])
  const result = await a.waitFor('dial:result', () => true, 30_000)
  return { a, result, exit: await a.exited }
}

describe('racing the direct paths of a relayed connection', () => {
  it('--direct-paths webrtc: WebRTC over the relay wins, TCP is not tried, B holds the same connection', async () => {
    const from = b.events.length
    const { a, result, exit } = await dial('race-a-webrtc', ['--direct-paths', 'webrtc'])
    // the result first: on failure it names what each path did
    expect(result).toMatchObject({ outcome: 'direct', path: 'webrtc', paths: { tcp: 'not tried: not in --direct-paths', webrtc: expect.stringMatching(/^won after \d+ ms$/) } })
    expect(exit).toBe(0)
    expect(result.remoteAddr).toContain('/p2p-circuit/webrtc/')
    // no hole punch ran on either side
    expect(a.events.some(e => e.event === 'holepunch:attempt')).toBe(false)
    const inbound = await b.waitFor('peer:connect', (e) => e.remotePeer === a.events[0]?.peerId && !e.limited, 10_000, from)
    expect(inbound.remoteAddr).toContain('/webrtc')
  }, 60_000)

  it('--direct-paths tcp: hole punching wins, WebRTC is not tried', async () => {
    const { a, result, exit } = await dial('race-a-tcp', ['--direct-paths', 'tcp'])
    expect(result).toMatchObject({ outcome: 'direct', path: 'tcp', paths: { webrtc: 'not tried: not in --direct-paths' } })
    expect(exit).toBe(0)
    expect(result.remoteAddr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    expect(a.events.some(e => e.event === 'peer:connect' && e.remoteAddr.includes('/webrtc'))).toBe(false)
  }, 60_000)

  it('by default both paths race: one wins, the other says it lost to it (or was closed after it)', async () => {
    const { result, exit } = await dial('race-a-auto', [])
    expect(result).toMatchObject({ outcome: 'direct' })
    expect(exit).toBe(0)
    const winner = result.path as 'tcp' | 'webrtc'
    const loser = winner === 'tcp' ? 'webrtc' : 'tcp'
    expect(['tcp', 'webrtc']).toContain(winner)
    expect(result.paths?.[winner]).toMatch(/^won after \d+ ms$/)
    expect(result.paths?.[loser]).toMatch(new RegExp(`^(lost: ${winner} was direct first|direct too, \\d+ ms in, after ${winner} won; closed)$`))
  }, 60_000)
})
