/**
 * Racing the direct paths (issue 10 items 3 and 5) in the namespace lab:
 * natkit-peer's default races TCP hole punching and WebRTC; the path that
 * works wins, and both peers agree on the verdict.
 */
import { describe, expect, it } from 'vitest'
import { runTrial, type Lab, type TrialInit, type TrialResult } from '../src/index.js'
import { expectNothingLeft, labSkipReason } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { NatkitEvent } from '@natkit/events'

/** Trials per acceptance check (the issue asks for 10/10). */
const TRIALS = 10
const WAN_B = '11.0.2.1'
/** nft table this file adds to a router, beside the lab's own. */
const TABLE = 'natkit_paths'

/** One role's event, with the role that emitted it. */
interface Seen { role: string, e: NatkitEvent }

/** Runs a trial and keeps every role's events in arrival order. */
async function trial (init: TrialInit): Promise<{ r: TrialResult, seen: Seen[] }> {
  const seen: Seen[] = []
  const r = await runTrial({ ...init, onEvent: (role, e) => { seen.push({ role, e }); init.onEvent?.(role, e) } })
  return { r, seen }
}


async function nft (lab: Lab, router: string, args: string[]): Promise<string> {
  const res = await lab.run(router, 'nft', args, { timeoutMs: 5_000 })
  if (res.code !== 0) throw new Error(`nft ${args.join(' ')} in ${router}: ${res.stderr.trim()}`)
  return res.stdout
}

/** Counts the UDP packets router-a forwards between its WAN and router-b's: direct peer-to-peer UDP, never the relay's. */
async function addUdpCounters (lab: Lab): Promise<void> {
  await nft(lab, 'router-a', ['add', 'table', 'inet', TABLE])
  await nft(lab, 'router-a', ['add', 'chain', 'inet', TABLE, 'count', '{ type filter hook forward priority -10; policy accept; }'])
  await nft(lab, 'router-a', ['add', 'rule', 'inet', TABLE, 'count', 'ip', 'daddr', WAN_B, 'meta', 'l4proto', 'udp', 'counter', 'comment', '"out"'])
  await nft(lab, 'router-a', ['add', 'rule', 'inet', TABLE, 'count', 'ip', 'saddr', WAN_B, 'meta', 'l4proto', 'udp', 'counter', 'comment', '"in"'])
}

/** The packet counts of those counters: out (to router-b) and in (from it). */
async function readUdpCounters (lab: Lab): Promise<{ out: number, in: number }> {
  const text = await nft(lab, 'router-a', ['list', 'table', 'inet', TABLE])
  const count = (dir: string): number => Number(new RegExp(`counter packets (\\d+) bytes \\d+ comment "${dir}"`).exec(text)?.[1] ?? NaN)
  return { out: count('out'), in: count('in') }
}

/** peer-a's dial verdict. */
const dialResult = (seen: Seen[]): NatkitEvent<'dial:result'> | undefined => seen.find(s => s.role === 'peer-a' && s.e.event === 'dial:result')?.e as NatkitEvent<'dial:result'> | undefined

const describeLab = describe.skipIf(missingPrerequisite(labSkipReason))

