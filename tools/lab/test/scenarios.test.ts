/**
 * NAT traversal for real: the role binaries in the namespace lab, across
 * nftables NAT routers. These are the acceptance checks; CI runs them
 * every time. Each trial builds a fresh lab (fresh NAT state) and tears it down.
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_RELAY_IP, RELAY_PORT, runTrial, type Lab, type TrialResult } from '../src/index.js'
import { expectNothingLeft, labSkipReason, upnpSkipReason } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { NatkitEvent } from '@natkit/events'

/** Trials per acceptance check (the issue asks for 10/10). */
const TRIALS = 10


const describeLab = describe.skipIf(missingPrerequisite(labSkipReason))

/** Packet counts of the named counters in a router's `inet <table>`. */
async function namedCounters (lab: Lab, router: string, table: string): Promise<Record<string, number>> {
  const listed = await lab.run(router, 'nft', ['-j', 'list', 'counters', 'table', 'inet', table], { timeoutMs: 5_000 })
  const out: Record<string, number> = {}
  for (const item of (JSON.parse(listed.stdout) as { nftables: Array<{ counter?: { name: string, packets: number } }> }).nftables) {
    if (item.counter != null) out[item.counter.name] = item.counter.packets
  }
  return out
}

describeLab('port-restricted ↔ port-restricted', () => {
  it(`TCP hole punching gives a direct connection in ${TRIALS}/${TRIALS} trials`, async () => {
    const results: TrialResult[] = []
    for (let i = 1; i <= TRIALS; i++) {
      const r = await runTrial({ a: 'port-restricted', b: 'port-restricted', transport: 'tcp', trial: i, dialTimeoutMs: 20_000 })
      results.push(r)
      await expectNothingLeft(r)
    }
    for (const r of results) {
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}: ${r.failureReason}`).toBe('direct')
      expect(r.exitCode).toBe(0)
      // the direct path is peer-b's NAT mapping of its listen port: a real punch through router-b
      expect(r.directAddr).toMatch(/^\/ip4\/11\.0\.2\.1\/tcp\/4100\//)
      expect(r.attempts).toBeGreaterThanOrEqual(1)
      expect(r.relayedRttMs).toBeGreaterThan(0)
      expect(r.directRttMs).toBeGreaterThan(0)
    }
  }, 400_000)

  it(`WebRTC gives a direct connection in ${TRIALS}/${TRIALS} trials`, async () => {
    const results: TrialResult[] = []
    for (let i = 1; i <= TRIALS; i++) {
      const r = await runTrial({ a: 'port-restricted', b: 'port-restricted', transport: 'webrtc', trial: i, dialTimeoutMs: 20_000 })
      results.push(r)
      await expectNothingLeft(r)
    }
    for (const r of results) {
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}: ${r.failureReason}`).toBe('direct')
      expect(r.directAddr).toContain('/webrtc/')
      // no TCP hole punch ran: WebRTC (ICE with the relay's STUN) made the path
      expect(r.attempts).toBe(0)
    }
  }, 400_000)
})

