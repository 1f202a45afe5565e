/**
 * The four role binaries on loopback, as a user runs them: bootstrap, relay,
 * peer B keeping a reservation, peer A finding B by peer id through the DHT
 * and connecting over the relay; then the relay restarts and B's reservation
 * comes back by itself.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { listeningAddr, RolePool } from '@natkit/testkit/roles'

const pool = new RolePool()
const start = pool.start
afterAll(async () => { await pool.stopAll() })

describe('loopback topology', () => {
  it('finds a peer through the DHT, connects over the relay, pings, and re-reserves after a relay restart', async () => {
    const boot = start('bootstrap', ['--listen', '/ip4/127.0.0.1/tcp/0', '--seed', 'it-bootstrap'])
    const relay = start('relay', ['--listen', '/ip4/127.0.0.1/tcp/0', '--seed', 'it-relay'])
    const bootAddr = await listeningAddr(boot)
    const relayAddr = await listeningAddr(relay)
    expect(bootAddr.addr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo/)

    // B announces only its relay address, so A can reach it only through the relay
    const b = start('peer', ['--listen', '/ip4/127.0.0.1/tcp/0', '--seed', 'it-peer-b', '--relay', relayAddr.addr, '--bootstrap', bootAddr.addr, '--announce', `${relayAddr.addr}/p2p-circuit`, '--reservation-retry', '200ms', '--reservation-retry-max', '1s'])
    const reservation = await b.waitFor('reservation')
    expect(reservation.relay).toBe(relayAddr.peerId)
    expect(reservation.expires).toBeGreaterThan(Date.now())
    await b.waitFor('info', (e) => e.message.includes('published'))
    await relay.waitFor('relay:reservation', (e) => e.peer === reservation.peerId)

    const a = start('peer', ['dial', reservation.peerId, '--listen', '/ip4/127.0.0.1/tcp/0', '--seed', 'it-peer-a', '--bootstrap', bootAddr.addr, '--timeout', '6s', '--direct-paths', 'tcp'])
    const result = await a.waitFor('dial:result', () => true, 30_000)
    // relayed only: on loopback no address counts as public for hole punching (WebRTC,
    // which would connect on loopback, is left out: test/race.test.ts races it)
    expect(await a.exited).toBe(3)
    expect(result.outcome).toBe('relayed')
    expect(result.relayedRttMs).toBeGreaterThan(0)
    const connect = await a.waitFor('peer:connect', (e) => e.remotePeer === reservation.peerId)
    expect(connect.limited).toBe(true)
    expect(connect.remoteAddr).toContain('/p2p-circuit/')
    const ping = await a.waitFor('ping', (e) => e.remotePeer === reservation.peerId)
    expect(ping.limited).toBe(true)
    expect((await a.waitFor('info', (e) => e.message.startsWith('DHT lookup'))).message).toContain('/p2p-circuit')
    await relay.waitFor('relay:circuit', (e) => e.dst === reservation.peerId)
    // B saw the hole punch attempt fail for a named reason
    const failure = await b.waitFor('holepunch:failure')
    expect(failure.reason).toBe('no-public-addresses')

    // restart the relay on the same port with the same identity
    const port = relayAddr.addr.split('/')[4]
    const before = b.events.length
    expect(await relay.stop()).toBe(0)
    await b.waitFor('reservation:failed', () => true, 20_000, before)
    const relay2 = start('relay', ['--listen', `/ip4/127.0.0.1/tcp/${port}`, '--seed', 'it-relay'])
    expect((await listeningAddr(relay2)).peerId).toBe(relayAddr.peerId)
    const again = await b.waitFor('reservation', () => true, 30_000, before)
    expect(again.relay).toBe(relayAddr.peerId)
    await relay2.waitFor('relay:reservation', (e) => e.peer === reservation.peerId)
  }, 120_000)

  it('every app prints parseable JSON events with ts, event and peerId, and exits 0 on SIGTERM', async () => {
    const apps = [
      start('bootstrap', ['--listen', '/ip4/127.0.0.1/tcp/0']),
      start('relay', ['--listen', '/ip4/127.0.0.1/tcp/0', '--metrics', '127.0.0.1:0']),
      start('peer', ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-webrtc']),
      start('autonat', ['server', '--listen', '/ip4/127.0.0.1/tcp/0'])
    ]
    for (const p of apps) {
      const e = await p.waitFor('listening', (x) => x.addrs.length > 0, 15_000)
      expect(Date.parse(e.ts)).not.toBeNaN()
      expect(e.peerId).toMatch(/^12D3Koo/)
      expect(p.other).toEqual([])
    }
    // the relay serves Prometheus metrics: libp2p's and natkit's own counters
    const url = (await apps[1].waitFor('info', (e) => e.message.startsWith('metrics on '))).message.slice('metrics on '.length)
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text()
    expect(text).toContain('natkit_relay_circuits_total')
    expect(text).toMatch(/^libp2p_/m)
    expect(await Promise.all(apps.map(async p => await p.stop()))).toEqual([0, 0, 0, 0])
  }, 60_000)
})