describeLab('address-restricted ↔ symmetric, default paths (TCP and WebRTC race)', () => {
  it(`direct in ${TRIALS}/${TRIALS} trials over whichever path wins, seen from both peers (and on router-a when WebRTC won)`, async () => {
    const results: Array<{ r: TrialResult, seen: Seen[], udp: { out: number, in: number } }> = []
    for (let i = 1; i <= TRIALS; i++) {
      let udp = { out: NaN, in: NaN }
      const { r, seen } = await trial({ a: 'address-restricted', b: 'symmetric', transport: 'tcp', paths: 'auto', trial: i, dialTimeoutMs: 25_000, setup: addUdpCounters, inspect: async (lab) => { udp = await readUdpCounters(lab) } })
      results.push({ r, seen, udp })
      await expectNothingLeft(r)
    }
    console.info(`address-restricted ↔ symmetric, auto: ${results.map(({ r, udp }) => `${r.outcome}${r.path != null ? ` over ${r.path}` : ''} (${JSON.stringify(r.paths)}, router-a UDP out/in ${udp.out}/${udp.in})`).join('; ')}`)
    for (const { r, seen, udp } of results) {
      const dial = dialResult(seen)
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}: ${JSON.stringify(dial?.paths)} ${r.failureReason}`).toBe('direct')
      // TCP punching works here too since the cone ↔ symmetric fix: either path may win, the other says why it did not
      const won = dial?.path
      expect(won === 'tcp' || won === 'webrtc', `trial ${r.trial}: ${String(won)}`).toBe(true)
      const lost = won === 'tcp' ? 'webrtc' : 'tcp'
      expect(dial?.paths?.[won as 'tcp' | 'webrtc']).toMatch(/^won after \d+ ms$/)
      expect(dial?.paths?.[lost]).toMatch(new RegExp(`^(lost: ${String(won)} was direct first|failed: .+|direct too, .+|not tried: .+)$`))
      // peer-b holds the same direct connection
      expect(r.remoteDirect, `trial ${r.trial}: peer-b did not report the direct connection`).toBe(true)
      if (won === 'webrtc') {
        expect(r.remoteDirectAddr).toContain('/webrtc')
        // seen from outside: UDP went straight between the two routers, both ways
        expect(udp.out, `trial ${r.trial}`).toBeGreaterThan(0)
        expect(udp.in, `trial ${r.trial}`).toBeGreaterThan(0)
      } else {
        expect(r.remoteDirectAddr).not.toContain('/webrtc')
      }
    }
  }, 600_000)
})

describeLab('port-restricted ↔ port-restricted, routers that reset unsolicited inbound, default paths', () => {
  it(`direct in ${TRIALS}/${TRIALS} trials, with the winning path reported and held by both peers`, async () => {
    const results: Array<{ r: TrialResult, seen: Seen[] }> = []
    for (let i = 1; i <= TRIALS; i++) {
      const t = await trial({ a: 'port-restricted', b: 'port-restricted', inbound: 'reset', transport: 'tcp', paths: 'auto', trial: i, dialTimeoutMs: 25_000 })
      results.push(t)
      await expectNothingLeft(t.r)
    }
    console.info(`reset routers, auto: ${results.map(({ r }) => `${r.outcome}${r.path != null ? ` over ${r.path}` : ''} (${JSON.stringify(r.paths)})`).join('; ')}`)
    for (const { r, seen } of results) {
      const dial = dialResult(seen)
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}: ${JSON.stringify(dial?.paths)} ${r.failureReason}`).toBe('direct')
      expect(r.path).toBe(dial?.path)
      const path = dial?.path
      expect(['tcp', 'webrtc']).toContain(path)
      expect(dial?.paths?.[path as 'tcp']).toMatch(/^won after \d+ ms$/)
      // the reported path is the connection's: a punched TCP mapping of router-b, or WebRTC
      if (path === 'tcp') expect(r.directAddr).toMatch(/^\/ip4\/11\.0\.2\.1\/tcp\/4100\//)
      else expect(r.directAddr).toContain('/webrtc/')
      expect(r.remoteDirect, `trial ${r.trial}: peer-b did not report the direct connection`).toBe(true)
    }
  }, 600_000)
})

/** Drops every UDP packet router-a would forward between its WAN and router-b's (ICE checks; STUN to the relay passes). */
async function blockUdp (lab: Lab): Promise<void> {
  await nft(lab, 'router-a', ['add', 'table', 'inet', `${TABLE}_block`])
  await nft(lab, 'router-a', ['add', 'chain', 'inet', `${TABLE}_block`, 'block', '{ type filter hook forward priority -20; policy accept; }'])
  await nft(lab, 'router-a', ['add', 'rule', 'inet', `${TABLE}_block`, 'block', 'ip', 'daddr', WAN_B, 'meta', 'l4proto', 'udp', 'drop'])
  await nft(lab, 'router-a', ['add', 'rule', 'inet', `${TABLE}_block`, 'block', 'ip', 'saddr', WAN_B, 'meta', 'l4proto', 'udp', 'drop'])
}

/** TCP between the two routers dropped at router-a (the relay path does not use it), in a table of its own. */
async function blockTcp (lab: Lab): Promise<void> {
  await nft(lab, 'router-a', ['add', 'table', 'inet', `${TABLE}_tcp`])
  await nft(lab, 'router-a', ['add', 'chain', 'inet', `${TABLE}_tcp`, 'block', '{ type filter hook forward priority -20; policy accept; }'])
  await nft(lab, 'router-a', ['add', 'rule', 'inet', `${TABLE}_tcp`, 'block', 'ip', 'daddr', WAN_B, 'meta', 'l4proto', 'tcp', 'drop'])
  await nft(lab, 'router-a', ['add', 'rule', 'inet', `${TABLE}_tcp`, 'block', 'ip', 'saddr', WAN_B, 'meta', 'l4proto', 'tcp', 'drop'])
}

