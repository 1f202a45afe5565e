/**
 * Peers that find relays themselves (issue 14), with the role binaries on
 * loopback: three relays advertise themselves in the DHT (they run with
 * `--bootstrap`); a peer without `--relay` finds them there, keeps
 * reservations on two, announces both circuit addresses and is reachable by
 * peer id; when one of its relays is killed it reserves on the third within
 * 10 s and stays reachable. After a bootstrap restart the relays advertise
 * again, so a new peer still finds them.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { listeningAddr, RolePool, type RoleProcess } from '@natkit/testkit/roles'

const pool = new RolePool()
const start = pool.start
afterAll(async () => { await pool.stopAll() })

/** Bound on replacing a lost relay (issue 14). */
const REPLACE_BOUND_MS = 10_000
/** Bound on the relays advertising again after a bootstrap restart. */
const READVERTISE_BOUND_MS = 10_000

const LOOP = ['--listen', '/ip4/127.0.0.1/tcp/0']
const portOf = (addr: string): string => addr.split('/')[4]
const circuitsOf = (addrs: string[]): string[] => addrs.filter(a => a.includes('/p2p-circuit'))
/** The relay peer id in a circuit address `/…/p2p/<relay>/p2p-circuit/p2p/<peer>`. */
const relayOf = (addr: string): string => addr.split('/p2p-circuit')[0].split('/p2p/')[1]

async function startRelays (seeds: string[], bootAddr: string): Promise<Array<{ proc: RoleProcess, id: string }>> {
  const relays = seeds.map(seed => start('relay', [...LOOP, '--seed', seed, '--bootstrap', bootAddr, '--no-autonat']))
  // each relay's provider record is in the DHT before peers look
  return await Promise.all(relays.map(async proc => ({ proc, id: (await proc.waitFor('relay:advertised', (e) => e.servers > 0, 20_000)).peerId })))
}

