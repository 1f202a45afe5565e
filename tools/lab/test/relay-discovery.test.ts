/**
 * Peers that find relays themselves, in the NAT lab (issue 14: "a lab
 * topology with 3 relays where one is killed mid-run shows the peer keeps
 * being reachable"): three relays and a bootstrap node on the lab internet,
 * the relays advertising themselves in the DHT; peer-b behind a
 * port-restricted NAT runs with no `--relay`, finds the relays through the
 * DHT, reserves on two and is reached by peer id through one of them. Killing
 * (SIGKILL) one of its relays leaves it reachable through another within 10 s;
 * a relay that then vanishes silently (all its packets dropped) is dropped
 * within 10 s as well, and the peer stays reachable through the relay left.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import { BOOTSTRAP_PORT, DEFAULT_STARTUP_TIMEOUT_MS, Lab, PEER_PORT, RELAY_PORT, spawnRole, type RoleHandle, type Topology } from '../src/index.js'
import { labSkipReason } from './env.js'

/** Bound on b being reachable through another relay after one is killed (issue 14). */
const REACHABLE_AGAIN_MS = 10_000
/** Bound on one `natkit-peer dial` in the lab. */
const DIAL_TIMEOUT_MS = 8_000

const BOOTSTRAP_IP = '11.0.0.11'
const RELAY_IPS = ['11.0.0.21', '11.0.0.22', '11.0.0.23']

/** Three relays and a bootstrap node on the internet; peer-a on the internet, peer-b behind a port-restricted NAT. */
const topology: Topology = {
  name: 'three-relays',
  internetCidr: '11.0.0.0/16',
  hosts: [
    { name: 'bootstrap', segment: 'internet', ip: BOOTSTRAP_IP, role: 'bootstrap' },
    ...RELAY_IPS.map((ip, i) => ({ name: `relay-${i + 1}`, segment: 'internet', ip, role: 'relay' as const })),
    { name: 'peer-a', segment: 'internet', ip: '11.0.1.10', role: 'peer' },
    { name: 'peer-b', segment: 'router-b', ip: '192.168.2.10', role: 'peer' }
  ],
  routers: [{ name: 'router-b', profile: 'port-restricted', wanIp: '11.0.2.1', lanCidr: '192.168.2.0/24', lanIp: '192.168.2.1' }]
}

/** Drops every packet of a host except loopback: a relay that vanished without a reset or close. */
const BLACKHOLE = `table inet natkit_blackhole {
  chain input { type filter hook input priority -10; policy drop; iifname "lo" accept; }
  chain output { type filter hook output priority -10; policy drop; oifname "lo" accept; }
}
`

const relayOf = (addr: string): string => addr.split('/p2p-circuit')[0].split('/p2p/')[1]
const circuits = (addrs: string[]): string[] => addrs.filter(a => a.includes('/p2p-circuit'))

