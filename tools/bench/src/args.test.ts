import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { main } from './cli.js'
import { BenchUsageError, DEFAULT_CIRCUITS, DEFAULT_RESERVATIONS, FULL_CIRCUITS, FULL_RESERVATIONS, parseBenchArgs } from './args.js'
import { parseProcStat } from '@natkit/testkit/proc'
import { LabReportError, ratios, timeToDirectByPair } from './report.js'
import { relayCommand } from './relay-proc.js'
import { DEFAULT_THROUGHPUT_MIB, DEFAULT_THROUGHPUT_RUNS } from './throughput.js'
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
    expect(d).toMatchObject({ throughputMiB: DEFAULT_THROUGHPUT_MIB, throughputRuns: DEFAULT_THROUGHPUT_RUNS, labReport: 'reports/matrix.json' })
    expect(parseBenchArgs(['--throughput', '0', '--throughput-runs', '5', '--lab-report', 'reports/matrix-smoke.json'])).toMatchObject({ throughputMiB: 0, throughputRuns: 5, labReport: 'reports/matrix-smoke.json' })
    expect(() => parseBenchArgs(['--throughput', '2000'])).toThrow(/--throughput must be between 0 and 1024, got 2000/)
    expect(() => parseBenchArgs(['--throughput-runs', '0'])).toThrow(/--throughput-runs must be between 1 and 20, got 0/)
  })

  it('the relayed connection\'s data limit reaches both relays\' command lines', () => {
    const limits = { reservations: 10, circuits: 2, concurrency: 2, circuitDataBytes: 5_000_000 }
    for (const impl of ['natkit', 'go'] as const) {
      const args = relayCommand(impl, limits).args
      expect(args[args.indexOf('--circuit-data') + 1], impl).toBe('5000000')
    }
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

describe('timeToDirectByPair', () => {
  const result = (a: string, b: string, delay: string, direct: boolean, ms?: number): Record<string, unknown> => ({ a, b, delay, direct, ...(ms != null ? { timeToDirectMs: ms } : {}) })

  it('per NAT pair and delay: trials, how many went direct, the spread of their time to direct (nearest rank, as the circuits\' p50/p99)', () => {
    const results = [
      ...[100, 200, 300, 400, 500, 600, 700, 800, 900, 1000].map(ms => result('full-cone', 'none', 'zero', true, ms)),
      result('full-cone', 'none', 'zero', false),
      result('full-cone', 'none', 'interop', true, 1500),
      result('symmetric', 'symmetric', 'zero', false)
    ]
    const s = timeToDirectByPair({ label: 'm', finished: '2026-12-01T00:00:00Z', results }, 'reports/m.json')
    expect(s).toMatchObject({ source: 'reports/m.json', label: 'm', finished: '2026-12-01T00:00:00Z' })
    expect(s.cells).toEqual([
      { pair: 'full-cone:none', delay: 'zero', trials: 11, direct: 10, p10Ms: 100, p50Ms: 500, p90Ms: 900, maxMs: 1000 },
      { pair: 'full-cone:none', delay: 'interop', trials: 1, direct: 1, p10Ms: 1500, p50Ms: 1500, p90Ms: 1500, maxMs: 1500 },
      { pair: 'symmetric:symmetric', delay: 'zero', trials: 1, direct: 0, p10Ms: undefined, p50Ms: undefined, p90Ms: undefined, maxMs: undefined }
    ])
  })

  it('something else is one clear error naming the file', () => {
    expect(() => timeToDirectByPair({ rows: [] }, 'x.json')).toThrow(new LabReportError('x.json is not a lab matrix report (no "results" list)'))
    expect(() => timeToDirectByPair({ results: [{ a: 'full-cone' }] }, 'x.json')).toThrow(/x\.json: a result without "a", "b" or "delay"/)
  })
})

describe('natkit-bench --lab-report', () => {
  it('a file that is not a lab matrix report stops the bench before any relay runs: exit 2, one line naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natkit-bench-'))
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      writeFileSync(join(dir, 'bad.json'), '{"results": 3}')
      writeFileSync(join(dir, 'broken.json'), '{"results": [')
      expect(await main(['--lab-report', join(dir, 'bad.json'), '--out', join(dir, 'out.json')])).toBe(2)
      expect(await main(['--lab-report', join(dir, 'broken.json'), '--out', join(dir, 'out.json')])).toBe(2)
      expect(errors.mock.calls.map(c => String(c[0]))).toEqual([
        `natkit-bench: --lab-report ${join(dir, 'bad.json')} is not a lab matrix report (no "results" list)`,
        expect.stringMatching(new RegExp(`^natkit-bench: --lab-report ${join(dir, 'broken.json')}: .*JSON`))
      ])
    } finally {
      errors.mockRestore()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
