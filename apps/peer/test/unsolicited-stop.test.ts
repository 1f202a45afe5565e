/**
 * Issue 11, attack 5: a STOP stream from a peer this node holds no reservation
 * on (any peer running a relay server) must not make the peer reserve on it
 * and advertise `/p2p/<stranger>/p2p-circuit` addresses. Loopback only.
 */
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { resolveOptions, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_PENDING_INBOUND, DEFAULT_MAX_PENDING_INBOUND_PER_IP } from '@natkit/config'
import { NatkitEvents, type NatkitEvent } from '@natkit/events'
import { createNatkitNode, loadIdentity, RELAY_V2_STOP_PROTOCOL, type NatkitNode } from '@natkit/node'
import { afterEach, describe, expect, it } from 'vitest'
import { createPeer, type PeerRunner } from '../src/node.js'
import { PEER_ROLE } from '../src/options.js'
import type { Stream } from '@libp2p/interface'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

const LOOPBACK = { listen: ['/ip4/127.0.0.1/tcp/0'], webrtc: false, upnp: false, dht: false, holepunch: false }

async function startPeer (flags: Record<string, unknown> = {}): Promise<{ peer: PeerRunner, log: NatkitEvent[] }> {
  const events = new NatkitEvents()
  const log: NatkitEvent[] = []
  events.onAny((e) => { log.push(e) })
  const peer = await createPeer(resolveOptions(PEER_ROLE, { flags: { ...LOOPBACK, ...flags } }), events)
  cleanups.push(async () => { await peer.stop() })
  await peer.start()
  return { peer, log }
}

/** A stranger running a stock circuit relay server. */
async function startStranger (): Promise<NatkitNode<{ relay: unknown }>> {
  const { key } = await loadIdentity({})
  const node = await createNatkitNode<{ relay: unknown }>({
    options: { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], maxConnections: 10, dialTimeout: 5_000, maxPendingInbound: DEFAULT_MAX_PENDING_INBOUND, maxPendingInboundPerIp: DEFAULT_MAX_PENDING_INBOUND_PER_IP, handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT },
    privateKey: key,
    transports: [tcp()],
    services: { relay: circuitRelayServer() }
  })
  await node.start()
  cleanups.push(async () => { await node.stop() })
  return node
}

/** A length-prefixed StopMessage `{ type: CONNECT, peer: { id } }`. */
function stopConnect (peerMultihash: Uint8Array): Uint8Array {
  const peer = [0x0a, peerMultihash.length, ...peerMultihash]
  const msg = [0x08, 0x00, 0x12, peer.length, ...peer]
  return Uint8Array.from([msg.length, ...msg])
}

const circuitAddrs = (peer: PeerRunner): string[] => peer.node.getMultiaddrs().map(String).filter(a => a.includes('/p2p-circuit'))

describe('unsolicited STOP streams (issue 11, attack 5)', () => {
  it('a STOP from a relay the peer holds no reservation on is refused and reported; no reservation, no circuit address', async () => {
    const { peer, log } = await startPeer()
    const stranger = await startStranger()
    const stream: Stream = await stranger.dialProtocol(multiaddr(`${peer.node.getMultiaddrs()[0].toString()}`), RELAY_V2_STOP_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    const closed = stream.status !== 'open' ? Promise.resolve() : new Promise<void>((resolve) => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
    // the peer may have reset the stream already: it refuses before reading the request
    try { stream.send(stopConnect(stranger.peerId.toMultihash().bytes)) } catch {}
    const reservations = (stranger.services.relay as { reservations: { size: number } }).reservations
    // whichever comes first (bounded): the refusal, or (the attack) a reservation of the peer on the stranger
    const refusal = (): NatkitEvent | undefined => log.find(e => e.event === 'relay:stop:refused')
    const deadline = Date.now() + 5_000
    while (refusal() == null && reservations.size === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    expect(reservations.size, 'the peer reserved on the stranger').toBe(0)
    expect(circuitAddrs(peer)).toEqual([])
    expect(refusal()).toMatchObject({ relay: stranger.peerId.toString(), reason: 'no reservation on this relay' })
    // the stranger's stream was reset, not answered
    await closed
    expect(stream.status).toBe('reset')
    expect(log.filter(e => e.event === 'listening' && e.addrs.some(a => a.includes('/p2p-circuit')))).toEqual([])
  })

  it('further STOPs from the same relay within the report interval are refused too, and reported once', async () => {
    const { peer, log } = await startPeer()
    const stranger = await startStranger()
    for (let i = 0; i < 5; i++) {
      const stream = await stranger.dialProtocol(peer.node.getMultiaddrs()[0], RELAY_V2_STOP_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
      if (stream.status === 'open') await new Promise((resolve) => { stream.addEventListener('close', resolve, { once: true }) })
    }
    // the fifth was refused as well: its stream was reset
    expect(log.filter(e => e.event === 'relay:stop:refused')).toHaveLength(1)
    expect(circuitAddrs(peer)).toEqual([])
  })
})
