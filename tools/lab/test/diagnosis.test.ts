/**
 * Honest hole punch failure reasons (issue 10 item 6), with real traffic: the
 * punches of a pair that could otherwise punch are forced to fail by extra
 * nftables rules on router-a, while the relay path keeps working. Each peer
 * must name what its dials saw, and neither may call its NAT symmetric: both
 * NATs keep the port and map endpoint-independently, and both peers have two
 * observers (relay and bootstrap) of connections dialled from their listen port.
 */
import { describe, expect, it } from 'vitest'
import { listLeftovers, PEER_PORT, runTrial, type TrialResult } from '../src/index.js'
import { labSkipReason } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { NatkitEvent } from '@natkit/events'

/** WAN addresses of the default topology's routers. */
const ROUTER_A_WAN = '11.0.1.1'
const ROUTER_B_WAN = '11.0.2.1'

/**
 * router-a's extra table: TCP between the two peers' punch port (their
 * mappings keep the listen port) and router-b's WAN address is handled by
 * `verdict` before conntrack and NAT see it (raw priority), both ways. Traffic
 * to the relay and bootstrap is untouched.
 */
function punchBlock (verdict: 'drop' | 'reset'): string {
  const rules = verdict === 'drop'
    ? [
        `    iifname "lan" ip daddr ${ROUTER_B_WAN} tcp dport ${PEER_PORT} drop`,
        `    iifname "wan" ip saddr ${ROUTER_B_WAN} tcp sport ${PEER_PORT} drop`
      ]
    : [
        // reject is not allowed at prerouting: answer in forward (outbound) and input (inbound, no mapping)
        `    iifname "lan" ip daddr ${ROUTER_B_WAN} tcp dport ${PEER_PORT} reject with tcp reset`,
        `    iifname "wan" ip saddr ${ROUTER_B_WAN} tcp sport ${PEER_PORT} reject with tcp reset`
      ]
  const hook = verdict === 'drop' ? 'type filter hook prerouting priority -300; policy accept;' : 'type filter hook forward priority -10; policy accept;'
  return [
    'table ip punchblock {',
    '  chain block {',
    `    ${hook}`,
    ...rules,
    '  }',
    ...(verdict === 'reset'
      ? [
          '  chain block_input {',
          '    type filter hook input priority -10; policy accept;',
          `    iifname "wan" ip saddr ${ROUTER_B_WAN} tcp sport ${PEER_PORT} reject with tcp reset`,
          '  }'
        ]
      : []),
    '}',
    ''
  ].join('\n')
}

type Failure = NatkitEvent<'holepunch:failure'>

/** One trial with router-a blocking the punches; every hole punch failure per peer. */
async function blockedTrial (verdict: 'drop' | 'reset'): Promise<{ r: TrialResult, failures: Record<string, Failure[]> }> {
  const failures: Record<string, Failure[]> = { 'peer-a': [], 'peer-b': [] }
  const r = await runTrial({
    a: 'port-restricted',
    b: 'port-restricted',
    transport: 'tcp',
    full: true,
    dialTimeoutMs: 25_000,
    routerNft: { 'router-a': punchBlock(verdict) },
    onEvent: (role, e) => { if (e.event === 'holepunch:failure') failures[role]?.push(e) }
  })
  const left = await listLeftovers(r.prefix)
  expect(left).toEqual({ namespaces: [], links: [], tables: [] })
  return { r, failures }
}

const describeLab = describe.skipIf(missingPrerequisite(labSkipReason))

describeLab('a port-restricted pair whose punches are forced to fail', () => {
  it('silently dropped punches: both peers report no-answer naming the address, never a symmetric NAT', async () => {
    const { r, failures } = await blockedTrial('drop')
    expect(r.error).toBeUndefined()
    // the relay path still works; no direct connection
    expect(r.outcome).toBe('relayed')
    expect(r.relayedRttMs).toBeGreaterThan(0)
    const a = failures['peer-a'] ?? []
    const b = failures['peer-b'] ?? []
    expect(b.length, 'peer-b (DCUtR initiator) reported no failure').toBeGreaterThan(0)
    expect(a.length, 'peer-a (DCUtR responder) reported no failure').toBeGreaterThan(0)
    for (const f of [...a, ...b]) {
      expect(f.reason, f.message).not.toBe('symmetric-nat-suspected')
      expect(f.message).not.toMatch(/symmetric/i)
    }
    // peer-b's verdict after its attempts: its SYNs to router-a's mapping of peer-a went unanswered
    const lastB = b.at(-1) as Failure
    expect(lastB.reason, lastB.message).toBe('no-answer')
    expect(lastB.message).toContain(`no answer to our SYNs to ${ROUTER_A_WAN}:${PEER_PORT}`)
    // peer-a's view of each attempt: its SYNs to peer-b's mapping went unanswered
    for (const f of a) {
      expect(f.reason, f.message).toBe('no-answer')
      expect(f.message).toContain(`no answer to our SYNs to ${ROUTER_B_WAN}:${PEER_PORT}`)
    }
  }, 300_000)

  it('punches answered with resets: both peers report reset-by-remote naming the address and the count', async () => {
    const { r, failures } = await blockedTrial('reset')
    expect(r.error).toBeUndefined()
    expect(r.outcome).toBe('relayed')
    const a = failures['peer-a'] ?? []
    const b = failures['peer-b'] ?? []
    expect(b.length).toBeGreaterThan(0)
    expect(a.length).toBeGreaterThan(0)
    for (const f of [...a, ...b]) {
      expect(f.reason, f.message).toBe('reset-by-remote')
      expect(f.message).not.toMatch(/symmetric/i)
    }
    expect((b.at(-1) as Failure).message).toMatch(new RegExp(`all \\d+ SYNs we sent to ${ROUTER_A_WAN.replaceAll('.', '\\.')}:${PEER_PORT} within \\d+ ms were answered with a reset`))
    for (const f of a) expect(f.message).toMatch(new RegExp(`all \\d+ SYNs we sent to ${ROUTER_B_WAN.replaceAll('.', '\\.')}:${PEER_PORT} within \\d+ ms were answered with a reset`))
  }, 300_000)
})
