/**
 * Issue 13 part 1 and 4: `natkit-autonat nat` behind every lab NAT profile
 * classifies it right. One lab: an observer (`natkit-autonat server
 * --stun-listen 11.0.0.12:3478 --stun-alternate 11.0.0.13:3479`: STUN with
 * RFC 5780 CHANGE-REQUEST on two addresses, TCP connect-back from the second)
 * and one host behind a router per profile (plus one on the internet itself),
 * probed one after another (a few seconds each: the blocked filtering tests
 * and the dropped connect-back wait out their timeouts). Then natkit-peer's
 * own discovery at start behind three of the profiles, against a
 * `natkit-relay --stun-listen --stun-alternate` (11.0.0.21 / 11.0.0.22).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import { Lab, runnableRoleBinary, routerRuleset, SEQUENTIAL_NAT_FIRST_PORT, SEQUENTIAL_NAT_PORTS, sequentialSnatRule, spawnRole, validateTopology, InvalidTopologyError } from '../src/index.js'
import { labSkipReason } from './env.js'
import type { Host, InboundMode, NatProfile, RoleHandle, Router, Topology } from '../src/index.js'

const OBSERVER = '11.0.0.12'
const OBSERVER_ALT = '11.0.0.13'
const STUN_PORT = 3478
const STUN_ALT_PORT = 3479
/** A natkit-relay whose STUN server has an alternate address (`--stun-alternate`). */
const RELAY = '11.0.0.21'
const RELAY_ALT = '11.0.0.22'
/** Bound of one `natkit-autonat nat` run (it takes a few seconds). */
const PROBE_BOUND_MS = 20_000

interface Case { name: string, profile: NatProfile, inbound?: InboundMode }
const CASES: Case[] = [
  { name: 'full-cone', profile: 'full-cone' },
  { name: 'address-restricted', profile: 'address-restricted' },
  { name: 'port-restricted', profile: 'port-restricted' },
  { name: 'port-restricted-reset', profile: 'port-restricted', inbound: 'reset' },
  { name: 'symmetric', profile: 'symmetric' },
  { name: 'symmetric-reject', profile: 'symmetric', inbound: 'reject' },
  { name: 'symmetric-sequential', profile: 'symmetric-sequential' }
]

function topology (): Topology {
  const hosts: Host[] = [
    { name: 'observer', segment: 'internet', ip: OBSERVER, aliases: [OBSERVER_ALT], role: 'autonat' },
    { name: 'public', segment: 'internet', ip: '11.0.9.10', role: 'peer' },
    { name: 'relay', segment: 'internet', ip: RELAY, aliases: [RELAY_ALT], role: 'relay' }
  ]
  const routers: Router[] = CASES.map((c, i) => ({ name: `r${i + 1}`, profile: c.profile, wanIp: `11.0.${i + 1}.1`, lanCidr: `192.168.${i + 1}.0/24`, lanIp: `192.168.${i + 1}.1`, ...(c.inbound != null ? { inbound: c.inbound } : {}) }))
  CASES.forEach((c, i) => { hosts.push({ name: `h${i + 1}`, segment: `r${i + 1}`, ip: `192.168.${i + 1}.10`, role: 'peer' }) })
  return { name: 'nat-behavior', hosts, routers, internetCidr: '11.0.0.0/16' }
}

describe('symmetric-sequential profile and host aliases (rulesets, topology)', () => {
  it('the sequential rule maps numgen through typed ports (not `offset`, which byte-swaps the port)', () => {
    const rule = sequentialSnatRule('11.0.1.1', 20_000, 3)
    expect(rule).toBe('oifname "wan" meta l4proto { tcp, udp } snat ip to 11.0.1.1 : numgen inc mod 3 map { 0 : 20000, 1 : 20001, 2 : 20002 }')
    const rules = routerRuleset({ name: 'r', profile: 'symmetric-sequential', wanIp: '11.0.1.1', lanCidr: '192.168.1.0/24', lanIp: '192.168.1.1' }, 't')
    expect(rules).toContain(`numgen inc mod ${SEQUENTIAL_NAT_PORTS} map { 0 : ${SEQUENTIAL_NAT_FIRST_PORT}, `)
    // other protocols still leave with the WAN address
    expect(rules).toMatch(/snat ip to 11\.0\.1\.1 .*\n\s+oifname "wan" masquerade\n/)
    expect(rules).not.toContain('fully-random')
  })

  it('aliases are validated like addresses', () => {
    const t = topology()
    expect(() => { validateTopology(t) }).not.toThrow()
    const dup = topology()
    ;(dup.hosts[0] as Host).aliases = ['11.0.9.10']
    expect(() => { validateTopology(dup) }).toThrow(new InvalidTopologyError('duplicate address 11.0.9.10'))
    const outside = topology()
    ;(outside.hosts[0] as Host).aliases = ['12.0.0.1']
    expect(() => { validateTopology(outside) }).toThrow('host "observer" alias 12.0.0.1 is outside its segment')
  })
})

