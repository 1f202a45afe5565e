/**
 * Hard NATs (issue 13): every cell of `HARD_NAT_CELLS` (tools/lab/src/hard-nat.ts)
 * at each delay, TCP only. Each peer discovers its NAT at start through the
 * relay's STUN server (`nat` event) and tells the other side in natkit's
 * DCUtR mapping field whether it maps per destination and how its ports are
 * allocated: the easy side facing a sequential NAT predicts a window of its
 * next ports, facing a random one it probes random ports while the hard side
 * opens up to 256 mappings toward it; two symmetric NATs stay relayed.
 *
 * Counted outside the peers: both routers count the SYNs their peer sends
 * toward the other router, from its listen port (plain dials, probes) and from
 * other ports, and the distinct other ports (each a mapping: the hard side's
 * birthday mappings). `NATKIT_HARDNAT_TRIALS`
 * trials per cell (default 1: CI), `NATKIT_HARDNAT_DELAY` a comma list of
 * delay profiles (default `zero,interop`). `NATKIT_HARDNAT_CELLS` (comma list
 * of cell indexes) runs a subset.
 */
import { describe, expect, it } from 'vitest'
import { DELAY_PROFILES, HARD_NAT_CELLS, countsDirect, formatHardNatTable, hardNatRow, runHardNatTrial, type DelayProfileName, type HardNatCell, type HardNatTrial } from '../src/index.js'
import { expectNothingLeft, labSkipReason } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'

/** Trials per cell. */
const TRIALS = Number(process.env.NATKIT_HARDNAT_TRIALS ?? 1)
if (!Number.isInteger(TRIALS) || TRIALS < 1 || TRIALS > 100) throw new Error(`NATKIT_HARDNAT_TRIALS: an integer in 1-100, got ${process.env.NATKIT_HARDNAT_TRIALS}`)
/** Delay profiles every cell runs at. */
const DELAYS = (process.env.NATKIT_HARDNAT_DELAY ?? 'zero,interop').split(',').map(s => s.trim()) as DelayProfileName[]
for (const d of DELAYS) if (!Object.hasOwn(DELAY_PROFILES, d)) throw new Error(`NATKIT_HARDNAT_DELAY: unknown delay profile ${d}`)
const CELLS = process.env.NATKIT_HARDNAT_CELLS == null ? HARD_NAT_CELLS : process.env.NATKIT_HARDNAT_CELLS.split(',').map(i => HARD_NAT_CELLS[Number(i)] as HardNatCell)
/** The holepunch defaults the bounds are checked against (DEFAULT_MAX_PROBES, DEFAULT_PREDICTION_WINDOW, DEFAULT_BIRTHDAY_SOCKETS, natkit-peer's default attempts). */
const MAX_PROBES = 1024
const WINDOW = 16
const BIRTHDAY_SOCKETS = 256
const ATTEMPTS = 3
/** Ephemeral source ports a side dials from besides birthday mappings (plain DCUtR's ephemeral dial per attempt, its resends). */
const PLAIN_EPHEMERAL_SYNS = 12

/**
 * What discovery at start through the relay's STUN server and its alternate
 * (`--stun-alternate`, two observer addresses) finds per profile; inbound stays
 * unknown (no TCP connect-back at start).
 */
