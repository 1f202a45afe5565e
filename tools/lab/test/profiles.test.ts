import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runTrial, assertSupportedProfile, defaultTopology, describeTopology, InvalidTopologyError, Lab, routerRuleset, tcpConnect, tcpServer, udpAgent, udpConnectedSend, udpSend, udpServer, UnsupportedNatProfileError, validateTopology } from '../src/index.js'
import { labSkipReason, parseEcho, roundTrip } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { InboundMode, NatProfile, Probe, Router, SelfCheckResult } from '../src/index.js'

const BIN = fileURLToPath(new URL('../bin/natkit-lab.js', import.meta.url))
const run = promisify(execFile)

const RELAY = '11.0.0.10'
const BOOTSTRAP = '11.0.0.11'
const AUTONAT = '11.0.0.12'
const WAN_A = '11.0.1.1'
const WAN_B = '11.0.2.1'
const UDP_PORT = 4000
const TCP_PORT = 4001
/** The bootstrap host's servers use other ports, so port 4000 there is free to send from. */
const BOOTSTRAP_UDP_PORT = 4100
const BOOTSTRAP_TCP_PORT = 4101
/** A source port on the relay host other than its echo server's. */
const OTHER_PORT = 4006
/** Port of a UDP agent on the relay host that sends first. */
const REMOTE_AGENT_PORT = 4007
/** A LAN port no LAN host ever sent from: no router holds a mapping for it. */
const UNMAPPED_PORT = 5000

/** What the agent received, as `ip:port msg` (echoes unwrapped). */
function received (agent: Probe): string[] {
  return agent.records.filter(r => r.probe === 'datagram').map(r => `${String(r.ip)}:${String(r.port)} ${parseEcho(r.msg)?.msg ?? String(r.msg)}`)
}

const router = (profile: NatProfile, inbound?: InboundMode): Router => ({ name: 'r', profile, wanIp: '11.0.1.1', lanCidr: '192.168.1.0/24', lanIp: '192.168.1.1', ...(inbound != null ? { inbound } : {}) })
/** The body of one chain of a generated ruleset. */
const chain = (rules: string, name: string): string => new RegExp(`chain ${name} \\{\\n([\\s\\S]*?)\\n  \\}`).exec(rules)?.[1] ?? ''

describe('inbound modes and cone profiles (rulesets)', () => {
  it('drop is the default and leaves the generated ruleset as it was', () => {
    for (const profile of ['port-restricted', 'symmetric', 'upnp'] as const) {
      expect(routerRuleset(router(profile, 'drop'), 't')).toBe(routerRuleset(router(profile), 't'))
    }
    const input = chain(routerRuleset(router('port-restricted'), 't'), 'input')
    expect(input).toContain('iifname "wan" ct state established,related accept\n    iifname "wan" drop')
    expect(input).not.toContain('reject')
  })

  it('reset has no wan rule on input (the kernel answers); reject is OpenWrt\'s reject_from_wan', () => {
    const reset = chain(routerRuleset(router('port-restricted', 'reset'), 't'), 'input')
    expect(reset).not.toMatch(/iifname "wan"/)
    expect(reset).toContain('policy accept;')
    const reject = chain(routerRuleset(router('port-restricted', 'reject'), 't'), 'input')
    expect(reject).toContain('iifname "wan" meta l4proto tcp reject with tcp reset\n')
    expect(reject).toContain('iifname "wan" reject with icmpx type port-unreachable')
    expect(reject).not.toMatch(/\bdrop\b/)
  })

  it('full-cone DNATs any new inbound flow to a mapped port; address-restricted only from contacted addresses', () => {
    const full = routerRuleset(router('full-cone'), 't')
    expect(full).toContain('map portmap {')
    expect(full).not.toContain('set seen')
    expect(chain(full, 'prerouting')).toContain('iifname "wan" meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @portmap')
    expect(chain(full, 'cone_mappings')).toContain('update @portmap { meta l4proto . th sport : ct original ip saddr . ct original proto-src }')
    expect(chain(full, 'forward')).toContain('ct status dnat accept')
    const restricted = routerRuleset(router('address-restricted'), 't')
    expect(chain(restricted, 'prerouting')).toContain('meta l4proto . ip saddr . th dport @seen dnat ip to meta l4proto . th dport map @portmap')
    expect(chain(restricted, 'cone_mappings')).toContain('update @seen { meta l4proto . ip daddr . th sport }')
    // both map like port-restricted: plain masquerade
    for (const rules of [full, restricted]) expect(chain(rules, 'postrouting')).toMatch(/oifname "wan" masquerade$/m)
    const portRestricted = routerRuleset(router('port-restricted'), 't')
    expect(portRestricted).not.toContain('portmap')
    expect(portRestricted).not.toContain('ct status dnat')
  })

  it('defaultTopology passes the inbound mode to both routers; bad modes and profiles get one-line errors', () => {
    const t = defaultTopology('full-cone', 'address-restricted', { inbound: 'reset' })
    expect(t.routers.map(r => [r.name, r.profile, r.inbound])).toEqual([['router-a', 'full-cone', 'reset'], ['router-b', 'address-restricted', 'reset']])
    expect(describeTopology(t)).toContain('nat full-cone  inbound reset')
    expect(() => { validateTopology(t) }).not.toThrow()
    expect(defaultTopology('port-restricted', 'port-restricted').routers.every(r => !('inbound' in r))).toBe(true)
    expect(() => defaultTopology('port-restricted', 'port-restricted', { inbound: 'ignore' as InboundMode })).toThrow(new InvalidTopologyError('unknown inbound mode "ignore"; expected one of drop, reset, reject'))
    const bad = defaultTopology('port-restricted', 'port-restricted')
    ;(bad.routers[0] as Router).inbound = 'icmp' as InboundMode
    expect(() => { validateTopology(bad) }).toThrow(/unknown inbound mode "icmp"/)
    expect(() => routerRuleset(bad.routers[0] as Router, 't')).toThrow(InvalidTopologyError)
    expect(() => { assertSupportedProfile('restricted-cone') }).toThrow(UnsupportedNatProfileError)
  })
})

