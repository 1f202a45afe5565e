/**
 * `natkit-lab matrix` without a lab: dimension parsing, the cells, the bound,
 * the path mapping and the many-panel chart.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  assertMatrixBounded, CONE_SYMMETRIC_PAIRS, DEFAULT_MAX_MATRIX_TRIALS, EIM_PAIRS, InvalidDimensionError, MATRIX_PAIRS, matrixCells, matrixSvg,
  EASY_BASELINE_CELL, MatrixResumeError, MatrixTooLargeError, HARD_NAT_CELLS, matrixCellKey, runHardNatBench, resumeFrom, profilePairs, parseCpuLoad, parseLoss, parseMatrixDimensions, parsePairs, peerPathPlan, summarize, UnsupportedPathError
} from '../src/index.js'
import { labSkipReason, works } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import { waitUntil } from '@natkit/testkit/libp2p'
import type { HardNatTrial, MatrixCell, MatrixReport, TrialResult } from '../src/index.js'

const BIN = fileURLToPath(new URL('../bin/natkit-lab.js', import.meta.url))
const run = promisify(execFile)

async function cli (args: string[], timeout = 30_000): Promise<{ code: number, stdout: string, stderr: string }> {
  return await run(process.execPath, [BIN, ...args], { timeout }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number, stdout: string, stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr })
  )
}

describe('matrix dimensions', () => {
  it('pairs: named sets and A:B pairs, without duplicates', () => {
    expect(parsePairs('default')).toHaveLength(MATRIX_PAIRS.length)
    // every ordered pair of port-restricted, address-restricted, full-cone, upnp, none but none:none
    expect(EIM_PAIRS).toHaveLength(24)
    expect(EIM_PAIRS.some(([a, b]) => a === 'none' && b === 'none')).toBe(false)
    expect(EIM_PAIRS).toContainEqual(['none', 'port-restricted'])
    expect(EIM_PAIRS).toContainEqual(['port-restricted', 'none'])
    expect(EIM_PAIRS).toContainEqual(['upnp', 'full-cone'])
    expect(parsePairs('eim,cone-symmetric')).toHaveLength(24 + CONE_SYMMETRIC_PAIRS.length)
    expect(parsePairs('full-cone:symmetric,cone-symmetric,port-restricted:upnp')).toEqual([['full-cone', 'symmetric'], ['address-restricted', 'symmetric'], ['port-restricted', 'upnp']])
    expect(() => parsePairs('cone:symmetric')).toThrow(InvalidDimensionError)
    expect(() => parsePairs('port-restricted')).toThrow(/use A:B/)
  })

  it('hard-NAT rows (issue 13): the default pairs include them, `--pairs hard-nat` names the cells, `--nat` pairs profiles', () => {
    expect(MATRIX_PAIRS).toEqual(expect.arrayContaining([['symmetric-sequential', 'port-restricted'], ['port-restricted', 'symmetric-sequential'], ['symmetric-sequential', 'symmetric']]))
    expect(parsePairs('hard-nat')).toEqual(HARD_NAT_CELLS.map(c => [c.a, c.b]))
    expect(profilePairs('symmetric-sequential,port-restricted')).toEqual([['symmetric-sequential', 'symmetric-sequential'], ['symmetric-sequential', 'port-restricted'], ['port-restricted', 'port-restricted']])
    const dims = (nat: string, pairs = 'default'): string[] => parseMatrixDimensions({ pairs, nat, inbound: 'drop', paths: 'tcp', delay: 'zero', loss: '0', cpuLoad: 'off' }, true).pairs.map(([a, b]) => `${a}:${b}`)
    // --nat replaces the default pairs, adds to explicit ones (no duplicates)
    expect(dims('symmetric-sequential')).toEqual(['symmetric-sequential:symmetric-sequential'])
    expect(dims('symmetric-sequential', 'symmetric-sequential:symmetric-sequential,full-cone:symmetric')).toEqual(['symmetric-sequential:symmetric-sequential', 'full-cone:symmetric'])
    expect(() => profilePairs('symmetric,cone')).toThrow(/invalid profile "cone" in --nat/)
    expect(() => profilePairs(' , ')).toThrow(InvalidDimensionError)
  })

  it('loss and CPU load values', () => {
    expect(parseLoss('0')).toBe(0)
    expect(parseLoss('1%')).toBe(1)
    expect(parseLoss('2.5 %')).toBe(2.5)
    for (const bad of ['-1', '51%', 'lots', '', '1%%']) expect(() => parseLoss(bad)).toThrow(InvalidDimensionError)
    expect(parseCpuLoad('off,on,on')).toEqual([false, true])
    expect(parseCpuLoad('on')).toEqual([true])
    expect(() => parseCpuLoad('busy')).toThrow(/--cpu-load/)
  })

  it('the full product of every dimension, conditions outermost', () => {
    const dims = parseMatrixDimensions({ pairs: 'port-restricted:port-restricted,full-cone:symmetric', inbound: 'drop,reset', paths: 'tcp,webrtc,auto', delay: 'zero,interop', loss: '0,1%,5%', cpuLoad: 'off,on' }, true)
    const cells = matrixCells(dims)
    expect(cells).toHaveLength(2 * 2 * 3 * 2 * 3 * 2)
    expect(new Set(cells.map(c => JSON.stringify(c))).size).toBe(cells.length)
    // the first cells share every condition and differ in pair and path only
    expect(cells.slice(0, 6).map(c => `${c.a}:${c.b}/${c.path}`)).toEqual([
      'port-restricted:port-restricted/tcp', 'port-restricted:port-restricted/webrtc', 'port-restricted:port-restricted/auto',
      'full-cone:symmetric/tcp', 'full-cone:symmetric/webrtc', 'full-cone:symmetric/auto'
    ])
    expect(new Set(cells.slice(0, 6).map(c => `${c.inbound} ${c.delay} ${c.lossPercent} ${String(c.cpuLoad)}`)).size).toBe(1)
    expect(() => parseMatrixDimensions({ pairs: 'default', inbound: 'drop,ignore', delay: 'zero', loss: '0', cpuLoad: 'off' }, true)).toThrow(/"ignore" in --inbound/)
    expect(() => parseMatrixDimensions({ pairs: 'default', inbound: 'drop', delay: 'zero,slow', loss: '0', cpuLoad: 'off' }, true)).toThrow(/"slow" in --delay/)
  })

  it('default paths: auto only when natkit-peer has --direct-paths', () => {
    const base = { pairs: 'default', inbound: 'drop', delay: 'zero', loss: '0', cpuLoad: 'off' }
    expect(parseMatrixDimensions(base, true).paths).toEqual(['tcp', 'webrtc', 'auto'])
    const old = parseMatrixDimensions(base, false)
    expect(old.paths).toEqual(['tcp', 'webrtc'])
    expect(old.note).toMatch(/--direct-paths/)
  })

  it('refuses a matrix above the bound, naming the numbers', () => {
    expect(assertMatrixBounded(10, 3, 30)).toBe(30)
    expect(() => assertMatrixBounded(10, 4, 30)).toThrow(MatrixTooLargeError)
    expect(() => assertMatrixBounded(DEFAULT_MAX_MATRIX_TRIALS + 1, 1)).toThrow(/= 501 trials, more than --max-trials 500/)
  })
})

describe('direct paths → natkit-peer options (one mapping)', () => {
  it('with --direct-paths (issue 10 interface)', () => {
    expect(peerPathPlan('tcp', true)).toEqual({ args: ['--direct-paths', 'tcp'], webrtcTarget: false })
    expect(peerPathPlan('webrtc', true)).toEqual({ args: ['--direct-paths', 'webrtc'], webrtcTarget: true })
    expect(peerPathPlan('auto', true)).toEqual({ args: [], webrtcTarget: false })
  })

  it('without it: tcp and webrtc by disabling the other path, auto refused', () => {
    expect(peerPathPlan('tcp', false)).toEqual({ args: ['--no-webrtc'], webrtcTarget: false })
    expect(peerPathPlan('webrtc', false)).toEqual({ args: ['--no-holepunch'], webrtcTarget: true })
    expect(() => peerPathPlan('auto', false)).toThrow(UnsupportedPathError)
    expect(() => peerPathPlan('quic' as 'tcp', true)).toThrow(/unknown path "quic"/)
  })
})

function trial (over: Partial<TrialResult>): TrialResult {
  return { scenario: 'port-restricted:port-restricted', a: 'port-restricted', b: 'port-restricted', transport: 'tcp', inbound: 'drop', delay: 'zero', lossPercent: 0, cpuLoad: false, trial: 1, direct: true, outcome: 'direct', exitCode: 0, attempts: 1, durationMs: 1, timeToDirectMs: 100, ...over }
}

describe('summary per cell and the chart', () => {
  const results = [
    trial({}), trial({ trial: 2, direct: false, outcome: 'relayed', failureReason: 'peer-unreachable: reset' }),
    trial({ inbound: 'reset' }), trial({ inbound: 'reset', cpuLoad: true, transport: 'webrtc' }),
    trial({ lossPercent: 5, delay: 'interop', scenario: 'full-cone:symmetric', a: 'full-cone', b: 'symmetric' })
  ]

  it('summarizes each cell of every dimension separately', () => {
    const s = summarize(results)
    expect(s).toHaveLength(4)
    expect(s[0]).toMatchObject({ inbound: 'drop', cpuLoad: false, trials: 2, direct: 1, failureReasons: { 'peer-unreachable': 1 } })
    expect(s[2]).toMatchObject({ inbound: 'reset', cpuLoad: true, transport: 'webrtc', trials: 1 })
    expect(s[3]).toMatchObject({ lossPercent: 5, delay: 'interop', scenario: 'full-cone:symmetric' })
  })

  it('draws one panel per combination of conditions and one bar per cell', () => {
    const svg = matrixSvg(summarize(results), 'test')
    const panels = [...svg.matchAll(/font-weight="bold">(inbound [^<]*)</g)].map(m => m[1])
    expect(panels).toEqual([
      'inbound drop · delay zero · loss 0% · CPU idle',
      'inbound reset · delay zero · loss 0% · CPU idle',
      'inbound reset · delay zero · loss 0% · CPU loaded',
      'inbound drop · delay interop · loss 5% · CPU idle'
    ])
    expect(svg.match(/<rect x="\d+(\.\d+)?" y="[\d.]+" width="30"/g)).toHaveLength(4)
    expect(svg).toContain('<title>port-restricted:port-restricted tcp, inbound drop · delay zero · loss 0% · CPU idle: 1/2 direct</title>')
  })
})

describe('natkit-lab hardnat: trial order', () => {
  it('runs the cells round robin (trial i of every cell before trial i + 1) and still reports one row per cell', async () => {
    const cells = [HARD_NAT_CELLS[7], EASY_BASELINE_CELL].filter(c => c != null)
    const order: string[] = []
    const side = { syns: { listen: 1, other: 0, otherPorts: 0 } }
    const report = await runHardNatBench({
      cells,
      delays: ['zero'],
      trials: 3,
      machine: {},
      runTrial: async (cell, delay, trial) => {
        order.push(`${cell.name === EASY_BASELINE_CELL.name ? 'baseline' : 'easy'} ${trial}`)
        const r = { scenario: `${cell.a}:${cell.b}`, a: cell.a, b: cell.b, transport: 'tcp', inbound: 'drop', delay, lossPercent: 0, cpuLoad: false, trial, direct: true, outcome: 'direct', exitCode: 0, attempts: 1, durationMs: 1, timeToDirectMs: cell === EASY_BASELINE_CELL ? 80 + trial : 90 + trial } as TrialResult
        return { cell: cell.name, delay, trial, r, a: side, b: side, events: [] } satisfies HardNatTrial
      }
    })
    expect(order).toEqual(['easy 1', 'baseline 1', 'easy 2', 'baseline 2', 'easy 3', 'baseline 3'])
    expect(report.rows.map(r => [r.cell, r.direct, r.timeToDirectMs?.median])).toEqual([[cells[0]?.name, 3, 92], [EASY_BASELINE_CELL.name, 3, 82]])
  })
})

describe('--resume: what a continued matrix keeps', () => {
  const dims = parseMatrixDimensions({ pairs: 'port-restricted:port-restricted', inbound: 'drop,reset', paths: 'tcp', delay: 'zero', loss: '0', cpuLoad: 'off' }, true)
  const spec = { ...dims, trialsPerCell: 2, dialTimeoutMs: 20_000 }
  const trial = (inbound: 'drop' | 'reset', n: number): TrialResult => ({ scenario: 'port-restricted:port-restricted', a: 'port-restricted', b: 'port-restricted', transport: 'tcp', inbound, delay: 'zero', lossPercent: 0, cpuLoad: false, trial: n, direct: true, outcome: 'direct', exitCode: 0, attempts: 1, durationMs: 5000, timeToDirectMs: 100 + n })
  const earlier = { started: '2026-12-01T00:00:00.000Z', finished: '2026-12-01T01:00:00.000Z', trialsPerCell: 2, dialTimeoutMs: 20_000, dimensions: { pairs: ['port-restricted:port-restricted'], inbound: ['drop', 'reset'], paths: ['tcp'], delay: ['zero'], lossPercent: [0], cpuLoad: [false] }, machine: { commit: 'abc' }, incomplete: { cellsDone: 1, cells: 2 }, results: [trial('drop', 1), trial('drop', 2), trial('reset', 1)] }

  it('keeps the cells with every trial and measures a cell with fewer again', () => {
    const resume = resumeFrom(earlier, spec)
    expect(resume.results.map(r => `${r.inbound} ${r.trial}`)).toEqual(['drop 1', 'drop 2'])
    expect(resume.started).toBe(earlier.started)
    // a report from before `runs` existed becomes the first run, with its machine
    expect(resume.runs).toEqual([{ started: earlier.started, finished: earlier.finished, machine: { commit: 'abc' }, cells: 1 }])
    const cells = matrixCells(dims)
    expect(cells.map(c => matrixCellKey(c))).toEqual([matrixCellKey(trial('drop', 1)), matrixCellKey(trial('reset', 1))])
  })

  it('an auto-path trial belongs to its auto cell whichever path won', () => {
    const auto = parseMatrixDimensions({ pairs: 'port-restricted:port-restricted', inbound: 'drop', paths: 'auto', delay: 'zero', loss: '0', cpuLoad: 'off' }, true)
    const won: TrialResult = { ...trial('drop', 1), transport: 'auto', path: 'tcp' }
    expect(matrixCellKey(won)).toBe(matrixCellKey(matrixCells(auto)[0] as MatrixCell))
    expect(resumeFrom({ ...earlier, trialsPerCell: 1, dimensions: { ...earlier.dimensions, inbound: ['drop'], paths: ['auto'] }, results: [won] }, { ...auto, trialsPerCell: 1, dialTimeoutMs: 20_000 }).results).toEqual([won])
  })

  it('a run with more values (another pair, delay) keeps the report\'s complete cells and measures the new ones', () => {
    const wider = parseMatrixDimensions({ pairs: 'port-restricted:port-restricted,none:port-restricted', inbound: 'drop,reset', paths: 'tcp', delay: 'zero,interop', loss: '0', cpuLoad: 'off' }, true)
    const resume = resumeFrom(earlier, { ...wider, trialsPerCell: 2, dialTimeoutMs: 20_000 })
    expect(resume.results.map(r => `${r.inbound} ${r.trial}`)).toEqual(['drop 1', 'drop 2'])
    expect(matrixCells(wider)).toHaveLength(8)
  })

  it('refuses a report made with other dimensions, trials or timeout, or not a matrix report, naming why', () => {
    expect(() => resumeFrom({ ...earlier, dimensions: { ...earlier.dimensions, delay: ['interop'] } }, spec)).toThrow(new MatrixResumeError('the report to resume has delay ["interop"], this run ["zero"]: ["interop"] would be dropped (a resumed run may add values, not remove them)'))
    expect(() => resumeFrom({ ...earlier, dimensions: { ...earlier.dimensions, pairs: 'port-restricted:port-restricted' } }, spec)).toThrow(/has no list of pairs/)
    expect(() => resumeFrom({ ...earlier, trialsPerCell: 10 }, spec)).toThrow(/has 10 trials per cell, this run 2: use the same --trials/)
    expect(() => resumeFrom({ ...earlier, dialTimeoutMs: 5000 }, spec)).toThrow(/dial timeout of 5000 ms, this run 20000 ms/)
    expect(() => resumeFrom([1, 2], spec)).toThrow(/not a natkit-lab matrix report/)
    expect(() => resumeFrom(null, spec)).toThrow(MatrixResumeError)
    expect(() => resumeFrom({ ...earlier, results: [null] }, spec)).toThrow(/malformed trial result/)
  })
})

describe('natkit-lab matrix on the command line', () => {
  it('--dry-run lists every cell and the trial count', async () => {
    const r = await cli(['matrix', '--pairs', 'port-restricted:port-restricted,address-restricted:symmetric', '--inbound', 'drop,reset', '--paths', 'tcp,webrtc', '--delay', 'zero,interop', '--loss', '0,1%', '--cpu-load', '--trials', '10', '--dry-run'])
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(2 * 2 * 2 * 2 * 2 + 1)
    expect(lines).toContain('address-restricted:symmetric webrtc inbound reset delay interop loss 1% cpu on')
    expect(lines.at(-1)).toBe('32 cells × 10 trials = 320 trials')
  })

  it('refuses a matrix above --max-trials in one line, before building any lab', async () => {
    const r = await cli(['matrix', '--pairs', 'eim', '--paths', 'tcp', '--inbound', 'drop,reset', '--trials', '20'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n').at(-1)).toBe('natkit-lab: MatrixTooLargeError: the matrix has 48 cells × 20 trials = 960 trials, more than --max-trials 500: pick subsets (--pairs, --inbound, --paths, --delay, --loss, --cpu-load) or raise --max-trials')
  })

  it('refuses bad dimension values in one line', async () => {
    for (const [args, message] of [
      [['matrix', '--loss', '1%,70%', '--dry-run'], 'natkit-lab: InvalidDimensionError: invalid loss "70%": a percentage from 0 to 50, e.g. 1%'],
      [['matrix', '--paths', 'tcp,quic', '--dry-run'], 'natkit-lab: InvalidDimensionError: invalid value "quic" in --paths (use tcp, webrtc, auto)'],
      [['matrix', '--max-trials', '0', '--dry-run'], 'natkit-lab: UsageError: invalid value for --max-trials: "0" must be an integer from 1 to 20000'],
      [['run', '--loss', 'some'], 'natkit-lab: InvalidDimensionError: invalid loss "some": a percentage from 0 to 50, e.g. 1%'],
      [['matrix', '--nat', 'symmetric,cone', '--dry-run'], 'natkit-lab: InvalidDimensionError: invalid profile "cone" in --nat: unknown NAT profile "cone"; expected one of none, port-restricted, symmetric, upnp, full-cone, address-restricted, symmetric-sequential'],
      [['hardnat', '--trials', '31'], 'natkit-lab: UsageError: invalid value for --trials: "31" must be an integer from 1 to 30'],
      [['hardnat', '--cells', '8'], 'natkit-lab: UsageError: invalid value for --cells: "8" is not a cell index (0-7) or baseline'],
      [['hardnat', '--cells', '7,'], 'natkit-lab: UsageError: invalid value for --cells: "" is not a cell index (0-7) or baseline'],
      [['hardnat', '--delay', 'zero,slow'], 'natkit-lab: UsageError: unknown delay profile "slow" (use zero, interop)']
    ] as const) {
      const r = await cli([...args])
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr.trim()).toBe(message)
    }
  })
})

const delaySkipReason = labSkipReason ??
  (!works('python3', ['-c', 'import socket; socket.AF_PACKET']) ? 'loss needs python3 (the delay line)' : undefined) ??
  (!existsSync('/dev/net/tun') ? 'loss needs /dev/net/tun' : undefined)

describe.skipIf(missingPrerequisite(delaySkipReason))('natkit-lab matrix in the lab', () => {
  it('runs one cell with every condition set and writes the JSON and the chart', async () => {
    const out = mkdtempSync(join(tmpdir(), 'natkit-matrix-'))
    try {
      const r = await cli(['matrix', '--pairs', 'address-restricted:full-cone', '--inbound', 'reset', '--paths', 'tcp', '--loss', '1%', '--cpu-load', '--trials', '1', '--label', 'test', '--out', out, '--name', 'm'], 120_000)
      expect(r.code, r.stderr).toBe(0)
      const report = JSON.parse(readFileSync(join(out, 'm.json'), 'utf8')) as MatrixReport
      expect(report.label).toBe('test')
      expect(report.dimensions).toEqual({ pairs: ['address-restricted:full-cone'], inbound: ['reset'], paths: ['tcp'], delay: ['zero'], lossPercent: [1], cpuLoad: [true] })
      expect(report.machine).toMatchObject({ cpus: expect.any(Number), node: process.versions.node })
      expect(report.results).toHaveLength(1)
      const [t] = report.results
      expect(t).toMatchObject({ a: 'address-restricted', b: 'full-cone', transport: 'tcp', inbound: 'reset', delay: 'zero', lossPercent: 1, cpuLoad: true })
      expect(t.error).toBeUndefined()
      // the conditions reached the lab: the delay lines counted frames, the burner used CPU
      expect(t.lossStats?.frames).toBeGreaterThan(0)
      expect(t.cpuBurn?.cpuSeconds).toBeGreaterThan(0)
      expect(report.summary).toHaveLength(1)
      expect(report.summary[0]).toMatchObject({ scenario: 'address-restricted:full-cone', inbound: 'reset', lossPercent: 1, cpuLoad: true, trials: 1 })
      const svg = readFileSync(join(out, 'm.svg'), 'utf8')
      expect(svg).toContain('inbound reset · delay zero · loss 1% · CPU loaded')
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }, 150_000)

  it('writes the report so far after every cell, marked incomplete, then the whole report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'natkit-matrix-'))
    try {
      const json = join(out, 'm.json')
      const running = cli(['matrix', '--pairs', 'port-restricted:port-restricted', '--inbound', 'drop,reset', '--paths', 'tcp', '--trials', '1', '--out', out, '--name', 'm'], 120_000)
      // the first cell's report exists while the second cell still runs
      const partial = await waitUntil(() => existsSync(json) && JSON.parse(readFileSync(json, 'utf8')) as MatrixReport, 100_000, 'the report after the first cell')
      expect(partial.incomplete).toEqual({ cellsDone: 1, cells: 2 })
      expect(partial.results).toHaveLength(1)
      expect(partial.summary).toHaveLength(1)
      expect(readFileSync(join(out, 'm.svg'), 'utf8')).toContain('incomplete: 1/2 cells')
      const r = await running
      expect(r.code, r.stderr).toBe(0)
      const whole = JSON.parse(readFileSync(json, 'utf8')) as MatrixReport
      expect(whole.incomplete).toBeUndefined()
      expect(whole.results.map(t => t.inbound)).toEqual(['drop', 'reset'])
      expect(whole.runs).toHaveLength(1)

      // --resume a run stopped after its first cell: only the second cell is measured again
      writeFileSync(json, JSON.stringify({ ...partial, results: partial.results }))
      const resumed = await cli(['matrix', '--pairs', 'port-restricted:port-restricted', '--inbound', 'drop,reset', '--paths', 'tcp', '--trials', '1', '--out', out, '--name', 'm', '--resume'], 120_000)
      expect(resumed.code, resumed.stderr).toBe(0)
      expect(resumed.stderr).toContain('1 cells kept, 1 trials to run')
      expect(resumed.stdout.split('\n').filter(l => /^\[\d+\/\d+\] /.test(l))).toEqual([expect.stringMatching(/^\[1\/1\] trial {3}1 {2}port-restricted:port-restricted/)])
      const continued = JSON.parse(readFileSync(json, 'utf8')) as MatrixReport
      expect(continued.incomplete).toBeUndefined()
      expect(continued.results.map(t => t.inbound)).toEqual(['drop', 'reset'])
      expect(continued.results[0]).toEqual(partial.results[0])
      expect(continued.results[1].prefix).not.toBe(whole.results[1].prefix)
      expect(continued.runs?.map(r => r.cells)).toEqual([1, 1])
      expect(continued.started).toBe(partial.started)
      expect(continued.summary).toHaveLength(2)
      // and a complete report has nothing left to run
      const again = await cli(['matrix', '--pairs', 'port-restricted:port-restricted', '--inbound', 'drop,reset', '--paths', 'tcp', '--trials', '1', '--out', out, '--name', 'm', '--resume'], 30_000)
      expect(again.code, again.stderr).toBe(0)
      expect(again.stdout).toContain('nothing to resume')
      const differently = await cli(['matrix', '--pairs', 'port-restricted:port-restricted', '--inbound', 'drop', '--paths', 'tcp', '--trials', '1', '--out', out, '--name', 'm', '--resume'], 30_000)
      expect(differently.code).not.toBe(0)
      expect(differently.stderr.trim()).toBe(`natkit-lab: MatrixResumeError: cannot resume ${json}: the report to resume has inbound ["drop","reset"], this run ["drop"]: ["reset"] would be dropped (a resumed run may add values, not remove them)`)
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }, 250_000)
})
