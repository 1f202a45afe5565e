import { dcutr } from '@libp2p/dcutr'
import { isLoopback } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { holePunch } from '../src/index.js'
import { attemptDetail, createPeer, createRelay, directConnections, nextEvent, recordEvents, reserve, waitUntil } from './helpers.js'
import type { HolePunchAttemptEvent, HolePunchService, HolePunchSuccessEvent } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Stock @libp2p/dcutr only accepts public addresses, so each node also
 * announces one: an address of the lab's "internet" (11.0.0.0/16), which js-libp2p
 * counts as public. It is never dialled: every node's gater refuses
 * non-loopback dials and records the attempt (and `npm test` runs in a
 * sandbox namespace that counts any packet that would leave it).
 */
const FAKE_PUBLIC = '/ip4/11.0.0.99/tcp/4001'

function recordingGater (): { gater: { denyDialMultiaddr: (ma: Multiaddr) => boolean }, denied: string[] } {
  const denied: string[] = []
  return {
    denied,
    gater: {
      denyDialMultiaddr: (ma: Multiaddr): boolean => {
        if (isLoopback(ma)) return false
        if (denied.length < 100) denied.push(ma.toString())
        return true
      }
    }
  }
}

describe('interop with stock @libp2p/dcutr', () => {
  let nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  // On loopback there is no TCP simultaneous open: our B dials stock A's
  // listener as the multistream/noise responder (as B must, for a simultaneous
  // open through NATs), and A's listener is a responder too, so that dial
  // cannot complete here; stock A's own dial goes to the offered public address,
  // which the gater refuses. What this shows is the wire exchange both ways.
  it('ours as B (initiator) with stock as A: both parse each other and stock A dials what we offered', async () => {
    const relay = await createRelay()
    const bGater = recordingGater()
    const b = await createPeer({
      services: { holePunch: holePunch({ allowPrivateAddresses: true, unilateral: false, attempts: 1, timeout: 3000 }) },
      listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'],
      appendAnnounce: [FAKE_PUBLIC],
      gater: bGater.gater
    })
    const aGater = recordingGater()
    const a = await createPeer({ services: { dcutr: dcutr() }, appendAnnounce: [FAKE_PUBLIC], gater: aGater.gater })
    nodes.push(relay, b, a)
    const bHp = (b.services as { holePunch: HolePunchService }).holePunch
    const attempt = nextEvent<HolePunchAttemptEvent>(bHp, 'holepunch:attempt')
    await a.dial(await reserve(b, relay))

    // we decoded stock A's CONNECT: its addresses (loopback allowed here)
    const att = await attempt
    expect(att.role).toBe('initiator')
    expect(att.addrs.some(s => s.startsWith('/ip4/127.0.0.1/tcp/') && s.endsWith(`/p2p/${a.peerId}`))).toBe(true)
    // ... including the public one, which our gater refused: it is not dialled
    expect(bGater.denied).toContain(`${FAKE_PUBLIC}/p2p/${a.peerId}`)
    expect(att.addrs).not.toContain(`${FAKE_PUBLIC}/p2p/${a.peerId}`)
    // stock A decoded our CONNECT and our SYNC: it dialed the public address we offered
    await waitUntil(() => aGater.denied.some(s => s.startsWith(FAKE_PUBLIC)), 5000, 'stock A dialing our offered address')
  })

  it('stock as B (initiator) with ours as A: the punch succeeds through our dial', async () => {
    const relay = await createRelay()
    const bGater = recordingGater()
    const b = await createPeer({
      services: { dcutr: dcutr({ timeout: 3000, retries: 1 }) },
      listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'],
      gater: bGater.gater
    })
    const a = await createPeer({
      services: { holePunch: holePunch({ allowPrivateAddresses: true }) },
      appendAnnounce: [FAKE_PUBLIC]
    })
    nodes.push(relay, b, a)
    const aHp = (a.services as { holePunch: HolePunchService }).holePunch
    const events = recordEvents(aHp)
    const success = nextEvent<HolePunchSuccessEvent>(aHp, 'holepunch:success')
    await a.dial(await reserve(b, relay))

    const s = await success
    expect(s.remotePeer).toBe(b.peerId.toString())
    expect(s.remoteAddr).not.toContain('p2p-circuit')
    // attempt (we decoded stock B's CONNECT and SYNC; its loopback addr is what we dial)
    expect(events[0].type).toBe('holepunch:attempt')
    expect(attemptDetail(events[0]).role).toBe('responder')
    expect(attemptDetail(events[0]).addrs.some(x => x.startsWith('/ip4/127.0.0.1/tcp/'))).toBe(true)
    expect(events[1].type).toBe('holepunch:success')
    // stock B decoded our CONNECT (it only sends SYNC, which produced our attempt
    // event, after finding a public address in it); it also dialed that address
    await waitUntil(() => bGater.denied.some(x => x.startsWith(FAKE_PUBLIC)), 5000, 'stock B dialing our offered address')
    await waitUntil(() => directConnections(b, a).length > 0, 10_000, 'direct connection on B')
  })
})
