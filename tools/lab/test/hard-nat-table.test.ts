/**
 * The hard-NAT bench's rows and table without a lab: what counts as direct,
 * which side's probes are reported, the failure reasons.
 */
import { describe, expect, it } from 'vitest'
import { HARD_NAT_CELLS, countsDirect, formatHardNatTable, hardNatRow } from '../src/index.js'
import type { HardNatCell, HardNatTrial, TrialResult } from '../src/index.js'

const cell = HARD_NAT_CELLS.find(c => c.a === 'symmetric' && c.b === 'port-restricted') as HardNatCell

function trial (n: number, r: Partial<TrialResult>, easyProbes?: number, hardSockets?: number): HardNatTrial {
  return {
    cell: cell.name,
    delay: 'zero',
    trial: n,
    r: { outcome: 'direct', ...r } as TrialResult,
    a: { syns: { listen: 1, other: 300, otherPorts: hardSockets ?? 0 }, ...(hardSockets != null ? { outcome: { event: 'holepunch:success', strategy: 'birthday', probes: hardSockets } } : {}) },
    b: { syns: { listen: (easyProbes ?? 0) + 1, other: 0, otherPorts: 0 }, ...(easyProbes != null ? { outcome: { event: 'holepunch:success', strategy: 'birthday', probes: easyProbes } } : {}) },
    events: []
  }
}

describe('hard-NAT rows', () => {
  it('a direct trial past the cell\'s time bound does not count; ranges come from the easy and hard sides', () => {
    const trials = [
      trial(1, { timeToDirectMs: 800 }, 120, 100),
      trial(2, { timeToDirectMs: 3_000 }, 500, 256),
      trial(3, { timeToDirectMs: 16_000 }, 1024, 256),
      trial(4, { outcome: 'relayed', failureReason: 'timeout: no direct connection' })
    ]
    expect(countsDirect(cell, trials[2] as HardNatTrial)).toBe(false)
    const row = hardNatRow(cell, trials)
    expect(row).toMatchObject({ trials: 4, direct: 2, timeToDirectMs: { min: 800, median: 800, max: 3_000 }, easyProbes: { min: 120, max: 1024 }, hardSockets: { min: 100, max: 256 }, strategies: ['birthday', 'dcutr'], failures: { 'too-slow': 1, timeout: 1 } })
    const table = formatHardNatTable([row])
    expect(table.split('\n')).toHaveLength(3)
    expect(table).toContain('| symmetric ↔ port-restricted | zero | 2/4 | 800 / 800 / 3000 ms | 120–1024 | 100–256 |')
  })
})