describeLab('routers that answer unsolicited inbound with a TCP reset (a bare Linux router)', () => {
  it(`TCP hole punching still gives a direct connection in ${TRIALS}/${TRIALS} trials, seen from both sides`, async () => {
    const results: TrialResult[] = []
    for (let i = 1; i <= TRIALS; i++) {
      const r = await runTrial({ a: 'port-restricted', b: 'port-restricted', inbound: 'reset', transport: 'tcp', trial: i, dialTimeoutMs: 20_000 })
      results.push(r)
      await expectNothingLeft(r)
    }
    for (const r of results) {
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}: ${r.failureReason}`).toBe('direct')
      // a punched path: router-b's mapping of peer-b's listen port, and peer-b sees router-a's
      expect(r.directAddr).toMatch(/^\/ip4\/11\.0\.2\.1\/tcp\/4100\//)
      expect(r.remoteDirect, `trial ${r.trial}: peer-b did not report the direct connection`).toBe(true)
      expect(r.remoteDirectAddr).toMatch(/^\/ip4\/11\.0\.1\.1\/tcp\/4100(\/|$)/)
    }
  }, 600_000)
})

describeLab('with the interop delay profile (router links 100 ms RTT, relay 25 ms)', () => {
  it('port-restricted ↔ port-restricted still gets a direct connection, and the RTTs show the delay', async () => {
    const r = await runTrial({ a: 'port-restricted', b: 'port-restricted', transport: 'tcp', delay: 'interop', dialTimeoutMs: 25_000 })
    await expectNothingLeft(r)
    expect(r.error).toBeUndefined()
    expect(r.outcome, r.failureReason).toBe('direct')
    // two delayed router links each way: at least 200 ms direct, more through the relay
    expect(r.directRttMs).toBeGreaterThanOrEqual(190)
    expect(r.relayedRttMs).toBeGreaterThan(r.directRttMs as number)
  }, 120_000)
})

describeLab('symmetric ↔ symmetric', () => {
  it('makes no direct connection, keeps pinging over the relay, and says the mapping varies per destination', async () => {
    const r = await runTrial({ a: 'symmetric', b: 'symmetric', transport: 'tcp', dialTimeoutMs: 25_000 })
    await expectNothingLeft(r)
    expect(r.error).toBeUndefined()
    expect(r.outcome).toBe('relayed')
    expect(r.exitCode).toBe(3)
    expect(r.relayedRttMs).toBeGreaterThan(0)
    // both NATs map per destination (each side's mapping field): one attempt, not three.
    // The evidence is discovery's (the lab relay observes from two addresses) or,
    // when identify's observations came first, identify's: either names it.
    expect(r.attempts).toBe(1)
    expect(r.failureReason).toMatch(/^symmetric-nat-suspected: .*(NAT discovery found our NAT's mapping address(-and-port)?-dependent|mapping varies per destination)/)
  }, 120_000)
})

describe.skipIf(missingPrerequisite(upnpSkipReason))('UPnP', () => {
  it('port-restricted ↔ upnp: direct, with peer-b\'s port mapped on its router by UPnP', async () => {
    const r = await runTrial({ a: 'port-restricted', b: 'upnp', transport: 'tcp', dialTimeoutMs: 20_000 })
    await expectNothingLeft(r)
    expect(r.error).toBeUndefined()
    expect(r.outcome).toBe('direct')
    expect(r.upnpMappings?.['router-b']?.some(rule => /dport 4100 dnat ip to 192\.168\.2\.10:4100/.test(rule))).toBe(true)
  }, 120_000)

  it('upnp ↔ port-restricted behind reset routers, the UPnP peer dialling at start: its own mapping is made at once and carries the punch at the first attempt', async () => {
    // router-a drops peer-a's own punch SYNs (not its SYN-ACKs) to router-b, so only
    // peer-b's SYNs through peer-a's UPnP forward can make the connection; counters
    // on router-a show both. @libp2p/upnp-nat mapped 5 s after the node's addresses
    // last changed, after the first attempt's 5 s (issue 10's one auto miss).
    const extra = [
      'table inet upnptest {',
      '  chain f {',
      '    type filter hook forward priority -10; policy accept;',
      '    iifname "lan" ip daddr 11.0.2.1 tcp flags & (syn | ack) == syn counter name "punch_dropped" drop',
      '    iifname "wan" ip daddr 192.168.1.10 tcp dport 4100 ct status dnat tcp flags & (syn | ack) == syn counter name "forwarded"',
      '  }',
      '  counter punch_dropped {',
      '  }',
      '  counter forwarded {',
      '  }',
      '}',
      ''
    ].join('\n')
    const counters: Record<string, number> = {}
    const mapped: Array<NatkitEvent<'upnp:mapped'>> = []
    const r = await runTrial({
      a: 'upnp',
      b: 'port-restricted',
      inbound: 'reset',
      transport: 'tcp',
      dialTimeoutMs: 20_000,
      routerNft: { 'router-a': extra },
      onEvent: (role, e) => { if (role === 'peer-a' && e.event === 'upnp:mapped') mapped.push(e) },
      inspect: async (lab) => { Object.assign(counters, await namedCounters(lab, 'router-a', 'upnptest')) }
    })
    await expectNothingLeft(r)
    expect(r.error).toBeUndefined()
    expect(r.outcome, r.failureReason).toBe('direct')
    expect(r.remoteDirect).toBe(true)
    expect(r.attempts).toBe(1)
    expect(mapped).toEqual([expect.objectContaining({ internal: '/ip4/192.168.1.10/tcp/4100', external: '/ip4/11.0.1.1/tcp/4100' })])
    // seen from the router: peer-a's punches were dropped, and peer-b came in through the forward
    expect(counters.punch_dropped).toBeGreaterThan(0)
    expect(counters.forwarded).toBeGreaterThan(0)
    // seen from peer-b: it reached peer-a at the mapped port
    expect(r.remoteDirectAddr).toMatch(/^\/ip4\/11\.0\.1\.1\/tcp\/4100\//)
  }, 120_000)

  it('symmetric ↔ upnp: direct through the mapping (symmetric ↔ port-restricted needs hard-NAT probing)', async () => {
    const probesOf = (seen: NatkitEvent[]): number => seen.filter(e => e.event === 'holepunch:success' || e.event === 'holepunch:failure')
      .reduce((n, e) => n + (((e as unknown as { probes?: number }).probes) ?? 0), 0)
    const viaUpnp = await runTrial({ a: 'symmetric', b: 'upnp', transport: 'tcp', dialTimeoutMs: 20_000 })
    const seenWithout: NatkitEvent[] = []
    const withoutUpnp = await runTrial({ a: 'symmetric', b: 'port-restricted', transport: 'tcp', dialTimeoutMs: 20_000, onEvent: (_role, e) => { seenWithout.push(e) } })
    await expectNothingLeft(viaUpnp)
    await expectNothingLeft(withoutUpnp)
    expect(viaUpnp.outcome, viaUpnp.failureReason ?? viaUpnp.error).toBe('direct')
    // peer-a reached peer-b at the port UPnP mapped on its router (its listen port), not at a probed one
    expect(viaUpnp.directAddr).toMatch(/^\/ip4\/11\.0\.2\.1\/tcp\/4100\//)
    // without the mapping, a direct connection (if any) came from probing the symmetric NAT's ports
    if (withoutUpnp.outcome === 'direct') expect(probesOf(seenWithout)).toBeGreaterThan(0)
    else expect(withoutUpnp.outcome).toBe('relayed')
  }, 200_000)
})

describeLab('a public peer', () => {
  it('public ↔ symmetric: direct on the first try (B starts DCUtR before identify: the public address comes in A\'s CONNECT, or identify\'s for the unilateral upgrade)', async () => {
    const r = await runTrial({ a: 'none', b: 'symmetric', transport: 'tcp', dialTimeoutMs: 20_000 })
    await expectNothingLeft(r)
    expect(r.outcome, r.failureReason ?? r.error).toBe('direct')
    expect(r.attempts).toBeLessThanOrEqual(1)
    // seen from peer-a (the public one): peer-b came in through its symmetric NAT
    expect(r.directAddr).toMatch(/^\/ip4\/11\.0\.2\.1\/tcp\/\d+\//)
  }, 120_000)

  it('public ↔ port-restricted behind a reset router, TCP: direct 3/3, seen from both sides (peer-b\'s SYN reaches the public peer\'s listener, which takes the initiator\'s role)', async () => {
    for (let trial = 1; trial <= 3; trial++) {
      const r = await runTrial({ a: 'none', b: 'port-restricted', inbound: 'reset', transport: 'tcp', trial, dialTimeoutMs: 20_000 })
      await expectNothingLeft(r)
      expect(r.outcome, `trial ${trial}: ${r.failureReason ?? r.error ?? ''}`).toBe('direct')
      expect(r.remoteDirect, `trial ${trial}: peer-b has the direct connection too`).toBe(true)
    }
  }, 200_000)
})

describeLab('AutoNAT v2 in the lab', () => {
  it('reports a public host reachable and a NATed host unreachable', async () => {
    const r = await runTrial({ a: 'none', b: 'port-restricted', transport: 'tcp', full: true, dialTimeoutMs: 20_000 })
    await expectNothingLeft(r)
    expect(r.error).toBeUndefined()
    expect(r.reachability?.['peer-a']).toMatchObject({ exitCode: 0 })
    expect(r.reachability?.['peer-a']?.reachable).toBeGreaterThan(0)
    expect(r.reachability?.['peer-b']).toMatchObject({ reachable: 0, exitCode: 3 })
    expect(r.reachability?.['peer-b']?.unreachable).toBeGreaterThan(0)
  }, 120_000)
})

describeLab('go-libp2p compatible hole punch metrics', () => {
  it('peer-b\'s /metrics shows libp2p_holepunch_* with the values of its own hole punch events', async () => {
    const r = await runTrial({ a: 'port-restricted', b: 'port-restricted', transport: 'tcp', dialTimeoutMs: 20_000, scrapeMetrics: true })
    await expectNothingLeft(r)
    expect(r.error).toBeUndefined()
    expect(r.outcome, r.failureReason).toBe('direct')
    const lines = r.peerBMetrics ?? []
    const sample = (name: string, labels: string): number | undefined => {
      const line = lines.find(l => l.startsWith(`${name}{${labels}}`))
      return line != null ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined
    }
    const events = r.peerBHolepunchEvents ?? []
    const success = events.find((e): e is NatkitEvent<'holepunch:success'> => e.event === 'holepunch:success')
    if (success == null) expect.fail('peer-b reports no hole punch success of its own')
    const unilateral = events.filter(e => e.event === 'holepunch:attempt' && e.attempt === 0).length
    // both peers are behind NATs: the punch came from a CONNECT/SYNC exchange, not B's unilateral dial
    expect(success.attempt).toBeGreaterThanOrEqual(1)
    // B is go-libp2p's "initiator": one successful exchange at the attempt it succeeded on, over ip4/tcp
    expect(sample('libp2p_holepunch_outcomes_total', `side="initiator",num_attempts="${success.attempt}",outcome="success"`)).toBe(1)
    expect(sample('libp2p_holepunch_address_outcomes_total', `side="initiator",num_attempts="${success.attempt}",ipv="ip4",transport="tcp",outcome="success"`)).toBeGreaterThanOrEqual(1)
    expect(sample('libp2p_holepunch_outcomes_total', 'side="receiver",num_attempts="1",outcome="success"')).toBe(0)
    // direct dials (B's unilateral upgrade) are counted exactly as B attempted them
    const dials = (sample('libp2p_holepunch_direct_dials_total', 'outcome="success"') ?? 0) + (sample('libp2p_holepunch_direct_dials_total', 'outcome="failed"') ?? 0)
    expect(dials).toBe(unilateral)
    // natkit's own counter beside them
    expect(sample('natkit_holepunch_total', 'outcome="success",reason=""')).toBe(1)
  }, 120_000)
})

describeLab('a dial that fails in transit', () => {
  it('natkit-peer dial tries again when its first SYNs to the relay draw "host unreachable", and gets through', async () => {
    // router-a answers peer-a's first two SYNs to the relay with ICMP host
    // unreachable (EHOSTUNREACH at once, as when an ARP or a route is missing), then
    // lets SYNs through: a dial without retries ends "not connected". The quota
    // counts bytes: a Linux SYN is 60, so two fit under 150.
    const extra = [
      'table inet dialtest {',
      '  quota first_syns {',
      '    until 150 bytes',
      '  }',
      '  chain f {',
      '    type filter hook forward priority -10; policy accept;',
      `    iifname "lan" ip daddr ${DEFAULT_RELAY_IP} tcp dport ${RELAY_PORT} tcp flags & (syn | ack) == syn quota name "first_syns" counter name "rejected" reject with icmp type host-unreachable`,
      `    iifname "lan" ip daddr ${DEFAULT_RELAY_IP} tcp dport ${RELAY_PORT} tcp flags & (syn | ack) == syn counter name "passed"`,
      '  }',
      '  counter rejected {',
      '  }',
      '  counter passed {',
      '  }',
      '}',
      ''
    ].join('\n')
    const counters: Record<string, number> = {}
    const retries: string[] = []
    const r = await runTrial({
      a: 'port-restricted',
      b: 'port-restricted',
      transport: 'tcp',
      dialTimeoutMs: 20_000,
      routerNft: { 'router-a': extra },
      onEvent: (role, e) => { if (role === 'peer-a' && e.event === 'info' && e.message.includes('failed in transit')) retries.push(e.message) },
      inspect: async (lab) => { Object.assign(counters, await namedCounters(lab, 'router-a', 'dialtest')) }
    })
    await expectNothingLeft(r)
    expect(r.error).toBeUndefined()
    // the router refused two SYNs and passed later ones
    expect(counters.rejected).toBe(2)
    expect(counters.passed).toBeGreaterThan(0)
    // the dial said it tried again, and why
    expect(retries.length).toBeGreaterThanOrEqual(1)
    expect(retries[0]).toMatch(/attempt 1 failed in transit \(.*EHOSTUNREACH.*\), trying again/)
    expect(r.outcome, r.failureReason).toBe('direct')
    expect(r.remoteDirect).toBe(true)
  }, 120_000)
})
