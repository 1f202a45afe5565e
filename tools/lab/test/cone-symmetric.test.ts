/**
 * A cone NAT on one side, a symmetric NAT on the other, TCP only (issue 10:
 * "address-restricted or full-cone ↔ symmetric: direct"). The symmetric side's SYN leaves from a
 * new mapping the cone side never dialled, so it can only meet the cone
 * side's listener (a full-cone router admits anyone to an existing mapping):
 * no TCP simultaneous open, the symmetric side must dial as the libp2p
 * initiator. Both orders: the symmetric side as DCUtR initiator (peer-b) and
 * as responder (peer-a).
 */
import { describe, expect, it } from 'vitest'
import { listLeftovers, runTrial, type NatProfile, type TrialResult } from '../src/index.js'
import { labSkipReason } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'

/** Trials per order. */
const TRIALS = 3

async function trials (a: NatProfile, b: NatProfile): Promise<TrialResult[]> {
  const results: TrialResult[] = []
  for (let i = 1; i <= TRIALS; i++) {
    const r = await runTrial({ a, b, transport: 'tcp', trial: i, dialTimeoutMs: 25_000 })
    results.push(r)
    const left = await listLeftovers(r.prefix)
    expect(left).toEqual({ namespaces: [], links: [], tables: [] })
  }
  return results
}

/** The cone side's router WAN (its mapping keeps the listen port 4100). */
const coneMapping = (side: 'a' | 'b'): RegExp => new RegExp(`^/ip4/11\\.0\\.${side === 'a' ? 1 : 2}\\.1/tcp/4100(/|$)`)
/** The symmetric side's router WAN, any (random) port. */
const symmetricMapping = (side: 'a' | 'b'): RegExp => new RegExp(`^/ip4/11\\.0\\.${side === 'a' ? 1 : 2}\\.1/tcp/\\d+(/|$)`)

describe.skipIf(missingPrerequisite(labSkipReason))('full-cone ↔ symmetric over TCP', () => {
  it(`full-cone (a) ↔ symmetric (b, the DCUtR initiator): direct in ${TRIALS}/${TRIALS}, seen from both sides`, async () => {
    for (const r of await trials('full-cone', 'symmetric')) {
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}: ${r.failureReason}`).toBe('direct')
      // peer-a sees peer-b through router-b's new per-destination mapping; peer-b dialled router-a's cone mapping
      expect(r.directAddr).toMatch(symmetricMapping('b'))
      expect(r.remoteDirect, `trial ${r.trial}: peer-b did not report the direct connection`).toBe(true)
      expect(r.remoteDirectAddr).toMatch(coneMapping('a'))
    }
  }, 300_000)

  it(`symmetric (a) ↔ full-cone (b): direct in ${TRIALS}/${TRIALS}, seen from both sides`, async () => {
    for (const r of await trials('symmetric', 'full-cone')) {
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}: ${r.failureReason}`).toBe('direct')
      expect(r.directAddr).toMatch(coneMapping('b'))
      expect(r.remoteDirect, `trial ${r.trial}: peer-b did not report the direct connection`).toBe(true)
      expect(r.remoteDirectAddr).toMatch(symmetricMapping('a'))
    }
  }, 300_000)
})

/**
 * address-restricted ↔ symmetric: the cone side's own SYN to the symmetric
 * side's observed mapping opens its filter for that address (any port), so the
 * symmetric side's SYN from its new mapping reaches the cone side's listener
 * once that SYN has left (the kernel's SYN retransmission covers the order).
 */
describe.skipIf(missingPrerequisite(labSkipReason))('address-restricted ↔ symmetric over TCP', () => {
  it(`address-restricted (a) ↔ symmetric (b): direct in ${TRIALS}/${TRIALS}`, async () => {
    for (const r of await trials('address-restricted', 'symmetric')) {
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}: ${r.failureReason}`).toBe('direct')
      expect(r.directAddr).toMatch(symmetricMapping('b'))
      expect(r.remoteDirectAddr).toMatch(coneMapping('a'))
    }
  }, 300_000)

  it(`symmetric (a) ↔ address-restricted (b): direct in ${TRIALS}/${TRIALS}`, async () => {
    for (const r of await trials('symmetric', 'address-restricted')) {
      expect(r.error, `trial ${r.trial}`).toBeUndefined()
      expect(r.outcome, `trial ${r.trial}: ${r.failureReason}`).toBe('direct')
      expect(r.directAddr).toMatch(coneMapping('b'))
      expect(r.remoteDirectAddr).toMatch(symmetricMapping('a'))
    }
  }, 300_000)
})
