/**
 * Issue 13: a relay's STUN server with `--stun-alternate` is enough for a
 * peer's NAT discovery at start to classify its filtering (RFC 5780
 * CHANGE-REQUEST) and mapping (a second observer address), and its TCP
 * connect-back observer answers `natkit-autonat nat`'s inbound test; without
 * the alternate the same peer's filtering stays `unknown`. Loopback only:
 * the relay's STUN server on 127.0.0.1, the alternate on 127.0.0.2.
 */
import { resolveOptions } from '@natkit/config'
import { NatkitEvents, type NatkitEvent } from '@natkit/events'
import { tcpConnectBack } from '@natkit/nat-behavior'
import { afterEach, describe, expect, it } from 'vitest'
import { createRelay } from '@natkit/relay-app/node'
import { RELAY_ROLE } from '@natkit/relay-app'
import { createPeer } from '@natkit/peer-app/node'
import { PEER_ROLE } from '@natkit/peer-app'
import type { NatkitRunner } from '@natkit/node'
import { freeUdpPort } from '@natkit/testkit/roles'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

/** Starts natkit-relay with `--stun-listen 127.0.0.1:<port>` and `flags`; resolves with its `info` lines. */
async function startRelay (port: number, flags: Record<string, unknown>): Promise<string[]> {
  const events = new NatkitEvents()
  const info: string[] = []
  events.on('info', (e) => { info.push(e.message) })
  const relay: NatkitRunner = await createRelay(resolveOptions(RELAY_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], autonat: false, stunListen: `127.0.0.1:${port}`, ...flags } }), events)
  cleanups.push(async () => { await relay.stop() })
  await relay.start()
  return info
}

/** A peer whose only `--stun` is the relay's; resolves with its `nat` event. */
async function peerNat (port: number, seed: string): Promise<NatkitEvent<'nat'>> {
  const events = new NatkitEvents()
  const nat = new Promise<NatkitEvent<'nat'>>((resolve) => { events.on('nat', resolve) })
  const peer = await createPeer(resolveOptions(PEER_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], seed, upnp: false, webrtc: false, dht: false, stun: [`stun:127.0.0.1:${port}`] } }), events)
  cleanups.push(async () => { await peer.stop() })
  await peer.start()
  return await nat
}

describe('natkit-relay --stun-alternate (RFC 5780 observer for peers\' NAT discovery)', () => {
  it('a peer classifies its filtering and mapping against the relay alone; the connect-back observer answers', async () => {
    const port = await freeUdpPort()
    const info = await startRelay(port, { stunAlternate: '127.0.0.2:0' })
    expect(info.some(m => /^STUN binding server on udp 127\.0\.0\.1:\d+ \(alternate 127\.0\.0\.2:\d+, CHANGE-REQUEST on\)$/.test(m))).toBe(true)
    expect(info.some(m => m.startsWith(`TCP connect-back observer on tcp 127.0.0.1:${port} (connects back from 127.0.0.2)`))).toBe(true)
    const nat = await peerNat(port, 'roles-relay-stun-a')
    // CHANGE-REQUEST answers arrived from the other address and port: nothing filters
    expect(nat).toMatchObject({ natted: false, mapping: 'none', filtering: 'endpoint-independent' })
    // the observers: the relay's primary address and its alternate (from OTHER-ADDRESS)
    expect(new Set(nat.observers.map(o => o.server.split(':')[0]))).toEqual(new Set(['127.0.0.1', '127.0.0.2']))
    // what natkit-autonat nat's inbound test asks: the relay connects back from 127.0.0.2
    const back = await tcpConnectBack({ address: '127.0.0.1', port }, { localAddress: '127.0.0.1' })
    expect(back.result).toBe('connected')
    expect(back.accepted).toBe(1)
  })

  it('without it: the same peer cannot tell its filtering (one observer, no CHANGE-REQUEST)', async () => {
    const port = await freeUdpPort()
    const info = await startRelay(port, {})
    expect(info).toContain(`STUN binding server on udp 127.0.0.1:${port}`)
    const nat = await peerNat(port, 'roles-relay-stun-b')
    expect(nat.filtering).toBe('unknown')
    expect(new Set(nat.observers.map(o => o.server.split(':')[0]))).toEqual(new Set(['127.0.0.1']))
  })

  it('--stun-alternate without --stun-listen is refused, naming the flag', () => {
    expect(() => resolveOptions(RELAY_ROLE, { flags: { stunAlternate: '127.0.0.2:3479' } })).toThrow(/stun-?alternate.*needs --stun-listen|needs --stun-listen/i)
  })
})
