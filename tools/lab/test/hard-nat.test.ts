/**
 * Hard NATs (issue 13 parts 2-3): a symmetric NAT with predictable
 * (sequential) port allocation on one side, a port-restricted cone on the
 * other, TCP only. The hard side tells the easy side, in natkit's DCUtR
 * mapping extension, that its NAT maps per destination and which port it was
 * last seen at; the easy side dials a window of its next ports from its listen
 * port while the hard side dials the easy side's mapping: the new mapping lands
 * on a predicted port and the two SYNs meet (TCP simultaneous open).
 *
 * Success is judged from outside the peers too: a counter in router-b (the
 * easy side's router) counts the SYNs peer-b sent toward router-a's WAN,
 * bounding the probes. The easy pair (port-restricted on both sides) must stay
 * plain DCUtR (no prediction fields in its events).
 */
import { describe, expect, it } from 'vitest'
import { DELAY_PROFILES, runTrial, type DelayProfileName, type Lab, type NatProfile, type TrialResult } from '../src/index.js'
import { expectNothingLeft, labSkipReason } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { NatkitEvent } from '@natkit/events'

/** Trials per cell. */
const TRIALS = Number(process.env.NATKIT_HARDNAT_TRIALS ?? 3)
/** Link delay profile of every trial (e.g. `interop`). */
const DELAY = (process.env.NATKIT_HARDNAT_DELAY ?? 'zero') as DelayProfileName
if (!Object.hasOwn(DELAY_PROFILES, DELAY)) throw new Error(`NATKIT_HARDNAT_DELAY: unknown delay profile ${DELAY}`)
/** nft table this file adds to the easy side's router, beside the lab's own. */
const TABLE = 'natkit_hardnat'
/** The holepunch defaults the bounds are checked against (DEFAULT_MAX_PROBES, DEFAULT_PREDICTION_WINDOW). */
const MAX_PROBES = 1024
const WINDOW = 16

interface Seen { role: string, e: NatkitEvent }

async function nft (lab: Lab, router: string, args: string[]): Promise<string> {
  const res = await lab.run(router, 'nft', args, { timeoutMs: 5_000 })
  if (res.code !== 0) throw new Error(`nft ${args.join(' ')} in ${router}: ${res.stderr.trim()}`)
  return res.stdout
}

type Side = 'a' | 'b'
const other = (side: Side): Side => side === 'a' ? 'b' : 'a'
const wan = (side: Side): string => `11.0.${side === 'a' ? 1 : 2}.1`

/** Counts the TCP SYNs (without ACK) router-`side` forwards from its LAN to the other router's WAN: its peer's punch dials and probes. */
async function addSynCounter (lab: Lab, side: Side): Promise<void> {
  const router = `router-${side}`
  await nft(lab, router, ['add', 'table', 'inet', TABLE])
  await nft(lab, router, ['add', 'chain', 'inet', TABLE, 'count', '{ type filter hook forward priority -10; policy accept; }'])
  await nft(lab, router, ['add', 'rule', 'inet', TABLE, 'count', 'iifname', '"lan"', 'ip', 'daddr', wan(other(side)), 'tcp', 'flags', '&', '(syn|ack)', '==', 'syn', 'counter', 'comment', '"syn"'])
}

async function readSynCounter (lab: Lab, side: Side): Promise<number> {
  const text = await nft(lab, `router-${side}`, ['list', 'table', 'inet', TABLE])
  return Number(/counter packets (\d+) bytes \d+ comment "syn"/.exec(text)?.[1] ?? NaN)
}

interface Cell { r: TrialResult, seen: Seen[], syns: number }

/** `easy`: the side whose router counts SYNs toward the other side. */
async function trials (a: NatProfile, b: NatProfile, easy: Side = 'b'): Promise<Cell[]> {
  const out: Cell[] = []
  for (let i = 1; i <= TRIALS; i++) {
    const seen: Seen[] = []
    let syns = NaN
    const r = await runTrial({
      a,
      b,
      transport: 'tcp',
      trial: i,
      delay: DELAY,
      dialTimeoutMs: 25_000,
      onEvent: (role, e) => { seen.push({ role, e }) },
      setup: async (lab) => { await addSynCounter(lab, easy) },
      inspect: async (lab) => { syns = await readSynCounter(lab, easy) }
    })
    out.push({ r, seen, syns })
    await expectNothingLeft(r)
  }
  return out
}

const events = (seen: Seen[], role: string, name: string): Array<NatkitEvent & Record<string, unknown>> =>
  seen.filter(s => s.role === role && s.e.event === name).map(s => s.e as NatkitEvent & Record<string, unknown>)

const describeLab = describe.skipIf(missingPrerequisite(labSkipReason))

