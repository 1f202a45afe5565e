/**
 * Issue 11, attack 1: idle TCP sockets (no handshake) must not stop a relay,
 * a bootstrap node or a peer from accepting honest peers. Loopback only: the
 * idle sockets come from 127.2.x.y / 127.3.0.1 (127.0.0.0/8 is all loopback
 * on Linux), the honest peer dials from 127.0.0.1.
 */
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_PENDING_INBOUND_PER_IP, resolveOptions } from '@natkit/config'
import { NatkitEvents } from '@natkit/events'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
// each role's own composition
import { createRelay } from '@natkit/relay-app/node'
import { RELAY_ROLE } from '@natkit/relay-app'
import { createBootstrap } from '@natkit/bootstrap-app/node'
import { BOOTSTRAP_ROLE } from '@natkit/bootstrap-app'
import { createPeer } from '@natkit/peer-app/node'
import { PEER_ROLE } from '@natkit/peer-app'
import { idleSockets, throwawayNode } from '@natkit/hostile'
import type { NatkitRunner } from '@natkit/node'
import type { Socket } from 'node:net'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

const LISTEN = { listen: ['/ip4/127.0.0.1/tcp/0'] }
const ROLES: Record<string, () => Promise<NatkitRunner>> = {
  relay: async () => await createRelay(resolveOptions(RELAY_ROLE, { flags: { ...LISTEN, autonat: false } }), new NatkitEvents()),
  bootstrap: async () => await createBootstrap(resolveOptions(BOOTSTRAP_ROLE, { flags: LISTEN }), new NatkitEvents()),
  peer: async () => await createPeer(resolveOptions(PEER_ROLE, { flags: { ...LISTEN, webrtc: false, upnp: false, dht: false, holepunch: false } }), new NatkitEvents())
}

async function startRole (role: string): Promise<{ runner: NatkitRunner, host: string, port: number }> {
  const runner = await ROLES[role]()
  cleanups.push(async () => { await runner.stop() })
  await runner.start()
  const addr = runner.node.getMultiaddrs().find(ma => ma.toString().includes('/tcp/') && !ma.toString().includes('/ws'))
  if (addr == null) throw new Error(`${role} has no TCP address`)
  return { runner, ...hostPort(addr.toString()) }
}

function hostPort (addr: string): { host: string, port: number } {
  const m = /^\/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(addr)
  if (m == null) throw new Error(`not an /ip4/…/tcp/… address: ${addr}`)
  return { host: m[1], port: Number(m[2]) }
}

async function flood (host: string, port: number, count: number, source: (i: number) => string): Promise<Socket[]> {
  const sockets = await idleSockets(host, port, count, source)
  cleanups.push(() => { sockets.forEach(s => s.destroy()) })
  return sockets
}

/** An honest dial from 127.0.0.1 with a fresh identity; resolves with how long it took. */
async function honestDial (runner: NatkitRunner, host: string, port: number): Promise<number> {
  const honest = await throwawayNode('127.0.0.1')
  cleanups.push(async () => { await honest.stop() })
  const started = Date.now()
  const conn = await honest.dial(multiaddr(`/ip4/${host}/tcp/${port}/p2p/${runner.peerId}`), { signal: AbortSignal.timeout(DEFAULT_HANDSHAKE_TIMEOUT - 1_000) })
  expect(conn.status).toBe('open')
  return Date.now() - started
}

const open = (sockets: Socket[]): number => sockets.filter(s => !s.destroyed && s.readyState === 'open').length

describe('inbound admission under idle sockets (issue 11, attack 1)', () => {
  for (const role of Object.keys(ROLES)) {
    it(`${role}: an honest dial succeeds during 100 idle sockets from 100 other IPs`, async () => {
      const { runner, host, port } = await startRole(role)
      const floodStarted = Date.now()
      const sockets = await flood(host, port, 100, i => `127.2.${Math.floor(i / 250)}.${1 + (i % 250)}`)
      await honestDial(runner, host, port)
      // during the flood: the idle sockets are still open, before any handshake timeout
      expect(Date.now() - floodStarted).toBeLessThan(DEFAULT_HANDSHAKE_TIMEOUT)
      expect(open(sockets)).toBe(100)
    })
  }

  it('relay: one IP holds at most --max-pending-inbound-per-ip pending handshakes; the rest are closed at once', async () => {
    const { runner, host, port } = await startRole('relay')
    const sockets = await flood(host, port, 40, () => '127.3.0.1')
    await honestDial(runner, host, port)
    // the relay closes the sockets beyond the per-IP share
    const deadline = Date.now() + 3_000
    while (open(sockets) > DEFAULT_MAX_PENDING_INBOUND_PER_IP && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    expect(open(sockets)).toBe(DEFAULT_MAX_PENDING_INBOUND_PER_IP)
  })

  it('relay: --handshake-timeout closes idle sockets', async () => {
    const timeout = 500
    const runner = await createRelay(resolveOptions(RELAY_ROLE, { flags: { ...LISTEN, autonat: false, handshakeTimeout: timeout } }), new NatkitEvents())
    cleanups.push(async () => { await runner.stop() })
    await runner.start()
    const { host, port } = hostPort(runner.node.getMultiaddrs()[0].toString())
    const started = Date.now()
    const sockets = await flood(host, port, 3, () => '127.3.0.2')
    await Promise.all(sockets.map(async s => { await new Promise(resolve => s.once('close', resolve)) }))
    expect(Date.now() - started).toBeGreaterThanOrEqual(timeout - 50)
    expect(Date.now() - started).toBeLessThan(timeout + 3_000)
  })
})
