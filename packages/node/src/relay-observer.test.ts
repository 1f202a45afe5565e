/**
 * Canary for relay-observer.ts, which wraps methods of @libp2p/circuit-relay-v2's
 * server that are not part of its service interface. It fails with a clear
 * message when the installed version or those methods change; relay.test.ts
 * checks the events they produce with real nodes.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { resolveOptions } from '@natkit/config'
import { NatkitEvents } from '@natkit/events'
import { identityFromSeed } from '@natkit/identity'
import { afterEach, describe, expect, it } from 'vitest'
import { buildNode } from './builder.js'
import { RELAY_SERVER_VERIFIED_VERSION, RelayServerInternalsChangedError, WRAPPED_SERVER_METHODS, observeRelayServer } from './relay-observer.js'
import type { Libp2p } from '@libp2p/interface'

function installedVersion (): string {
  // the package's exports map hides package.json: walk up from its entry point
  let dir = dirname(createRequire(import.meta.url).resolve('@libp2p/circuit-relay-v2'))
  while (!dir.endsWith('circuit-relay-v2')) dir = dirname(dir)
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version
}

const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => await n.stop())) })

describe('relay-observer canary (@libp2p/circuit-relay-v2 server internals)', () => {
  it(`the installed @libp2p/circuit-relay-v2 is the version relay-observer.ts was checked against (${RELAY_SERVER_VERIFIED_VERSION})`, () => {
    const version = installedVersion()
    expect(version, `@libp2p/circuit-relay-v2 is now ${version}: re-read its dist/src/server/index.js (handleReserve, handleConnect, stopHop), update relay-observer.ts and RELAY_SERVER_VERIFIED_VERSION`).toBe(RELAY_SERVER_VERIFIED_VERSION)
  })

  it('the relay service has the methods it wraps, and they are restored on off()', async () => {
    const options = resolveOptions('relay', { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], autonat: false } })
    const node = await buildNode({ options, privateKey: await identityFromSeed('canary-relay'), events: new NatkitEvents() })
    nodes.push(node)
    const server = node.services.relay
    const before = WRAPPED_SERVER_METHODS.map(m => server[m])
    for (const m of WRAPPED_SERVER_METHODS) expect(typeof server[m], `CircuitRelayServer.${m}`).toBe('function')
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
      reply: { status: 'OK', reservation: { expire: 1700000000n } } as any,
      async handleReserve ({ stream }: any): Promise<void> { await stream.pb({}).write(this.reply) },
      async handleConnect (): Promise<void> {},
      async stopHop (): Promise<undefined> { return undefined }
    }
    observeRelayServer(server, events)
    let failWrite = false
    const stream = { pb: () => ({ write: async () => { if (failWrite) throw new Error('stream reset') } }), unwrap: () => ({}) }
    const reserve = async (): Promise<void> => { await server.handleReserve({ stream, connection: { remotePeer: peer } } as any).catch(() => {}) }
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