describeLab('predictable symmetric ↔ port-restricted over TCP (port prediction)', () => {
  for (const hard of ['a', 'b'] as const) {
    const easy = other(hard)
    const a: NatProfile = hard === 'a' ? 'symmetric-sequential' : 'port-restricted'
    const b: NatProfile = hard === 'b' ? 'symmetric-sequential' : 'port-restricted'
    it(`${a} (a) ↔ ${b} (b): direct in ${TRIALS}/${TRIALS}, the easy side (peer-${easy}) predicts, probes within bounds`, async () => {
      const cells = await trials(a, b, easy)
      console.info(`${a} ↔ ${b}: ${cells.map(({ r, seen, syns }) => `${r.outcome} in ${r.timeToDirectMs ?? '-'} ms (probes ${events(seen, `peer-${easy}`, 'holepunch:success').map(e => e.probes).join('/') || '-'}, router-${easy} SYNs ${syns})${r.failureReason != null ? ` ${r.failureReason}` : ''}`).join('; ')}`)
      for (const { r, seen, syns } of cells) {
        expect(r.error, `trial ${r.trial}`).toBeUndefined()
        expect(r.outcome, `trial ${r.trial}: ${r.failureReason}`).toBe('direct')
        expect(r.remoteDirect, `trial ${r.trial}: peer-b did not report the direct connection`).toBe(true)
        // the hard side is seen at a port of router-${hard}'s sequential range (20000+), not its listen port
        const hardSeen = hard === 'a' ? r.remoteDirectAddr : r.directAddr
        expect(hardSeen).toMatch(new RegExp(`^/ip4/${wan(hard).replaceAll('.', '\\.')}/tcp/2\\d{4}(/|$)`))
        // the easy side predicted (with one observer the allocation is not known yet, so random
        // probes would follow the window): its success says so, and a hit within the
        // predicted window (sent first, 4 ms apart) ends the probing after few probes
        const success = events(seen, `peer-${easy}`, 'holepunch:success').at(-1)
        expect(success?.strategy, `trial ${r.trial}`).toMatch(/^predict/)
        expect(success?.probes).toBeGreaterThan(0)
        expect(success?.probes as number).toBeLessThanOrEqual(WINDOW * 2)
        // seen from outside: the easy side's SYNs toward the hard side's router, kernel retransmissions included, within the bound
        expect(syns, `trial ${r.trial}`).toBeGreaterThan(0)
        expect(syns).toBeLessThanOrEqual(MAX_PROBES)
      }
    }, 600_000)
  }
})

describeLab('random symmetric ↔ port-restricted over TCP (birthday probing)', () => {
  for (const hard of ['a', 'b'] as const) {
    const easy = other(hard)
    const a: NatProfile = hard === 'a' ? 'symmetric' : 'port-restricted'
    const b: NatProfile = hard === 'b' ? 'symmetric' : 'port-restricted'
    it(`${a} (a) ↔ ${b} (b): the easy side (peer-${easy}) probes random ports within bounds; direct rate reported`, async () => {
      const cells = await trials(a, b, easy)
      console.info(`${a} ↔ ${b}: ${cells.map(({ r, seen, syns }) => `${r.outcome} in ${r.timeToDirectMs ?? '-'} ms (${events(seen, `peer-${easy}`, 'holepunch:success').map(e => `${String(e.strategy)} probes ${String(e.probes)}`).join('/') || '-'}, hard side ${events(seen, `peer-${hard}`, 'holepunch:success').map(e => `${String(e.strategy)} sockets ${String(e.probes)}`).join('/') || '-'}, router-${easy} SYNs ${syns})${r.failureReason != null ? ` ${r.failureReason}` : ''}`).join('; ')}`)
      for (const { r, syns } of cells) {
        expect(r.error, `trial ${r.trial}`).toBeUndefined()
        // outside view of the bound: every probe is one SYN (given up before the first retransmission), plus the plain DCUtR dials
        expect(syns, `trial ${r.trial}`).toBeLessThanOrEqual(MAX_PROBES * 3 + 100)
      }
      const direct = cells.filter(c => c.r.outcome === 'direct').length
      expect(direct, 'no trial went direct').toBeGreaterThan(0)
    }, 600_000)
  }
})

describeLab('symmetric ↔ symmetric stays relayed and says why', () => {
  it(`symmetric-sequential (a) ↔ symmetric (b): relayed in ${TRIALS}/${TRIALS}, no probes, the reason names both NATs' behaviour`, async () => {
    const cells = await trials('symmetric-sequential', 'symmetric')
    for (const { r, seen } of cells) {
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}`).toBe('relayed')
      expect(r.failureReason).toMatch(/^symmetric-nat-suspected: .*the peer's NAT maps per destination too .*both NATs are symmetric/)
      // neither side probed
      for (const role of ['peer-a', 'peer-b']) {
        for (const e of events(seen, role, 'holepunch:failure')) expect(e.probes).toBeUndefined()
      }
    }
  }, 600_000)
})

describeLab('easy pair unchanged', () => {
  it(`port-restricted ↔ port-restricted: direct in ${TRIALS}/${TRIALS} with plain DCUtR (no prediction)`, async () => {
    const cells = await trials('port-restricted', 'port-restricted')
    for (const { r, seen } of cells) {
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}: ${r.failureReason}`).toBe('direct')
      for (const role of ['peer-a', 'peer-b']) {
        for (const e of events(seen, role, 'holepunch:success')) {
          expect(e.strategy).toBeUndefined()
          expect(e.probes).toBeUndefined()
        }
      }
    }
  }, 600_000)
})
