import { describe, expect, it } from 'vitest'
import { BenchUsageError, DEFAULT_CIRCUITS, DEFAULT_RESERVATIONS, FULL_CIRCUITS, FULL_RESERVATIONS, parseBenchArgs } from './args.js'
import { parseProcStat } from '@natkit/testkit/proc'
import { ratios } from './report.js'
import type { RelayRun } from './bench.js'

describe('parseBenchArgs', () => {
  it('defaults are the small run; --full is issue 14\'s sizes; explicit counts win', () => {
    const d = parseBenchArgs([])
    expect(d).toMatchObject({ relays: ['natkit'], reservations: DEFAULT_RESERVATIONS, circuits: DEFAULT_CIRCUITS, circuitSources: 0, out: 'reports/bench.json', svg: 'reports/bench.svg' })
    expect(parseBenchArgs(['--full'])).toMatchObject({ reservations: FULL_RESERVATIONS, circuits: FULL_CIRCUITS })
    expect(parseBenchArgs(['--full', '--circuits', '5'])).toMatchObject({ reservations: FULL_RESERVATIONS, circuits: 5 })
    expect(parseBenchArgs(['--relay', 'both']).relays).toEqual(['natkit', 'go'])
    expect(parseBenchArgs(['--relay', 'go', '--idle', '0', '--phase-timeout', '10']).relays).toEqual(['go'])
    expect(parseBenchArgs(['--phase-timeout', '10']).phaseTimeoutMs).toBe(10_000)
  })

  it('bad input is one clear error naming the flag', () => {
    expect(() => parseBenchArgs(['--relay', 'rust'])).toThrow(new BenchUsageError('--relay must be natkit, go or both, got "rust"'))
    expect(() => parseBenchArgs(['--reservations', '1'])).toThrow(/--reservations must be between 2 and 100000, got 1/)
    expect(() => parseBenchArgs(['--circuits', 'many'])).toThrow(/--circuits must be a whole number, got "many"/)
    expect(() => parseBenchArgs(['--nope'])).toThrow(BenchUsageError)
  })
})

describe('parseProcStat', () => {
  it('reads utime + stime (ticks) and rss (pages), with spaces and parentheses in the command name', () => {
    // fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads itreal start vsize rss
    const text = '1234 (node (x) y) S 1 1 1 0 -1 0 0 0 0 0 150 50 0 0 20 0 11 0 100 1000000 2560 0'
    expect(parseProcStat(text)).toEqual({ cpuMs: 2000, rssBytes: 2560 * 4096 })
  })
})

describe('ratios', () => {
  const run = (relay: 'natkit' | 'go', cpu: number, requested = 10): RelayRun => ({
    relay,
    loadavgBefore: [],
    loadavgAfter: [],
    baseline: { rssMiB: 1, cpuMs: 0 },
    reservations: { requested, granted: requested, reservationsPerS: 10, cpuMsPerReservation: cpu, stages: [] as unknown as RelayRun['reservations']['stages'], cpuGrowth: 1 },
    idle: { seconds: 1, cpuCores: 0, rssKiBPerReservation: 4, rssMiB: 2, connectionsLost: 0, lostReasons: {} },
    loadGeneratorCpuMs: 0,
    relayEventLines: 0
  })

  it('natkit over go per figure, only for runs of the same sizes', () => {
    expect(ratios(run('natkit', 6), run('go', 2))).toMatchObject({ cpuMsPerReservation: 3, reservationsPerS: 1, idleRssKiBPerReservation: 1 })
    expect(ratios(run('natkit', 6), run('go', 2, 20))).toBeUndefined()
    expect(ratios(run('natkit', 6), undefined)).toBeUndefined()
  })
})