const DISCOVERED: Partial<Record<string, { mapping: string, filtering: string, allocation: string, stride?: number, inbound: string }>> = {
  'symmetric-sequential': { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', allocation: 'sequential', stride: 1, inbound: 'unknown' },
  symmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', allocation: 'random', inbound: 'unknown' },
  'port-restricted': { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', allocation: 'preserving', inbound: 'unknown' },
  'address-restricted': { mapping: 'endpoint-independent', filtering: 'address-dependent', allocation: 'preserving', inbound: 'unknown' },
  'full-cone': { mapping: 'endpoint-independent', filtering: 'endpoint-independent', allocation: 'preserving', inbound: 'unknown' }
}

const line = (t: HardNatTrial): string => `${t.r.outcome}${t.r.timeToDirectMs != null ? ` in ${t.r.timeToDirectMs} ms` : ''} (a: ${t.a.outcome?.strategy ?? 'dcutr'} ${t.a.outcome?.probes ?? 0}, SYNs ${t.a.syns.listen}+${t.a.syns.other} (${t.a.syns.otherPorts} ephemeral ports); b: ${t.b.outcome?.strategy ?? 'dcutr'} ${t.b.outcome?.probes ?? 0}, SYNs ${t.b.syns.listen}+${t.b.syns.other} (${t.b.syns.otherPorts} ephemeral ports))${t.r.failureReason != null ? ` ${t.r.failureReason.slice(0, 300)}` : ''}`

const describeLab = describe.skipIf(missingPrerequisite(labSkipReason))

describeLab.each(DELAYS)('hard-NAT cells at %s delay (TCP)', (delay) => {
  for (const cell of CELLS) {
    const goal = cell.expect === 'relayed' ? `relayed in ${TRIALS}/${TRIALS}, the reason names both NATs` : `≥ ${Math.round(cell.minDirectRate * 100)} % direct${cell.withinMs != null ? ` within ${cell.withinMs / 1000} s` : ''}`
    it(`${cell.name}: ${goal}`, async () => {
      const trials: HardNatTrial[] = []
      for (let i = 1; i <= TRIALS; i++) {
        const t = await runHardNatTrial(cell, delay, i)
        trials.push(t)
        await expectNothingLeft(t.r)
      }
      console.info(`${cell.name} @ ${delay}:\n${trials.map(t => `  ${t.trial}: ${line(t)}`).join('\n')}\n${formatHardNatTable([hardNatRow(cell, trials)])}`)
      for (const t of trials) {
        expect(t.r.error, `trial ${t.trial}`).toBeUndefined()
        // peer-b ran through the whole trial: its discovery at start ended and classified its NAT
        expect(t.b.nat, `trial ${t.trial}: peer-b's nat event`).toMatchObject(DISCOVERED[cell.b] ?? {})
        for (const side of ['a', 'b'] as const) {
          expect(t[side].syns.listen, `trial ${t.trial} router-${side}`).toBeLessThanOrEqual(MAX_PROBES * 3 + 100)
        }
      }
      if (cell.expect === 'relayed') {
        for (const t of trials) {
          expect(t.r.outcome, `trial ${t.trial}`).toBe('relayed')
          // no strategy applies: one plain attempt, not DEFAULT_ATTEMPTS of them (~7 s each)
          expect(t.r.attempts, `trial ${t.trial}: peer-b's hole punch attempts`).toBe(1)
          // both NATs named: the peer's (from its mapping field) and ours (discovered sequential or random allocation)
          expect(t.r.failureReason).toMatch(/^symmetric-nat-suspected: .*the peer's NAT maps per destination too \((sequential ports, stride 1|random port allocation).*ours: (sequential ports, stride 1|random port allocation)\): both NATs are symmetric/)
          for (const side of ['a', 'b'] as const) {
            expect(t[side].outcome?.probes, `trial ${t.trial}: peer-${side} probed`).toBeUndefined()
            expect(t[side].syns.otherPorts, `trial ${t.trial}: router-${side} ephemeral SYNs`).toBeLessThanOrEqual(PLAIN_EPHEMERAL_SYNS)
          }
        }
        return
      }
      const direct = trials.filter(t => countsDirect(cell, t)).length
      expect(direct, `${direct}/${TRIALS} direct`).toBeGreaterThanOrEqual(Math.ceil(cell.minDirectRate * TRIALS))
      for (const t of trials.filter(t => t.r.outcome === 'direct')) {
        expect(t.r.remoteDirect, `trial ${t.trial}: peer-b did not report the direct connection`).toBe(true)
        if (cell.hard == null) {
          // the easy pair: plain DCUtR, nothing probed
          for (const side of ['a', 'b'] as const) {
            expect(t[side].outcome?.strategy).toBeUndefined()
            expect(t[side].outcome?.probes).toBeUndefined()
          }
          continue
        }
        const easy = cell.hard === 'a' ? 'b' : 'a'
        // the cone side never opens birthday mappings: its ephemeral SYNs are plain DCUtR's at most
        expect(t[easy].syns.otherPorts, `trial ${t.trial}: router-${easy} ephemeral SYNs`).toBeLessThanOrEqual(PLAIN_EPHEMERAL_SYNS)
        // DEFAULT_BIRTHDAY_SOCKETS is per attempt (a retry opens new mappings), all within DEFAULT_MAX_PROBES
        const attempts = Math.max(1, t.r.attempts)
        expect(t[cell.hard].syns.otherPorts, `trial ${t.trial}: router-${cell.hard} ephemeral ports over ${attempts} attempt(s)`).toBeLessThanOrEqual(Math.min(BIRTHDAY_SOCKETS * attempts, MAX_PROBES) + PLAIN_EPHEMERAL_SYNS)
        if (cell.strategy == null) continue
        // the discovered allocation chose one strategy: no random probes beside a sequential window, no window before random probes
        expect(t[easy].outcome?.strategy, `trial ${t.trial}`).toBe(cell.strategy)
        if (cell.strategy === 'predict') {
          expect(t[easy].outcome?.probes as number).toBeLessThanOrEqual(WINDOW * ATTEMPTS)
          // a known sequential hard side opens no birthday mappings either
          expect(t[cell.hard].syns.otherPorts, `trial ${t.trial}: router-${cell.hard} ephemeral SYNs`).toBeLessThanOrEqual(PLAIN_EPHEMERAL_SYNS)
          // its new mapping was on a port of router-${hard}'s sequential range (20000+), not its listen port
          const hardSeen = cell.hard === 'a' ? t.r.remoteDirectAddr : t.r.directAddr
          expect(hardSeen).toMatch(new RegExp(`^/ip4/11\\.0\\.${cell.hard === 'a' ? 1 : 2}\\.1/tcp/2\\d{4}(/|$)`))
        } else {
          expect(t[easy].outcome?.probes as number).toBeLessThanOrEqual(MAX_PROBES)
          expect(t[cell.hard].outcome?.probes as number).toBeLessThanOrEqual(Math.min(BIRTHDAY_SOCKETS * attempts, MAX_PROBES))
        }
      }
    }, 600_000)
  }
})