interface NatEvent { lifetime?: { minMs?: number, maxMs?: number }, natted?: boolean, mapping: string, filtering: string, allocation: string, stride?: number, inbound: string, hairpin?: boolean, publicAddress?: string, observers: Array<{ server: string, localPort: number, mapped?: string }>, evidence: string[] }

describe.skipIf(missingPrerequisite(labSkipReason))('natkit-autonat nat behind every lab NAT profile', () => {
  let lab: Lab
  let observer: RoleHandle
  const results = new Map<string, { event: NatEvent, ms: number }>()

  /** Runs `natkit-autonat nat` on `host` and returns its `nat` event. */
  async function probe (host: string, args: string[] = []): Promise<{ event: NatEvent, ms: number }> {
    const started = Date.now()
    const r = await lab.run(host, process.execPath, [runnableRoleBinary('autonat'), 'nat', '--stun', `${OBSERVER}:${STUN_PORT}`, ...args, '--json'], { timeoutMs: PROBE_BOUND_MS })
    const ms = Date.now() - started
    const line = r.stdout.split('\n').find(l => l.includes('"event":"nat"'))
    if (r.code !== 0 || line == null) throw new Error(`natkit-autonat nat on ${host} exited ${String(r.code)}: ${r.stderr}${r.stdout}`)
    return { event: JSON.parse(line) as NatEvent, ms }
  }

  beforeAll(async () => {
    lab = await Lab.create(topology())
    observer = spawnRole(lab, 'observer', 'autonat', ['server', '--listen', `/ip4/${OBSERVER}/tcp/4021`, '--stun-listen', `${OBSERVER}:${STUN_PORT}`, '--stun-alternate', `${OBSERVER_ALT}:${STUN_ALT_PORT}`])
    await observer.waitForEvent('info', e => e.message.startsWith('TCP connect-back observer'), 30_000)
  }, 60_000)

  afterAll(async () => {
    await observer?.stop()
    await lab?.destroy()
  })

  it('no NAT: the host\'s own address, everything open, hairpinning', async () => {
    const { event } = await probe('public')
    expect(event).toMatchObject({ natted: false, mapping: 'none', filtering: 'endpoint-independent', allocation: 'preserving', inbound: 'open', hairpin: true, publicAddress: '11.0.9.10' })
  }, PROBE_BOUND_MS + 5_000)

  const expected: Record<string, Partial<NatEvent>> = {
    'full-cone': { mapping: 'endpoint-independent', filtering: 'endpoint-independent', allocation: 'preserving', inbound: 'drop' },
    'address-restricted': { mapping: 'endpoint-independent', filtering: 'address-dependent', allocation: 'preserving', inbound: 'drop' },
    'port-restricted': { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', allocation: 'preserving', inbound: 'drop' },
    'port-restricted-reset': { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', allocation: 'preserving', inbound: 'reset' },
    symmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', allocation: 'random', inbound: 'drop' },
    // OpenWrt's reject answers TCP with a reset too
    'symmetric-reject': { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', allocation: 'random', inbound: 'reset' },
    'symmetric-sequential': { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', allocation: 'sequential', stride: 1, inbound: 'drop' }
  }

  CASES.forEach((c, i) => {
    it(`${c.name}: ${Object.entries(expected[c.name] ?? {}).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`, async () => {
      const result = await probe(`h${i + 1}`)
      results.set(c.name, result)
      const { event } = result
      // conntrack's UDP timeouts (30 s / 120 s) outlast the default 2 s lifetime probe
      expect(event).toMatchObject({ natted: true, publicAddress: `11.0.${i + 1}.1`, hairpin: false, lifetime: { minMs: 2000 }, ...expected[c.name] })
      expect(event.lifetime?.maxMs).toBeUndefined()
      // the evidence: every observer answered the mapping tests, from both observer addresses
      expect(event.observers.every(o => o.mapped?.startsWith(`11.0.${i + 1}.1:`))).toBe(true)
      expect(new Set(event.observers.map(o => o.server.split(':')[0]))).toEqual(new Set([OBSERVER, OBSERVER_ALT]))
      expect(event.evidence.some(l => l.startsWith('TCP: observer saw'))).toBe(true)
    }, PROBE_BOUND_MS + 5_000)
  })

  it('symmetric-sequential against real traffic: the mapped ports are the range\'s first ports, one after another, in byte order', () => {
    const r = results.get('symmetric-sequential')
    expect(r, 'the symmetric-sequential probe ran').toBeDefined()
    const ports = (r?.event.observers ?? []).map(o => Number(o.mapped?.split(':')[1]))
    expect(ports.length).toBeGreaterThanOrEqual(5)
    // a fresh lab: the router's counter starts at 0
    expect(ports).toEqual(ports.map((_, k) => SEQUENTIAL_NAT_FIRST_PORT + k))
  })

  it('the plain `numgen inc mod N offset M` form byte-swaps the port (why the profile uses a map): the probe sees a stride of 256', async () => {
    const r7 = CASES.findIndex(c => c.name === 'symmetric-sequential') + 1
    const table = lab.tableName
    const swapped = await lab.run(`r${r7}`, 'nft', ['-f', '-'], { input: [
      `flush chain inet ${table} postrouting`,
      `add rule inet ${table} postrouting oifname "wan" meta l4proto { tcp, udp } snat ip to 11.0.${r7}.1 : numgen inc mod 1000 offset 30000`,
      `add rule inet ${table} postrouting oifname "wan" masquerade`,
      ''
    ].join('\n') })
    expect(swapped.code, swapped.stderr).toBe(0)
    const { event } = await probe(`h${r7}`, ['--no-tcp-probe', '--mapping-lifetime-max', '0'])
    const swap16 = (p: number): number => ((p & 0xff) << 8) | (p >> 8)
    const ports = event.observers.map(o => Number(o.mapped?.split(':')[1]))
    // 30000, 30001, … written in host byte order into the network-order port: 12405, 12661, …
    expect(ports).toEqual(ports.map((_, k) => swap16(30_000 + k)))
    expect(event).toMatchObject({ mapping: 'address-and-port-dependent', allocation: 'sequential', stride: 256 })
  }, PROBE_BOUND_MS + 5_000)

  it('mapping lifetime: a router whose conntrack forgets idle UDP flows after 2 s gives 1.5 s <= lifetime < 3 s', async () => {
    // port-restricted (r3): its mappings are conntrack entries only
    const set = await lab.run('r3', 'sysctl', ['-q', '-w', 'net.netfilter.nf_conntrack_udp_timeout=2'])
    expect(set.code).toBe(0)
    const { event } = await probe('h3', ['--no-tcp-probe', '--mapping-lifetime-max', '3s'])
    expect(event.lifetime).toEqual({ minMs: 1500, maxMs: 3000 })
    expect(event.evidence).toContain('mapping lifetime: alive after 1500 ms idle, gone after 3000 ms')
  }, PROBE_BOUND_MS + 5_000)

  it('natkit-peer\'s own `nat` event at start, against a relay with --stun-alternate: mapping and filtering per profile (inbound unknown: no connect-back at start)', async () => {
    const relay = spawnRole(lab, 'relay', 'relay', ['--listen', `/ip4/${RELAY}/tcp/4001`, '--no-autonat', '--stun-listen', `${RELAY}:${STUN_PORT}`, '--stun-alternate', `${RELAY_ALT}:${STUN_ALT_PORT}`])
    const peers: RoleHandle[] = [relay]
    try {
      await relay.waitForEvent('info', e => e.message.startsWith('TCP connect-back observer'), 30_000)
      const checked = ['address-restricted', 'port-restricted', 'symmetric']
      await Promise.all(checked.map(async (name) => {
        const i = CASES.findIndex(c => c.name === name)
        const peer = spawnRole(lab, `h${i + 1}`, 'peer', ['--listen', '/ip4/0.0.0.0/tcp/4100', '--no-webrtc', '--no-upnp', '--stun', `stun:${RELAY}:${STUN_PORT}`, '--network', 'lab'])
        peers.push(peer)
        const nat = await peer.waitForEvent('nat', () => true, PROBE_BOUND_MS)
        const { mapping, filtering } = expected[name] ?? {}
        expect(nat, name).toMatchObject({ natted: true, publicAddress: `11.0.${i + 1}.1`, mapping, filtering, inbound: 'unknown' })
        expect(new Set(nat.observers.map(o => o.server.split(':')[0])), name).toEqual(new Set([RELAY, RELAY_ALT]))
      }))
    } finally {
      await Promise.allSettled(peers.map(async p => await p.stop()))
    }
  }, PROBE_BOUND_MS * 2)

  it('each probe stays within a few seconds', () => {
    for (const [name, { ms }] of results) expect(ms, name).toBeLessThan(10_000)
  })
})
