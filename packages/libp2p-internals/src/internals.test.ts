/**
 * Canary for internals.ts: fails with a message naming the internal that
 * moved when an upgrade of libp2p or @libp2p/circuit-relay-v2 changes what
 * natkit relies on beyond their public API.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { CIRCUIT_RELAY_VERIFIED_VERSION, CIRCUIT_TRANSPORT_TAG, CircuitTransportMissingError, LIBP2P_VERIFIED_VERSION, Libp2pInternalsChangedError, circuitReservationStore, coalesceSocketWrites, connectionMonitorInterval, dialAsResponder, exemptRelayedFromInboundRateLimit, linearConnectionListing, installedVersion, nodeComponents, openUnnegotiatedStream, transportTags } from './index.js'
import { Socket } from 'node:net'
import type { Libp2p, Stream } from '@libp2p/interface'

const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

async function createNode (transports: NonNullable<Libp2pOptions['transports']>): Promise<Libp2p> {
  const node = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports, services: { identify: identify() } })
  nodes.push(node)
  return node
}

describe('internals canary', () => {
  it(`the installed libp2p is the version internals.ts was checked against (${LIBP2P_VERIFIED_VERSION})`, () => {
    const version = installedVersion('libp2p')
    expect(version, `libp2p is now ${version}: re-check node.components (internals.ts nodeComponents) and the dial queue's handling of \`initiator\` (dialAsResponder, docs/upstream.md), then update LIBP2P_VERIFIED_VERSION`).toBe(LIBP2P_VERIFIED_VERSION)
  })

  it(`the installed @libp2p/circuit-relay-v2 is the version internals.ts was checked against (${CIRCUIT_RELAY_VERIFIED_VERSION})`, () => {
    const version = installedVersion('@libp2p/circuit-relay-v2')
    expect(version, `@libp2p/circuit-relay-v2 is now ${version}: re-read dist/src/transport/index.js and reservation-store.js (reservationStore: addRelay, hasReservation, getReservation, events relay:created-reservation / relay:removed), update packages/libp2p-internals/src/index.ts and CIRCUIT_RELAY_VERIFIED_VERSION`).toBe(CIRCUIT_RELAY_VERIFIED_VERSION)
  })

  it('a started node exposes its components, and the circuit transport its reservation store', async () => {
    const node = await createNode([tcp(), circuitRelayTransport()])
    await node.start()
    const { transportManager } = nodeComponents(node)
    expect(transportTags(transportManager)).toEqual(expect.arrayContaining(['@libp2p/tcp', CIRCUIT_TRANSPORT_TAG]))
    const store = circuitReservationStore(transportManager)
    for (const m of ['addRelay', 'hasReservation', 'getReservation'] as const) expect(typeof store[m], `reservationStore.${m}`).toBe('function')
    expect(store.hasReservation(node.peerId)).toBe(false)
  })

  it('a node without the circuit transport, or a store without those methods, is refused with a named error', async () => {
    const node = await createNode([tcp()])
    expect(() => circuitReservationStore(nodeComponents(node).transportManager)).toThrow(CircuitTransportMissingError)
    const fake = { getTransports: () => [{ [Symbol.toStringTag]: CIRCUIT_TRANSPORT_TAG, reservationStore: { addRelay: () => {} } }] }
    expect(() => circuitReservationStore(fake as unknown as Parameters<typeof circuitReservationStore>[0])).toThrow(Libp2pInternalsChangedError)
    expect(() => circuitReservationStore(fake as unknown as Parameters<typeof circuitReservationStore>[0])).toThrow(/no hasReservation, getReservation, addEventListener/)
    expect(() => nodeComponents({} as Libp2p)).toThrow(/components.transportManager/)
  })

  it('dialAsResponder gets `initiator: false` to the upgrader (the dial queue would drop it)', async () => {
    const a = await createNode([tcp()])
    const b = await createNode([tcp()])
    await Promise.all([a.start(), b.start()])
    const { transportManager, upgrader } = nodeComponents(b)
    const seen: Array<boolean | undefined> = []
    const upgradeOutbound = upgrader.upgradeOutbound.bind(upgrader)
    // a would answer as responder too, so the upgrade cannot succeed: only what reaches the upgrader matters, then abort
    const controller = new AbortController()
    upgrader.upgradeOutbound = async (maConn, opts) => { seen.push(opts.initiator); controller.abort(); return upgradeOutbound(maConn, opts) }
    await dialAsResponder(transportManager, a.getMultiaddrs()[0], { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(5_000)]) }).then(async c => { await c.close() }, () => {})
    expect(seen, 'initiator did not reach upgrader.upgradeOutbound: re-check libp2p transport-manager.js dial (options passed to transport.dial)').toEqual([false])
  })

  it('openUnnegotiatedStream opens a muxed stream with no protocol, on which multistream-select and data go in one write', async () => {
    const mk = async (): Promise<Libp2p> => {
      const node = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
      nodes.push(node)
      return node
    }
    const [a, b] = await Promise.all([mk(), mk()])
    const received = Promise.withResolvers<string>()
    await b.handle('/canary/1.0.0', async (stream) => {
      const lp = lpStream(stream)
      received.resolve(new TextDecoder().decode((await lp.read()).subarray()))
      await lp.write(new TextEncoder().encode('pong'))
    })
    const conn = await a.dial(b.getMultiaddrs()[0])
    const stream = await openUnnegotiatedStream(conn, { signal: AbortSignal.timeout(5_000) })
    expect(stream.protocol, 'a stream from muxer.createStream should carry no negotiated protocol').toBe('')
    const lp = lpStream(stream)
    const enc = new TextEncoder()
    await lp.writeV([enc.encode('/multistream/1.0.0\n'), enc.encode('/canary/1.0.0\n'), enc.encode('ping')])
    const lines = [await lp.read(), await lp.read(), await lp.read()].map(b => new TextDecoder().decode(b.subarray()))
    expect(lines).toEqual(['/multistream/1.0.0\n', '/canary/1.0.0\n', 'pong'])
    expect(await received.promise).toBe('ping')
    await expect(openUnnegotiatedStream({ remotePeer: conn.remotePeer } as unknown as typeof conn)).rejects.toThrow(Libp2pInternalsChangedError)
  })

  it('linearConnectionListing lists the same connections as libp2p\'s getConnections(), kept up to date, on that node only', async () => {
    const mk = async (): Promise<Libp2p> => {
      const node = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
      nodes.push(node)
      return node
    }
    const [hub, a, b] = await Promise.all([mk(), mk(), mk()])
    const opened = Promise.withResolvers<void>()
    let count = 0
    hub.addEventListener('connection:open', () => { if (++count === 3) opened.resolve() })
    const timer = setTimeout(() => { opened.reject(new Error(`hub saw ${count}/3 connections within 5 s`)) }, 5_000)
    await a.dial(hub.getMultiaddrs()[0])
    await b.dial(hub.getMultiaddrs()[0])
    await a.dial(hub.getMultiaddrs()[0], { force: true })
    await opened.promise.finally(() => { clearTimeout(timer) })
    const before = hub.getConnections().map(c => c.id)
    expect(before, 'three connections from two peers').toHaveLength(3)
    linearConnectionListing(hub)
    linearConnectionListing(hub)
    const cm = (hub as unknown as { components: { connectionManager: { getConnections: () => Array<{ id: string }> } } }).components.connectionManager
    expect(cm.getConnections().map(c => c.id), 'the replaced listing must return what libp2p\'s did').toEqual(before)
    expect(hub.getConnections(a.peerId).map(c => c.id).sort()).toEqual(before.filter(id => hub.getConnections(a.peerId).some(c => c.id === id)).sort())
    expect(hub.getConnections(a.peerId), 'the per-peer listing is unchanged').toHaveLength(2)
    // the original (prototype) method builds with concat: a libp2p fixing it makes this workaround removable
    const proto = Object.getPrototypeOf(cm) as { getConnections: { toString: () => string } }
    expect(proto.getConnections.toString(), 'libp2p\'s getConnections() no longer concatenates per peer: drop linearConnectionListing (docs/upstream.md §10)').toContain('concat')
    // the list follows opens and closes
    const closed = Promise.withResolvers<void>()
    hub.addEventListener('peer:disconnect', () => { closed.resolve() }, { once: true })
    await b.hangUp(hub.peerId)
    await closed.promise
    const after = hub.getConnections().map(c => c.id)
    expect(after, 'b\'s connection is gone from the listing').toHaveLength(2)
    expect(after.every(id => before.includes(id))).toBe(true)
    const reopened = Promise.withResolvers<void>()
    hub.addEventListener('connection:open', () => { reopened.resolve() }, { once: true })
    await b.dial(hub.getMultiaddrs()[0])
    await reopened.promise
    expect(hub.getConnections(), 'a new connection is in the listing').toHaveLength(3)
    const copy = hub.getConnections()
    copy.pop()
    expect(hub.getConnections(), 'callers get a copy').toHaveLength(3)
    expect(() => { linearConnectionListing({} as Libp2p) }).toThrow(Libp2pInternalsChangedError)
  })

  it('linearConnectionListing: libp2p\'s maxConnections checks get a count, not a listing, and still refuse and prune', async () => {
    const mk = async (maxConnections?: number): Promise<Libp2p> => {
      const node = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionManager: { maxConnections } })
      nodes.push(node)
      return node
    }
    const [hub, a, b, c] = await Promise.all([mk(2), mk(), mk(), mk()])
    linearConnectionListing(hub)
    const cm = (hub as unknown as { components: { connectionManager: { acceptIncomingConnection: { toString: () => string }, connectionPruner: { _maybePruneConnections: { toString: () => string } } } } }).components.connectionManager
    // what the length-only view relies on: libp2p's admission reads the listing once, and only its length
    const proto = Object.getPrototypeOf(cm) as typeof cm
    const acceptSource = proto.acceptIncomingConnection.toString()
    expect(acceptSource.match(/getConnections\(/g), 'acceptIncomingConnection lists connections once (docs/upstream.md §10)').toHaveLength(1)
    expect(acceptSource, 'acceptIncomingConnection uses only the length of the listing').toContain('this.getConnections().length < this.maxConnections')
    const prunerProto = Object.getPrototypeOf(cm.connectionPruner) as typeof cm.connectionPruner
    expect(prunerProto._maybePruneConnections.toString(), 'the pruner returns while within maxConnections').toMatch(/numConnections <= maxConnections\)\s*\{\s*return;/)
    // inbound: two fit, the third is refused by maxConnections (counted, not listed)
    const opened = (n: number): Promise<void> => new Promise((resolve) => {
      let seen = 0
      const on = (): void => { if (++seen === n) { hub.removeEventListener('connection:open', on); resolve() } }
      hub.addEventListener('connection:open', on)
    })
    const two = opened(2)
    await a.dial(hub.getMultiaddrs()[0])
    await b.dial(hub.getMultiaddrs()[0])
    await two
    expect(hub.getConnections()).toHaveLength(2)
    // neither check walks the map: admission and the pruner (within the limit) never build the listing
    const internals = cm as unknown as { getConnectionsMap: () => { values: () => unknown, get: (p: unknown) => unknown, set: (p: unknown, v: unknown) => void }, acceptIncomingConnection: (m: unknown) => boolean, afterUpgradeInbound: () => void, connectionPruner: { _maybePruneConnections: () => Promise<void> } }
    const map = internals.getConnectionsMap()
    const values = map.values.bind(map)
    let walks = 0
    map.values = () => { walks++; return values() }
    map.set(a.peerId, map.get(a.peerId)) // a change of the map: the listing must be built again when asked for
    expect(internals.acceptIncomingConnection({ remoteAddr: multiaddr('/ip4/127.0.0.9/tcp/1') }), 'full at 2').toBe(false)
    await internals.connectionPruner._maybePruneConnections()
    expect(walks, 'admission and the pruner counted instead of listing').toBe(0)
    expect(hub.getConnections()).toHaveLength(2)
    expect(walks, 'a real listing is built').toBe(1)
    map.values = values
    await expect(c.dial(hub.getMultiaddrs()[0]), 'a third inbound connection is over maxConnections 2').rejects.toThrow()
    expect(hub.getConnections().map(conn => conn.remotePeer.toString()).sort()).toEqual([a.peerId.toString(), b.peerId.toString()].sort())
    // outbound is not admitted that way: the hub's own dial makes three, and the pruner (which got the count) closes one
    const pruned = new Promise<void>((resolve) => { hub.addEventListener('connection:close', () => { resolve() }, { once: true }) })
    await hub.dial(c.getMultiaddrs()[0])
    await pruned
    expect(hub.getConnections(), 'the pruner brought the hub back to maxConnections').toHaveLength(2)
    // a connection closing is counted too: one more inbound fits again
    const closed = new Promise<void>((resolve) => { hub.addEventListener('connection:close', () => { resolve() }, { once: true }) })
    const gone = hub.getConnections()[0]
    await gone.close()
    await closed
    expect(hub.getConnections()).toHaveLength(1)
    const d = await mk()
    const third = opened(1)
    await d.dial(hub.getMultiaddrs()[0])
    await third
    expect(hub.getConnections()).toHaveLength(2)
  })

  it('coalesceSocketWrites: what a node sends in one tick over TCP leaves in one socket write, inbound and outbound', async () => {
    const mk = async (): Promise<Libp2p> => {
      const node = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
      nodes.push(node)
      coalesceSocketWrites(node)
      coalesceSocketWrites(node)
      return node
    }
    const [a, b] = await Promise.all([mk(), mk()])
    const MESSAGES = 100
    const portOf = (ma: { toString: () => string }): number => Number(/\/tcp\/(\d+)/.exec(ma.toString())?.[1])
    const message = (i: number): Uint8Array => new TextEncoder().encode(`message ${String(i).padStart(3, '0')};`)
    const total = MESSAGES * message(0).byteLength
    // socket writes handed to the kernel (net.Socket's _write / _writev), per local port
    const writes = new Map<number, number>()
    const proto = Socket.prototype as unknown as { _write: (...args: unknown[]) => unknown, _writev: (...args: unknown[]) => unknown }
    const { _write, _writev } = proto
    const count = (socket: Socket): void => { writes.set(socket.localPort ?? 0, (writes.get(socket.localPort ?? 0) ?? 0) + 1) }
    proto._write = function (this: Socket, ...args: unknown[]) { count(this); return _write.apply(this, args) }
    proto._writev = function (this: Socket, ...args: unknown[]) { count(this); return _writev.apply(this, args) }
    try {
      const burst = (stream: Stream): void => { for (let i = 0; i < MESSAGES; i++) stream.send(message(i)) }
      // reads `total` bytes from the stream's message events (breaking out of its async iterator would close it)
      const readAll = async (stream: Stream): Promise<string> => await new Promise((resolve) => {
        const chunks: Uint8Array[] = []
        let got = 0
        const onMessage = (evt: { data: { subarray: () => Uint8Array, byteLength: number } }): void => {
          chunks.push(evt.data.subarray())
          got += evt.data.byteLength
          if (got >= total) { stream.removeEventListener('message', onMessage); resolve(Buffer.concat(chunks).toString()) }
        }
        stream.addEventListener('message', onMessage)
      })
      const expected = Array.from({ length: MESSAGES }, (_, i) => new TextDecoder().decode(message(i))).join('')
      const atB = Promise.withResolvers<{ text: string, port: number }>()
      await b.handle('/burst/1.0.0', async (stream, connection) => {
        const text = await readAll(stream)
        const port = portOf(connection.remoteAddr)
        // b's side: the inbound connection; measured from here on
        const bPort = portOf(b.getMultiaddrs()[0])
        writes.set(bPort, 0)
        burst(stream)
        atB.resolve({ text, port })
      })
      const stream = await a.dialProtocol(b.getMultiaddrs()[0], '/burst/1.0.0')
      const atA = readAll(stream)
      await new Promise(resolve => setImmediate(resolve))
      writes.clear()
      burst(stream)
      const { text, port: aLocalPort } = await atB.promise
      expect(text, 'b got every byte, in order').toBe(expected)
      expect(writes.get(aLocalPort), `${MESSAGES} messages in one tick from a (outbound): socket writes`).toBeLessThanOrEqual(3)
      expect(await atA, 'a got every byte, in order').toBe(expected)
      const bPort = portOf(b.getMultiaddrs()[0])
      expect(writes.get(bPort), `${MESSAGES} messages in one tick from b (inbound): socket writes`).toBeLessThanOrEqual(3)
    } finally {
      proto._write = _write
      proto._writev = _writev
    }
    expect(() => { coalesceSocketWrites({} as Libp2p) }).toThrow(Libp2pInternalsChangedError)
  })

  it('connectionMonitorInterval reads the monitor libp2p runs, and undefined when it is disabled', async () => {
    const on = await createLibp2p({ connectionMonitor: { pingInterval: 1234 } })
    const off = await createLibp2p({ connectionMonitor: { enabled: false } })
    nodes.push(on, off)
    expect(connectionMonitorInterval(on)).toBe(1234)
    expect(connectionMonitorInterval(off)).toBeUndefined()
  })

  it('exemptRelayedFromInboundRateLimit: relayed connections skip libp2p\'s per-IP inbound rate limit, direct ones still hit it', async () => {
    const node = await createLibp2p({ connectionManager: { inboundConnectionThreshold: 2, maxIncomingPendingConnections: 100 } })
    nodes.push(node)
    exemptRelayedFromInboundRateLimit(node)
    exemptRelayedFromInboundRateLimit(node)
    const cm = (node as unknown as { components: { connectionManager: { acceptIncomingConnection: (c: { remoteAddr: ReturnType<typeof multiaddr> }) => boolean } } }).components.connectionManager
    const relayed = multiaddr(`/ip4/10.0.0.1/tcp/4001/p2p/${node.peerId.toString()}/p2p-circuit`)
    const direct = multiaddr('/ip4/10.0.0.1/tcp/5555')
    expect(Array.from({ length: 5 }, () => cm.acceptIncomingConnection({ remoteAddr: relayed })), 'relayed connections from one relay IP').toEqual([true, true, true, true, true])
    expect(Array.from({ length: 3 }, () => cm.acceptIncomingConnection({ remoteAddr: direct })), 'direct connections keep libp2p\'s limit (2 per second)').toEqual([true, true, false])
    expect(() => { exemptRelayedFromInboundRateLimit({} as Libp2p) }).toThrow(Libp2pInternalsChangedError)
  })
})