describe('relay discovery through the DHT', () => {
  let bootAddr = ''
  /** `natkit-peer dial <target>` (a peer id or a circuit address); it looks no relays up itself. */
  const dialer = (seed: string, target: string): RoleProcess => start('peer', ['dial', target, ...LOOP, '--seed', seed, '--bootstrap', bootAddr, '--timeout', '5s', '--direct-paths', 'tcp', '--no-webrtc'])
  /** The dialer reached `peer` over a relayed connection through `relay`, and its dial did not fail. */
  async function expectRelayedVia (a: RoleProcess, peer: string, relay: string): Promise<void> {
    const conn = await a.waitFor('peer:connect', (e) => e.remotePeer === peer, 20_000)
    expect(conn.limited).toBe(true)
    expect(relayOf(conn.remoteAddr)).toBe(relay)
    expect((await a.waitFor('dial:result', () => true, 20_000)).outcome).not.toBe('failed')
    expect(a.events.some(e => e.event === 'relay:discovery')).toBe(false)
  }

  it('a peer without --relay reserves on 2 of 3 advertised relays, is reachable by peer id, and replaces a killed relay within 10 s', async () => {
    const boot = start('bootstrap', [...LOOP, '--seed', 'disc-boot'])
    bootAddr = (await listeningAddr(boot)).addr
    const relays = await startRelays(['disc-relay-1', 'disc-relay-2', 'disc-relay-3'], bootAddr)
    const relayIds = relays.map(r => r.id)

    const b = start('peer', [...LOOP, '--seed', 'disc-peer-b', '--bootstrap', bootAddr, '--no-webrtc', '--direct-paths', 'tcp'])
    const lookup = await b.waitFor('relay:discovery', () => true, 20_000)
    expect(lookup.found).toBe(3)
    expect(lookup.candidates.map(c => c.relay).sort()).toEqual([...relayIds].sort())
    // fastest first
    const rtts = lookup.candidates.map(c => c.rttMs)
    expect(rtts).toEqual([...rtts].sort((x, y) => x - y))
    const firstTwo = lookup.candidates.slice(0, 2).map(c => c.relay)
    // a reservation on each of the two fastest, and both circuit addresses announced
    await Promise.all(firstTwo.map(async id => await b.waitFor('reservation', (e) => e.relay === id, 20_000)))
    const both = await b.waitFor('listening', (e) => new Set(circuitsOf(e.addrs).map(relayOf)).size === 2, 10_000)
    expect(new Set(circuitsOf(both.addrs).map(relayOf))).toEqual(new Set(firstTwo))
    await b.waitFor('info', (e) => e.message.includes('published'), 20_000)
    const id = lookup.peerId

    // reachable by peer id (the DHT record), and through each relay it holds
    expect((await dialer('disc-peer-a1', id).waitFor('dial:result', () => true, 20_000)).outcome).not.toBe('failed')
    await Promise.all(circuitsOf(both.addrs).map(async (addr, i) => { await expectRelayedVia(dialer(`disc-peer-a1-${i}`, addr), id, relayOf(addr)) }))

    // kill one of b's relays: b takes the third
    const victim = relays.find(r => r.id === firstTwo[0]) as (typeof relays)[number]
    const third = relayIds.find(r => !firstTwo.includes(r)) as string
    const mark = b.events.length
    expect(await victim.proc.stop('SIGKILL')).toBe(null)
    const killedAt = Date.now()
    const lost = await b.waitFor('relay:lost', (e) => e.relay === victim.id, REPLACE_BOUND_MS, mark)
    expect(lost.reason).toMatch(/lost|closed/)
    const selected = await b.waitFor('relay:selected', (e) => e.relay === third, REPLACE_BOUND_MS, mark)
    expect(selected.replaces).toBe(victim.id)
    const replaced = await b.waitFor('reservation', (e) => e.relay === third, REPLACE_BOUND_MS, mark)
    expect(Date.parse(replaced.ts) - killedAt).toBeLessThan(REPLACE_BOUND_MS)
    const after = await b.waitFor('listening', (e) => new Set(circuitsOf(e.addrs).map(relayOf)).size === 2 && !circuitsOf(e.addrs).some(x => relayOf(x) === victim.id), 10_000, mark)
    expect(new Set(circuitsOf(after.addrs).map(relayOf))).toEqual(new Set([firstTwo[1], third]))

    // still reachable by peer id, and through both relays it holds now
    await b.waitFor('info', (e) => e.message.includes('published'), 10_000, mark)
    expect((await dialer('disc-peer-a2', id).waitFor('dial:result', () => true, 20_000)).outcome).not.toBe('failed')
    await Promise.all(circuitsOf(after.addrs).map(async (addr, i) => { await expectRelayedVia(dialer(`disc-peer-a2-${i}`, addr), id, relayOf(addr)) }))
  }, 90_000)

  it('--relay keeps today\'s behaviour: no lookup, only the named relay', async () => {
    const boot = start('bootstrap', [...LOOP, '--seed', 'disc-boot-2'])
    const bootAddr = (await listeningAddr(boot)).addr
    const [named, other] = await startRelays(['disc-relay-named', 'disc-relay-other'], bootAddr)
    const namedAddr = (await listeningAddr(named.proc)).addr
    const p = start('peer', [...LOOP, '--seed', 'disc-peer-named', '--bootstrap', bootAddr, '--relay', namedAddr, '--no-webrtc'])
    await p.waitFor('reservation', (e) => e.relay === named.id, 20_000)
    await p.waitFor('info', (e) => e.message.includes('published'), 20_000)
    expect(p.events.filter(e => e.event === 'reservation').every(e => (e as { relay: string }).relay === named.id)).toBe(true)
    expect(p.events.some(e => e.event.startsWith('relay:') && e.event !== 'relay:stop:refused')).toBe(false)
    expect(other.id).not.toBe(named.id)
  }, 60_000)

  it('after a bootstrap restart the relays advertise again and a peer with discovered relays re-publishes: dial <peer id> and relay lookups work within 10 s', async () => {
    const boot = start('bootstrap', [...LOOP, '--seed', 'disc-boot-3'])
    bootAddr = (await listeningAddr(boot)).addr
    const relays = await startRelays(['disc-relay-r1', 'disc-relay-r2'], bootAddr)
    const b = start('peer', [...LOOP, '--seed', 'disc-peer-b3', '--bootstrap', bootAddr, '--no-webrtc', '--direct-paths', 'tcp'])
    await Promise.all(relays.map(async r => await b.waitFor('reservation', (e) => e.relay === r.id, 20_000)))
    await b.waitFor('info', (e) => e.message.includes('published'), 20_000)
    const id = (await b.waitFor('relay:discovery', () => true, 1_000)).peerId

    const marks = relays.map(r => r.proc.events.length)
    const markB = b.events.length
    expect(await boot.stop()).toBe(0)
    const boot2 = start('bootstrap', ['--listen', `/ip4/127.0.0.1/tcp/${portOf(bootAddr)}`, '--seed', 'disc-boot-3'])
    const back = await boot2.waitFor('listening', (e) => e.addrs.length > 0, 15_000)
    // the new bootstrap's memory is empty: the relays and b publish their records there again
    const again = await Promise.all(relays.map(async (r, i) => await r.proc.waitFor('relay:advertised', (e) => e.servers > 0, READVERTISE_BOUND_MS, marks[i])))
    for (const e of again) expect(Date.parse(e.ts) - Date.parse(back.ts)).toBeLessThan(READVERTISE_BOUND_MS)
    // b's publication to the new bootstrap: one that follows its reconnection (an announcement still in flight when
    // the old bootstrap stopped may report `published` after markB, to the old one)
    const reconnected = await b.waitFor('info', (e) => e.message.startsWith('reconnected to bootstrap peer'), READVERTISE_BOUND_MS, markB)
    await b.waitFor('info', (e) => e.message.includes('published'), READVERTISE_BOUND_MS, b.events.indexOf(reconnected) + 1)
    const result = await dialer('disc-peer-a3', id).waitFor('dial:result', () => true, READVERTISE_BOUND_MS)
    expect(result.outcome, `the dial's result: ${JSON.stringify(result)}`).not.toBe('failed')
    expect(Date.parse(result.ts) - Date.parse(back.ts)).toBeLessThan(READVERTISE_BOUND_MS)
    // a peer started now finds both relays
    const p = start('peer', [...LOOP, '--seed', 'disc-peer-late', '--bootstrap', bootAddr, '--no-webrtc'])
    const lookup = await p.waitFor('relay:discovery', (e) => e.found > 0, 20_000)
    expect(lookup.candidates.map(c => c.relay).sort()).toEqual(relays.map(r => r.id).sort())
  }, 60_000)
})
