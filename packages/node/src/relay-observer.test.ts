/**
 * Canary for relay-observer.ts, which wraps methods of @libp2p/circuit-relay-v2's
 * server that are not part of its service interface. It fails with a clear
 * message when the installed version or those methods change; relay.test.ts
 * checks the events they produce with real nodes.
 */
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_PENDING_INBOUND, DEFAULT_MAX_PENDING_INBOUND_PER_IP } from '@natkit/config'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { tcp } from '@libp2p/tcp'
import { NatkitEvents } from '@natkit/events'
import { identityFromSeed } from '@natkit/identity'
import { afterEach, describe, expect, it } from 'vitest'
import { installedVersion } from '@natkit/libp2p-internals'
import { createNatkitNode } from './node.js'
import { RELAY_SERVER_VERIFIED_VERSION, RelayServerInternalsChangedError, WRAPPED_SERVER_METHODS, observeRelayServer, relayObserver } from './relay-observer.js'
import type { Connection, Libp2p } from '@libp2p/interface'

const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => await n.stop())) })

describe('relay-observer canary (@libp2p/circuit-relay-v2 server internals)', () => {
  it(`the installed @libp2p/circuit-relay-v2 is the version relay-observer.ts was checked against (${RELAY_SERVER_VERIFIED_VERSION})`, () => {
    const version = installedVersion('@libp2p/circuit-relay-v2')
    expect(version, `@libp2p/circuit-relay-v2 is now ${version}: re-read its dist/src/server/index.js (handleReserve, handleConnect, stopHop), update relay-observer.ts and RELAY_SERVER_VERIFIED_VERSION`).toBe(RELAY_SERVER_VERIFIED_VERSION)
  })

  it('the relay service has the methods it wraps; the relayObserver service wraps them on start and restores them on stop', async () => {
    const events = new NatkitEvents()
    const warnings: string[] = []
    events.on('warn', (e) => { warnings.push(e.message) })
    const node = await createNatkitNode({
      options: { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], maxConnections: 10, dialTimeout: 5_000, maxPendingInbound: DEFAULT_MAX_PENDING_INBOUND, maxPendingInboundPerIp: DEFAULT_MAX_PENDING_INBOUND_PER_IP, handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT },
      privateKey: await identityFromSeed('canary-relay'),
      transports: [tcp()],
      services: { relay: circuitRelayServer(), relayObserver: relayObserver({ events }) }
    })
    nodes.push(node)
    const server = node.services.relay as unknown as Record<string, unknown>
    const before = WRAPPED_SERVER_METHODS.map(m => server[m])
    for (const m of WRAPPED_SERVER_METHODS) expect(typeof server[m], `CircuitRelayServer.${m}`).toBe('function')
    await node.start()
    expect(warnings).toEqual([])
    expect(WRAPPED_SERVER_METHODS.map(m => server[m])).not.toEqual(before)
    await node.stop()
    expect(WRAPPED_SERVER_METHODS.map(m => server[m])).toEqual(before)
    const off = observeRelayServer(server, new NatkitEvents())
    expect(WRAPPED_SERVER_METHODS.map(m => server[m])).not.toEqual(before)
    off()
    expect(WRAPPED_SERVER_METHODS.map(m => server[m])).toEqual(before)
  })

  it('a server without those methods is refused with a named error naming them', async () => {
    expect(() => observeRelayServer({ handleReserve: () => {} }, new NatkitEvents())).toThrow(RelayServerInternalsChangedError)
    expect(() => observeRelayServer({}, new NatkitEvents())).toThrow(/no handleReserve, handleConnect, stopHop method/)
  })

  it('reports the status handleReserve wrote: OK as a grant, others and a failed OK as refusals', async () => {
    const events = new NatkitEvents()
    const seen: string[] = []
    events.onAny((e) => { if (e.event.startsWith('relay:reservation')) seen.push(`${e.event} ${JSON.stringify({ ...e, ts: undefined, event: undefined, peerId: undefined })}`) })
    const peer = { toString: () => 'P' }
    // a stand-in for the server: writes one status on the HOP stream it is given, as 4.2.13's does
    const server = {
      reply: { status: 'OK', reservation: { expire: 1700000000n } } as { status: string, reservation?: { expire: bigint } },
      async handleReserve ({ stream }: { stream: { pb: (proto: unknown) => { write: (msg: unknown) => Promise<void> } }, connection: Connection }): Promise<void> { await stream.pb({}).write(this.reply) },
      async handleConnect (): Promise<void> {},
      async stopHop (): Promise<undefined> { return undefined }
    }
    observeRelayServer(server, events)
    let failWrite = false
    const stream = { pb: () => ({ write: async () => { if (failWrite) throw new Error('stream reset') } }), unwrap: () => ({}) }
    // a stand-in connection: the observer reads only remotePeer
    const connection = { remotePeer: peer } as unknown as Connection
    const reserve = async (): Promise<void> => { await server.handleReserve({ stream, connection }).catch(() => {}) }
    await reserve()
    server.reply = { status: 'RESERVATION_REFUSED' }
    await reserve()
    server.reply = { status: 'OK', reservation: { expire: 1700000000n } }
    failWrite = true
    await reserve()
    expect(seen).toEqual([
      'relay:reservation {"peer":"P","expires":1700000000000}',
      'relay:reservation:refused {"peer":"P","reason":"RESERVATION_REFUSED"}',
      'relay:reservation:refused {"peer":"P","reason":"could not send the reservation: stream reset"}'
    ])
  })
})