// peer-a behind an address-restricted NAT, peer-b behind a full-cone NAT; both routers drop unsolicited inbound.
describe.skipIf(missingPrerequisite(labSkipReason))('cone NAT profiles with traffic (address-restricted vs full-cone, inbound drop)', () => {
  let lab: Lab

  beforeAll(async () => {
    lab = await Lab.create(defaultTopology('address-restricted', 'full-cone'))
    await udpServer(lab, 'relay', UDP_PORT)
    await udpServer(lab, 'bootstrap', BOOTSTRAP_UDP_PORT)
    await tcpServer(lab, 'relay', TCP_PORT)
    await tcpServer(lab, 'bootstrap', BOOTSTRAP_TCP_PORT)
  })

  afterAll(async () => {
    await lab?.destroy()
  })

  for (const [peer, wan, profile] of [['peer-a', WAN_A, 'address-restricted'], ['peer-b', WAN_B, 'full-cone']] as const) {
    describe(`${profile}: endpoint-independent mapping`, () => {
      const base = peer === 'peer-a' ? 40020 : 40030
      it('UDP: two remote observers see the same mapped address and port', async () => {
        const agent = await udpAgent(lab, peer, base)
        try {
          expect(await roundTrip(agent, RELAY, 'one')).toEqual({ ip: wan, port: base })
          expect(await roundTrip(agent, BOOTSTRAP, 'two')).toEqual({ ip: wan, port: base })
        } finally {
          await agent.stop()
        }
      })

      it('TCP: two remote observers see the same mapped address and port', async () => {
        const toRelay = await tcpConnect(lab, peer, RELAY, TCP_PORT, { localPort: base + 1 })
        const toBootstrap = await tcpConnect(lab, peer, BOOTSTRAP, BOOTSTRAP_TCP_PORT, { localPort: base + 1 })
        expect([toRelay.seen, toBootstrap.seen]).toEqual([{ ip: wan, port: base + 1 }, { ip: wan, port: base + 1 }])
      })
    })
  }

  describe('address-restricted: address-dependent filtering', () => {
    it('UDP: once the LAN endpoint sent to an address, any port of that address gets through; other addresses do not', async () => {
      const agent = await udpAgent(lab, 'peer-a', 40022)
      try {
        await roundTrip(agent, RELAY, 'open')
        await udpSend(lab, 'relay', WAN_A, 40022, 'same-address', OTHER_PORT)
        await udpSend(lab, 'bootstrap', WAN_A, 40022, 'other-address', UDP_PORT)
        await udpSend(lab, 'autonat', WAN_A, 40022, 'never-contacted', UDP_PORT)
        // a later reply on the open flow arrives: the others were sent before it
        await roundTrip(agent, RELAY, 'close')
        expect(received(agent)).toEqual([
          `${RELAY}:${UDP_PORT} open`,
          `${RELAY}:${OTHER_PORT} same-address`,
          `${RELAY}:${UDP_PORT} close`
        ])
      } finally {
        await agent.stop()
      }
    })

    it('TCP: after an outbound connection from a port, the contacted address may connect to that port from any port; others get no answer', async () => {
      const opened = await tcpConnect(lab, 'peer-a', RELAY, TCP_PORT, { localPort: 40023 })
      expect(opened.seen).toEqual({ ip: WAN_A, port: 40023 })
      const srv = await tcpServer(lab, 'peer-a', 40023)
      try {
        const fromRelay = await tcpConnect(lab, 'relay', WAN_A, 40023, { timeoutMs: 1_000 })
        expect(fromRelay.error).toBeUndefined()
        // the LAN host sees the remote's own address (DNAT only)
        expect(fromRelay.seen?.ip).toBe(RELAY)
        expect(fromRelay.seen?.port).not.toBe(TCP_PORT)
        const fromBootstrap = await tcpConnect(lab, 'bootstrap', WAN_A, 40023, { timeoutMs: 1_000 })
        expect(fromBootstrap).toMatchObject({ connected: false, error: 'TIMEOUT' })
        expect(srv.records.filter(r => r.probe === 'accepted').map(r => r.ip)).toEqual([RELAY])
      } finally {
        await srv.stop()
      }
    })
  })

  describe('full-cone: endpoint-independent filtering', () => {
    it('UDP: once mapped, any remote address and port gets through', async () => {
      const agent = await udpAgent(lab, 'peer-b', 40032)
      try {
        await roundTrip(agent, RELAY, 'open')
        await udpSend(lab, 'relay', WAN_B, 40032, 'same-address', OTHER_PORT)
        await udpSend(lab, 'bootstrap', WAN_B, 40032, 'other-address', UDP_PORT)
        await udpSend(lab, 'autonat', WAN_B, 40032, 'never-contacted', UDP_PORT)
        await roundTrip(agent, RELAY, 'close')
        expect(received(agent)).toEqual([
          `${RELAY}:${UDP_PORT} open`,
          `${RELAY}:${OTHER_PORT} same-address`,
          `${BOOTSTRAP}:${UDP_PORT} other-address`,
          `${AUTONAT}:${UDP_PORT} never-contacted`,
          `${RELAY}:${UDP_PORT} close`
        ])
      } finally {
        await agent.stop()
      }
    })

    it('TCP: after an outbound connection from a port, a never-contacted remote may connect to it', async () => {
      const opened = await tcpConnect(lab, 'peer-b', RELAY, TCP_PORT, { localPort: 40033 })
      expect(opened.seen).toEqual({ ip: WAN_B, port: 40033 })
      const srv = await tcpServer(lab, 'peer-b', 40033)
      try {
        const fromAutonat = await tcpConnect(lab, 'autonat', WAN_B, 40033, { timeoutMs: 1_000 })
        expect(fromAutonat.error).toBeUndefined()
        expect(fromAutonat.seen?.ip).toBe(AUTONAT)
        expect(srv.records.filter(r => r.probe === 'accepted').map(r => r.ip)).toEqual([AUTONAT])
      } finally {
        await srv.stop()
      }
    })
  })

  it('inbound drop: an unmapped port gets no answer (TCP SYN, UDP) on either cone router, and nothing reaches the LAN', async () => {
    const servers = [await tcpServer(lab, 'peer-a', UNMAPPED_PORT), await tcpServer(lab, 'peer-b', UNMAPPED_PORT)]
    try {
      for (const wan of [WAN_A, WAN_B]) {
        expect(await tcpConnect(lab, 'relay', wan, UNMAPPED_PORT, { timeoutMs: 1_000 })).toMatchObject({ connected: false, error: 'TIMEOUT' })
        expect(await udpConnectedSend(lab, 'relay', wan, UNMAPPED_PORT + 1, 'unsolicited', { timeoutMs: 1_000 })).toEqual({ reply: undefined, error: 'TIMEOUT' })
      }
      for (const srv of servers) expect(srv.records.filter(r => r.probe === 'accepted')).toEqual([])
    } finally {
      await Promise.all(servers.map(async s => { await s.stop() }))
    }
  })
})

