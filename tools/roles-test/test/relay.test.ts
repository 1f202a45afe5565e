/**
 * Relay limits and relay events with real nodes on loopback: each test fails
 * when its option does not reach the circuit relay server (or the peer's
 * reservation keeper), and the relay's events report outcomes, not requests.
 * Moved from packages/node, then from apps/relay (issue 9: the peer side is the
 * peer app's composition, a declared dependency); the assertions are unchanged.
 */
import { resolveOptions } from '@natkit/config'
import { NatkitEvents, type NatkitEvent, type NatkitEventName } from '@natkit/events'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { createRelay } from '@natkit/relay-app/node'
import { RELAY_ROLE } from '@natkit/relay-app'
// the peer side of these tests: the peer app's own composition
import { createPeer } from '@natkit/peer-app/node'
import { PEER_ROLE } from '@natkit/peer-app'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Stream } from '@libp2p/interface'

const STOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/stop'
const FLOOD_PROTOCOL = '/natkit-test/flood/1.0.0'

type Runner = Awaited<ReturnType<typeof createRelay>> | Awaited<ReturnType<typeof createPeer>>
interface Running { role: Runner, log: NatkitEvent[], addr: string }
const running: Runner[] = []
afterEach(async () => { await Promise.all(running.splice(0).map(async r => await r.stop())) })

const LOOPBACK_PEER = { listen: ['/ip4/127.0.0.1/tcp/0'], webrtc: false, upnp: false, dht: false, holepunch: false }

async function start (role: 'relay' | 'peer', flags: Record<string, unknown>): Promise<Running> {
  const events = new NatkitEvents()
  const log: NatkitEvent[] = []
  events.onAny((e) => { log.push(e) })
  const r = role === 'peer'
    ? await createPeer(resolveOptions(PEER_ROLE, { flags: { ...LOOPBACK_PEER, ...flags } }), events)
    : await createRelay(resolveOptions(RELAY_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], ...flags } }), events)
  running.push(r)
  await r.start()
  const addr = r.node.getMultiaddrs().find(ma => ma.toString().includes('/tcp/'))?.toString() ?? ''
  return { role: r, log, addr }
}

/** The first event `name` matching `match`, already logged or still to come (bounded by `timeout`). */
async function event<E extends NatkitEventName> (r: Running, name: E, match: (e: NatkitEvent<E>) => boolean = () => true, timeout = 10_000): Promise<NatkitEvent<E>> {
  const seen = r.log.find(e => e.event === name && match(e as unknown as NatkitEvent<E>))
  if (seen != null) return seen as unknown as NatkitEvent<E>
  return await r.role.events.waitFor(name, match, timeout)
}

const named = <E extends NatkitEventName>(r: Running, name: E): Array<NatkitEvent<E>> => r.log.filter(e => e.event === name) as unknown as Array<NatkitEvent<E>>

const CHUNK = 1024

/**
 * On every inbound stream: sends one 1 KiB chunk per byte the reader sends
 * (so each chunk crosses the relay on its own), up to `total` bytes, then closes.
 */
async function serveFlood (r: Running, total: number): Promise<void> {
  await r.role.node.handle(FLOOD_PROTOCOL, (stream: Stream) => {
    let sent = 0
    stream.addEventListener('message', (evt) => {
      for (let i = 0; i < evt.data.byteLength && sent < total && stream.status === 'open'; i++, sent += CHUNK) stream.send(new Uint8Array(CHUNK))
      if (sent >= total && stream.status === 'open') stream.close().catch(() => {})
    })
  }, { runOnLimitedConnection: true })
}

/** Pulls chunks until `total` bytes arrived or the stream closed; resolves with the bytes and the close error, if any. */
async function readFlood (stream: Stream, total: number): Promise<{ bytes: number, error?: Error }> {
  let bytes = 0
  let requested = 1
  const error = await new Promise<Error | undefined>((resolve) => {
    stream.addEventListener('message', (evt) => {
      bytes += evt.data.byteLength
      if (bytes >= total) resolve(undefined)
      else if (bytes >= requested * CHUNK) { requested++; stream.send(new Uint8Array([1])) }
    })
    stream.addEventListener('close', (evt) => { resolve(evt.error ?? new Error(`stream closed after ${bytes} bytes`)) }, { once: true })
    stream.send(new Uint8Array([1]))
  })
  return { bytes, error }
}

