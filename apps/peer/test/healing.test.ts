/**
 * Healing (issue 14), with the role binaries on loopback: after a 30 s relay
 * outage every peer re-reserves within 5 s of the relay's return (the
 * reservation keeper probes the relay's TCP address while it is away instead
 * of waiting out its backoff, 16-32 s by then); after a bootstrap restart
 * peers connect to it again and re-publish their records, so
 * `natkit-peer dial <peer id>` works again within 10 s.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { listeningAddr, RolePool } from '@natkit/testkit/roles'

const pool = new RolePool()
const start = pool.start
afterAll(async () => { await pool.stopAll() })

/** The relay outage of the done-when. */
const OUTAGE_MS = 30_000
/** Bound on re-reservation after the relay is back. */
const RERESERVE_BOUND_MS = 5_000
/** Bound on `dial <peer id>` working again after a bootstrap restart. */
const DIAL_AGAIN_BOUND_MS = 10_000

const LOOP = ['--listen', '/ip4/127.0.0.1/tcp/0']
const portOf = (addr: string): string => addr.split('/')[4]

describe('healing', () => {
  it('after a 30 s relay outage every peer re-reserves within 5 s of the relay\'s return', async () => {
    const relay = start('relay', [...LOOP, '--seed', 'heal-relay'])
    const relayAddr = await listeningAddr(relay)
    // default backoff (2 s doubling, 60 s cap, jitter): only the probe brings them back quickly
    const peers = ['heal-peer-1', 'heal-peer-2', 'heal-peer-3'].map(seed => start('peer', [...LOOP, '--seed', seed, '--relay', relayAddr.addr, '--no-webrtc', '--no-dht']))
    const ids = await Promise.all(peers.map(async p => (await p.waitFor('reservation', () => true, 20_000)).peerId))
    const marks = peers.map(p => p.events.length)
    expect(await relay.stop()).toBe(0)
    await Promise.all(peers.map(async (p, i) => await p.waitFor('reservation:failed', () => true, 10_000, marks[i])))
    const down = Date.now()
    // the outage: the peers keep failing to reach it (bounded wait, not an event)
    await new Promise(resolve => setTimeout(resolve, OUTAGE_MS))
    const failures = peers.map((p, i) => p.events.slice(marks[i]).filter(e => e.event === 'reservation:failed'))
    // they did retry during the outage, with delays that differ (jitter) and grow
    for (const f of failures) expect(f.length).toBeGreaterThanOrEqual(2)
    const delays = failures.flatMap(f => f.map(e => (e as { retryInMs?: number }).retryInMs))
    expect(new Set(delays).size).toBeGreaterThan(3)

    const relay2 = start('relay', ['--listen', `/ip4/127.0.0.1/tcp/${portOf(relayAddr.addr)}`, '--seed', 'heal-relay'])
    const back = await relay2.waitFor('listening', (e) => e.addrs.length > 0, 15_000)
    expect(Date.parse(back.ts) - down).toBeGreaterThanOrEqual(OUTAGE_MS)
    const again = await Promise.all(peers.map(async (p, i) => await p.waitFor('reservation', () => true, RERESERVE_BOUND_MS + 5_000, marks[i])))
    for (const [i, r] of again.entries()) {
      expect(r.peerId).toBe(ids[i])
      expect(Date.parse(r.ts) - Date.parse(back.ts)).toBeLessThan(RERESERVE_BOUND_MS)
    }
    await Promise.all(ids.map(async id => await relay2.waitFor('relay:reservation', (e) => e.peer === id, 5_000)))
  }, 90_000)

  it('after a bootstrap restart, dial <peer id> works again within 10 s', async () => {
    const boot = start('bootstrap', [...LOOP, '--seed', 'heal-boot'])
    const relay = start('relay', [...LOOP, '--seed', 'heal-relay-b'])
    const bootAddr = await listeningAddr(boot)
    const relayAddr = await listeningAddr(relay)
    const b = start('peer', [...LOOP, '--seed', 'heal-peer-b', '--relay', relayAddr.addr, '--bootstrap', bootAddr.addr, '--announce', `${relayAddr.addr}/p2p-circuit`, '--no-webrtc'])
    const id = (await b.waitFor('reservation', () => true, 20_000)).peerId
    await b.waitFor('info', (e) => e.message.includes('published'), 20_000)

    const mark = b.events.length
    expect(await boot.stop()).toBe(0)
    const boot2 = start('bootstrap', ['--listen', `/ip4/127.0.0.1/tcp/${portOf(bootAddr.addr)}`, '--seed', 'heal-boot'])
    const back = await boot2.waitFor('listening', (e) => e.addrs.length > 0, 15_000)
    // B connects again and re-publishes its record (the new bootstrap's memory is empty)
    const reconnected = await b.waitFor('info', (e) => e.message.startsWith('reconnected to bootstrap peer'), DIAL_AGAIN_BOUND_MS, mark)
    // the publication that follows the reconnection (not one to the old bootstrap finishing late)
    await b.waitFor('info', (e) => e.message.includes('published'), DIAL_AGAIN_BOUND_MS, b.events.indexOf(reconnected) + 1)
    const a = start('peer', ['dial', id, ...LOOP, '--seed', 'heal-peer-a', '--bootstrap', bootAddr.addr, '--timeout', '5s', '--direct-paths', 'tcp', '--no-webrtc'])
    const result = await a.waitFor('dial:result', () => true, DIAL_AGAIN_BOUND_MS)
    expect(result.outcome).toBe('relayed')
    expect(Date.parse(result.ts) - Date.parse(back.ts)).toBeLessThan(DIAL_AGAIN_BOUND_MS)
    expect(await a.exited).toBe(3)
  }, 60_000)
})