// peer-a behind a port-restricted router that resets, peer-b behind one that rejects (OpenWrt-style).
describe.skipIf(missingPrerequisite(labSkipReason))('inbound reset and reject with traffic (port-restricted routers)', () => {
  let lab: Lab

  beforeAll(async () => {
    const topology = defaultTopology('port-restricted', 'port-restricted', { inbound: 'reset' })
    ;(topology.routers[1] as Router).inbound = 'reject'
    lab = await Lab.create(topology)
    await udpServer(lab, 'relay', UDP_PORT)
    await tcpServer(lab, 'relay', TCP_PORT)
  })

  afterAll(async () => {
    await lab?.destroy()
  })

  for (const [peer, wan, mode] of [['peer-a', WAN_A, 'reset'], ['peer-b', WAN_B, 'reject']] as const) {
    describe(`inbound ${mode}`, () => {
      it('an unsolicited TCP SYN to the WAN draws a RST (ECONNREFUSED) and never reaches the LAN host', async () => {
        const srv = await tcpServer(lab, peer, UNMAPPED_PORT)
        try {
          expect(await tcpConnect(lab, 'relay', wan, UNMAPPED_PORT, { timeoutMs: 1_000 })).toMatchObject({ connected: false, error: 'ECONNREFUSED' })
          expect(srv.records.filter(r => r.probe === 'accepted')).toEqual([])
        } finally {
          await srv.stop()
        }
      })

      it('unsolicited UDP to the WAN draws an ICMP port unreachable (ECONNREFUSED on a connected socket)', async () => {
        expect(await udpConnectedSend(lab, 'relay', wan, UNMAPPED_PORT + 1, 'unsolicited', { timeoutMs: 1_000 })).toEqual({ reply: undefined, error: 'ECONNREFUSED' })
      })

      // the kernel's answer (reset) lets the unsolicited datagram's conntrack entry be confirmed;
      // nft reject drops the packet, so no entry is left behind
      it(`an early unsolicited UDP datagram from a remote endpoint ${mode === 'reset' ? 'moves' : 'does not move'} the LAN's later mapping toward it`, async () => {
        const remote = await udpAgent(lab, 'relay', REMOTE_AGENT_PORT)
        const agent = await udpAgent(lab, peer, 40050)
        try {
          remote.send(`send ${wan} 40050 early`)
          await remote.waitFor(r => r.probe === 'sent')
          agent.send(`send ${RELAY} ${REMOTE_AGENT_PORT} later`)
          const seen = await remote.waitFor(r => r.probe === 'datagram' && r.msg === 'later')
          expect(seen.ip).toBe(wan)
          if (mode === 'reset') expect(seen.port).not.toBe(40050)
          else expect(seen.port).toBe(40050)
          // the early datagram never reached the LAN host
          expect(agent.records.filter(r => r.probe === 'datagram')).toEqual([])
        } finally {
          await Promise.all([remote.stop(), agent.stop()])
        }
      })

      it('outbound flows and their replies still pass, port preserved', async () => {
        expect((await tcpConnect(lab, peer, RELAY, TCP_PORT, { localPort: 40040 })).seen).toEqual({ ip: wan, port: 40040 })
        const agent = await udpAgent(lab, peer, 40041)
        try {
          expect(await roundTrip(agent, RELAY, 'one')).toEqual({ ip: wan, port: 40041 })
        } finally {
          await agent.stop()
        }
      })
    })
  }
})