describe('relay limits and events (loopback)', () => {
  it('--max-reservations 1: the second peer is refused, and the relay reports one grant and one refusal', async () => {
    const relay = await start('relay', { maxReservations: 1, autonat: false })
    const b = await start('peer', { relay: [relay.addr] })
    await event(b, 'reservation')
    const c = await start('peer', { relay: [relay.addr], reservationRetry: 60_000 })
    const failed = await event(c, 'reservation:failed')
    expect(failed.reason).toContain('RESERVATION_REFUSED')
    const refused = await event(relay, 'relay:reservation:refused')
    expect(refused).toMatchObject({ peer: c.role.peerId, reason: 'RESERVATION_REFUSED' })
    expect(named(relay, 'relay:reservation').map(e => e.peer)).toEqual([b.role.peerId])
    expect(named(c, 'reservation')).toEqual([])
  })

  it('--circuit-data: the relayed stream ends at that size; the relay reports the circuit and its close with bytes', async () => {
    // above what noise, yamux and identify use on a fresh relayed connection
    const limit = 32 * 1024
    const relay = await start('relay', { circuitData: limit, autonat: false })
    const b = await start('peer', { relay: [relay.addr] })
    await event(b, 'reservation')
    const total = 16 * limit
    await serveFlood(b, total)
    const a = await start('peer', {})
    const conn = await a.role.node.dial(multiaddr(`${relay.addr}/p2p-circuit/p2p/${b.role.peerId}`), { signal: AbortSignal.timeout(10_000) })
    const established = await event(relay, 'relay:circuit')
    expect(established).toMatchObject({ src: a.role.peerId, dst: b.role.peerId })
    const stream = await conn.newStream(FLOOD_PROTOCOL, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    const { bytes, error } = await readFlood(stream, total)
    // both directions and the connection's own framing count against the limit
    expect(bytes).toBeGreaterThan(limit / 2)
    expect(bytes).toBeLessThan(limit)
    expect(error).toBeDefined()
    const closed = await event(relay, 'relay:circuit:closed')
    expect(closed).toMatchObject({ src: a.role.peerId, dst: b.role.peerId, reason: 'data-limit' })
    expect(closed.bytes).toBeGreaterThan(limit)
    expect(closed.bytes).toBeLessThan(limit + 2 * CHUNK)
    expect(closed.ms).toBeGreaterThanOrEqual(0)
    expect(Date.parse(closed.ts)).toBeGreaterThanOrEqual(Date.parse(established.ts))
  })

  it('a circuit closed by its source: relay:circuit:closed after relay:circuit, with the bytes that crossed', async () => {
    const relay = await start('relay', { autonat: false })
    const b = await start('peer', { relay: [relay.addr] })
    await event(b, 'reservation')
    await serveFlood(b, 2048)
    const a = await start('peer', {})
    const conn = await a.role.node.dial(multiaddr(`${relay.addr}/p2p-circuit/p2p/${b.role.peerId}`), { signal: AbortSignal.timeout(10_000) })
    const stream = await conn.newStream(FLOOD_PROTOCOL, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    const { bytes, error } = await readFlood(stream, 2048)
    expect(error).toBeUndefined()
    expect(bytes).toBe(2048)
    await conn.close()
    const closed = await event(relay, 'relay:circuit:closed')
    expect(closed).toMatchObject({ src: a.role.peerId, dst: b.role.peerId })
    expect(closed.reason).toBe('closed')
    // the flood plus noise, yamux and multistream-select framing in both directions
    expect(closed.bytes).toBeGreaterThan(2048)
    expect(named(relay, 'relay:circuit')).toHaveLength(1)
  })

  it('--reservation-ttl: the peer renews its reservation before it expires', async () => {
    // the shortest TTL the option accepts is 1s; 2s leaves room for a slow machine
    const ttl = 2000
    const relay = await start('relay', { reservationTtl: ttl, autonat: false })
    const b = await start('peer', { relay: [relay.addr] })
    await event(b, 'reservation')
    // three renewals after the first reservation: about 1.5 TTLs in
    const renewed = await new Promise<Array<NatkitEvent<'reservation'>>>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`only ${named(b, 'reservation').length} reservation events within ${8 * ttl} ms`)) }, 8 * ttl)
      const check = (): void => {
        const all = named(b, 'reservation')
        if (all.length >= 4) { clearTimeout(timer); off(); resolve(all) }
      }
      const off = b.role.events.on('reservation', check)
      check()
    })
    for (let i = 1; i < renewed.length; i++) {
      expect(Date.parse(renewed[i].ts)).toBeLessThan(renewed[i - 1].expires)
      expect(renewed[i].expires).toBeLessThanOrEqual(Date.parse(renewed[i].ts) + ttl + 1000)
    }
    expect(named(b, 'reservation:failed')).toEqual([])
    expect(named(relay, 'relay:reservation').length).toBeGreaterThanOrEqual(4)
    expect((relay.role.node.services as { relay?: CircuitRelayService }).relay?.reservations.has(b.role.node.peerId)).toBe(true)
  })

  it('--hop-timeout: a destination that never answers the STOP fails the circuit within the hop timeout', async () => {
    const relay = await start('relay', { hopTimeout: 500, autonat: false })
    const b = await start('peer', { relay: [relay.addr] })
    await event(b, 'reservation')
    // B accepts STOP streams and never answers
    await b.role.node.unhandle(STOP_PROTOCOL)
    await b.role.node.handle(STOP_PROTOCOL, () => {}, { runOnLimitedConnection: true })
    const a = await start('peer', { dialTimeout: 20_000 })
    const started = Date.now()
    await expect(a.role.node.dial(multiaddr(`${relay.addr}/p2p-circuit/p2p/${b.role.peerId}`), { signal: AbortSignal.timeout(20_000) })).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(named(relay, 'relay:circuit')).toEqual([])
  }, 30_000)
})