describe.skipIf(missingPrerequisite(labSkipReason))('relay discovery in the NAT lab (3 relays, one killed)', () => {
  let lab: Lab | undefined
  const procs: RoleHandle[] = []
  const start = (host: string, bin: 'bootstrap' | 'relay' | 'peer', args: string[]): RoleHandle => {
    const p = spawnRole(lab as Lab, host, bin, [...args, '--network', 'lab'])
    procs.push(p)
    return p
  }
  afterAll(async () => {
    await Promise.allSettled(procs.map(async p => await p.stop()))
    await lab?.destroy()
  })

  it('peer-b finds relays in the DHT, is reached through one, and through another within 10 s of its relay being killed', async () => {
    lab = await Lab.create(topology)
    const boot = start('bootstrap', 'bootstrap', ['--listen', `/ip4/0.0.0.0/tcp/${BOOTSTRAP_PORT}`, '--announce', `/ip4/${BOOTSTRAP_IP}/tcp/${BOOTSTRAP_PORT}`, '--seed', 'lab-disc-boot'])
    const bootMa = `/ip4/${BOOTSTRAP_IP}/tcp/${BOOTSTRAP_PORT}/p2p/${(await boot.waitForEvent('listening', (e) => e.addrs.length > 0, DEFAULT_STARTUP_TIMEOUT_MS)).peerId}`
    const relays = RELAY_IPS.map((ip, i) => start(`relay-${i + 1}`, 'relay', ['--listen', `/ip4/0.0.0.0/tcp/${RELAY_PORT}`, '--announce', `/ip4/${ip}/tcp/${RELAY_PORT}`, '--seed', `lab-disc-relay-${i + 1}`, '--bootstrap', bootMa, '--no-autonat']))
    // every relay's provider record is in the DHT
    const relayIds = await Promise.all(relays.map(async r => (await r.waitForEvent('relay:advertised', (e) => e.servers > 0, DEFAULT_STARTUP_TIMEOUT_MS)).peerId))

    const b = start('peer-b', 'peer', ['--listen', `/ip4/0.0.0.0/tcp/${PEER_PORT}`, '--seed', 'lab-disc-peer-b', '--bootstrap', bootMa, '--no-webrtc', '--direct-paths', 'tcp'])
    const lookup = await b.waitForEvent('relay:discovery', () => true, DEFAULT_STARTUP_TIMEOUT_MS)
    expect(lookup.candidates.map(c => c.relay).sort()).toEqual([...relayIds].sort())
    const held = lookup.candidates.slice(0, 2).map(c => c.relay)
    await Promise.all(held.map(async id => await b.waitForEvent('reservation', (e) => e.relay === id, DEFAULT_STARTUP_TIMEOUT_MS)))
    const both = await b.waitForEvent('listening', (e) => new Set(circuits(e.addrs).map(relayOf)).size === 2, DEFAULT_STARTUP_TIMEOUT_MS)
    // the record published once b listens through both relays (not the one from its start)
    await b.waitForEvent('info', (e) => e.message.includes('published') && b.events.indexOf(e) > b.events.indexOf(both), DEFAULT_STARTUP_TIMEOUT_MS)
    const id = lookup.peerId

    /** peer-a dials b (by peer id: the DHT record, or a circuit address); without hole punching it stays on the relayed connection. */
    const dial = async (seed: string, target = id): Promise<string> => {
      const a = start('peer-a', 'peer', ['dial', target, '--listen', `/ip4/0.0.0.0/tcp/${PEER_PORT}`, '--seed', seed, '--bootstrap', bootMa, '--no-webrtc', '--no-holepunch', '--direct-paths', 'tcp', '--timeout', `${DIAL_TIMEOUT_MS}ms`])
      const result = await a.waitForEvent('dial:result', () => true, DIAL_TIMEOUT_MS + 5_000)
      const said = a.events.filter(e => e.event === 'info' || e.event === 'warn').map(e => JSON.stringify(e))
      expect(result.outcome, `dial ${target}: ${JSON.stringify(result)}\n${said.join('\n')}`).toBe('relayed')
      expect(await a.exited).toBe(3)
      return relayOf(result.remoteAddr ?? '')
    }
    expect(held).toContain(await dial('lab-disc-peer-a1'))

    // kill one of b's relays mid-run: b replaces it and stays reachable
    const victim = held[0] as string
    const victimProc = relays[relayIds.indexOf(victim)] as RoleHandle
    const from = b.events.length
    const killedAt = Date.now()
    victimProc.child.kill('SIGKILL')
    await victimProc.exited
    const replaced = await b.waitForEvent('relay:selected', (e) => e.replaces === victim && b.events.indexOf(e) >= from, REACHABLE_AGAIN_MS)
    expect(replaced.relay).not.toBe(victim)
    const reserved = await b.waitForEvent('reservation', (e) => e.relay === replaced.relay && b.events.indexOf(e) >= from, REACHABLE_AGAIN_MS)
    // its DHT record names the new relay too
    const published = await b.waitForEvent('info', (e) => e.message.includes('published') && b.events.indexOf(e) >= b.events.indexOf(reserved), REACHABLE_AGAIN_MS)
    // reachable again (reservation made and announced) within 10 s of the kill
    expect(Date.parse(reserved.ts) - killedAt).toBeLessThan(REACHABLE_AGAIN_MS)
    expect(Date.parse(published.ts) - killedAt).toBeLessThan(REACHABLE_AGAIN_MS)
    const via = await dial('lab-disc-peer-a2')
    expect(via).not.toBe(victim)
    expect(relayIds).toContain(via)

    // a relay that vanishes silently (every packet dropped: no reset, no close) is dropped within 10 s too (health pings)
    const silent = held[1] as string
    const still = replaced.relay
    const mark = b.events.length
    const blackholedAt = Date.now()
    const dropped = await lab.run(`relay-${relayIds.indexOf(silent) + 1}`, 'nft', ['-f', '-'], { input: BLACKHOLE, timeoutMs: 5_000 })
    expect(dropped.code, dropped.stderr).toBe(0)
    const lost = await b.waitForEvent('relay:lost', (e) => e.relay === silent && b.events.indexOf(e) >= mark, REACHABLE_AGAIN_MS + 5_000)
    expect(lost.reason).toMatch(/unreachable/)
    expect(Date.parse(lost.ts) - blackholedAt).toBeLessThan(REACHABLE_AGAIN_MS)
    // still reachable through the relay it holds
    const stillIp = RELAY_IPS[relayIds.indexOf(still)] as string
    expect(await dial('lab-disc-peer-a3', `/ip4/${stillIp}/tcp/${RELAY_PORT}/p2p/${still}/p2p-circuit/p2p/${id}`)).toBe(still)
  }, 120_000)
})