describe('inbound mode on the command line', () => {
  it('an unknown --inbound value is refused in one line naming the choices', async () => {
    const err = await run(process.execPath, [BIN, 'topo', '--inbound', 'ignore'], { timeout: 30_000 }).then(() => undefined, (e: { code: number, stderr: string }) => e)
    expect(err?.code).not.toBe(0)
    expect(err?.stderr.trim()).toBe("error: option '--inbound <mode>' argument 'ignore' is invalid. Allowed choices are drop, reset, reject.")
  })
})

describe.skipIf(missingPrerequisite(labSkipReason))('inbound mode reaches the lab from the CLI and the trial runner', () => {
  it('natkit-lab topo --inbound reset: the self-check sees both cone routers answer an unsolicited SYN with a reset', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'topo', '--a', 'full-cone', '--b', 'address-restricted', '--inbound', 'reset', '--json'], { timeout: 60_000 })
    const { topology, results } = JSON.parse(stdout) as { topology: { routers: Router[] }, results: SelfCheckResult[] }
    expect(topology.routers.map(r => [r.profile, r.inbound])).toEqual([['full-cone', 'reset'], ['address-restricted', 'reset']])
    const unsolicited = results.filter(r => r.check.startsWith('unsolicited'))
    expect(unsolicited.map(r => r.check)).toEqual([
      `unsolicited relay -> router-a ${WAN_A}:7001 (inbound reset)`,
      `unsolicited relay -> router-b ${WAN_B}:7001 (inbound reset)`
    ])
    for (const r of results) expect(r, r.detail).toMatchObject({ ok: true })
    for (const r of unsolicited) expect(r.detail).toContain('ECONNREFUSED')
  }, 90_000)

  it('runTrial({ inbound }) builds its lab with that inbound mode', async () => {
    const log: string[] = []
    const r = await runTrial({ a: 'port-restricted', b: 'full-cone', transport: 'tcp', inbound: 'reject', dialTimeoutMs: 5_000, log: (l) => { log.push(l) } })
    expect(r.error).toBeUndefined()
    expect(log.some(l => l.endsWith('building port-restricted-vs-full-cone-inbound-reject'))).toBe(true)
  }, 120_000)
})