async function unblockUdp (lab: Lab): Promise<void> {
  await nft(lab, 'router-a', ['delete', 'table', 'inet', `${TABLE}_block`])
}

/**
 * Both peers agree: peer-a's verdict is direct and peer-b holds a direct
 * connection from it, or peer-a's verdict is relayed and peer-b neither
 * counted a direct connection (no hole punch success) nor closed the relayed
 * one before peer-a's verdict.
 */
function expectAgreement (r: TrialResult, seen: Seen[], label: string): 'direct' | 'relayed' {
  const dial = dialResult(seen)
  if (dial == null) expect.fail(`${label}: no dial result`)
  const aId = dial.peerId
  const at = Date.parse(dial.ts)
  const fromB = seen.filter(s => s.role === 'peer-b' && 'remotePeer' in s.e && s.e.remotePeer === aId)
  const bSuccess = fromB.filter(s => s.e.event === 'holepunch:success')
  const bClosedRelayed = fromB.filter(s => s.e.event === 'peer:disconnect' && (s.e.remoteAddr ?? '').includes('/p2p-circuit/p2p/') && Date.parse(s.e.ts) <= at)
  if (dial.outcome === 'direct') {
    expect(r.remoteDirect, `${label}: peer-a is direct (${dial.remoteAddr}) but peer-b has no direct connection from it`).toBe(true)
    return 'direct'
  }
  expect(dial.outcome, `${label}: ${dial.reason}`).toBe('relayed')
  expect(bSuccess.map(s => s.e), `${label}: peer-b counted a direct connection peer-a does not have`).toEqual([])
  expect(bClosedRelayed.map(s => s.e), `${label}: peer-b closed the relayed connection before peer-a's verdict`).toEqual([])
  return 'relayed'
}

describeLab('agreement when ICE is slow (UDP between the routers blocked for a while)', () => {
  /** When router-a lets UDP between the routers through again (after peer-a's relayed connection opened), and the verdict expected. */
  const CASES: Array<[string, number | undefined, 'direct' | 'relayed' | 'either']> = [
    // ICE then completes after ~7-9 s: later than the 6 s at which the dialer's
    // WebRTC dial used to give up while the listener went on and succeeded
    ['lifted after 3 s', 3_000, 'direct'],
    // about where ICE stops retrying (measured: 5 s direct, 5.5 s relayed)
    ['lifted after 6 s', 6_000, 'either'],
    ['never lifted', undefined, 'relayed']
  ]
  it.each(CASES)('%s: both peers report direct, or both relayed with the relayed connection alive', async (label, liftAfterMs, expected) => {
    let lab: Lab | undefined
    let timer: NodeJS.Timeout | undefined
    let lifted: Promise<void> | undefined
    const { r, seen } = await trial({
      a: 'address-restricted',
      b: 'symmetric',
      transport: 'tcp',
      paths: 'auto',
      dialTimeoutMs: 18_000,
      // TCP between the routers dropped for the whole trial: only WebRTC can make it direct
      setup: async (l) => { lab = l; await blockTcp(l); await blockUdp(l) },
      onEvent: (role, e) => {
        if (role !== 'peer-a' || e.event !== 'peer:connect' || !e.limited || !e.remoteAddr.includes('/p2p-circuit/') || timer != null || liftAfterMs == null) return
        timer = setTimeout(() => { if (lab != null) lifted = unblockUdp(lab) }, liftAfterMs)
      },
      inspect: async () => { clearTimeout(timer); await lifted }
    })
    clearTimeout(timer)
    await expectNothingLeft(r)
    expect(r.error).toBeUndefined()
    const verdict = expectAgreement(r, seen, label)
    const dial = dialResult(seen)
    console.info(`slow ICE, ${label}: ${verdict} ${JSON.stringify(dial?.paths)}`)
    if (expected !== 'either') expect(verdict, JSON.stringify(dial?.paths)).toBe(expected)
    if (verdict === 'direct') {
      expect(dial?.path).toBe('webrtc')
      // ICE really was slowed down: the WebRTC connection opened after the block was lifted
      expect(Number(/^won after (\d+) ms$/.exec(dial?.paths?.webrtc ?? '')?.[1])).toBeGreaterThanOrEqual(liftAfterMs ?? Infinity)
    }
  }, 120_000)
})
