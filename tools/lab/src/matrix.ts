/**
 * `natkit-lab matrix`: NAT profile pairs × unsolicited-inbound behaviour ×
 * direct paths × delay × loss × CPU load, N trials per cell, each in a fresh
 * lab. Bounded: a matrix of more than `maxTrials` trials is refused.
 */
import { execFileSync } from 'node:child_process'
import { availableParallelism, cpus, loadavg, release } from 'node:os'
import { DELAY_PROFILES, type DelayProfileName } from './delay.js'
import { InvalidDimensionError, LAB_PATHS, parseCpuLoad, parseList, parseLoss, peerSupportsDirectPaths, type LabPath } from './dimensions.js'
import { REPO_ROOT } from './procs.js'
import { runTrial, summarize, type Summary, type TrialResult } from './scenario.js'
import { assertSupportedProfile, INBOUND_MODES, type InboundMode, type NatProfile } from './topology.js'
import { HARD_NAT_PAIRS } from './hard-nat.js'

/**
 * Most trials one `natkit-lab matrix` run may make unless `--max-trials`
 * raises it (a trial takes ~10-20 s; 500 are ~2 h).
 *
 * @default 500
 */
export const DEFAULT_MAX_MATRIX_TRIALS = 500

/** Largest accepted `--max-trials`. @default 20000 */
export const MAX_MATRIX_TRIALS = 20_000

/** Default trials per cell. @default 3 */
export const DEFAULT_MATRIX_TRIALS_PER_CELL = 3

/** Default bound on peer-a waiting for a direct connection in a matrix trial. @default 20000 */
export const DEFAULT_MATRIX_DIAL_TIMEOUT_MS = 20_000

/** Profiles whose mapping is endpoint-independent (RFC 4787 EIM): both sides of such a pair can be punched. */
export const EIM_PROFILES: readonly NatProfile[] = ['port-restricted', 'address-restricted', 'full-cone', 'upnp', 'none']

/** The NAT pairs of `natkit-lab matrix` by default (peer-a's NAT, peer-b's NAT). */
export const MATRIX_PAIRS: ReadonlyArray<readonly [NatProfile, NatProfile]> = [
  ['port-restricted', 'port-restricted'],
  ['address-restricted', 'address-restricted'],
  ['full-cone', 'full-cone'],
  ['port-restricted', 'address-restricted'],
  ['port-restricted', 'full-cone'],
  ['port-restricted', 'upnp'],
  ['none', 'port-restricted'],
  ['address-restricted', 'symmetric'],
  ['full-cone', 'symmetric'],
  ['port-restricted', 'symmetric'],
  ['symmetric', 'port-restricted'],
  ['symmetric', 'symmetric'],
  ['symmetric', 'upnp'],
  ['none', 'symmetric'],
  // issue 13's hard-NAT rows: predictable symmetric against a cone and a random symmetric
  ['symmetric-sequential', 'port-restricted'],
  ['port-restricted', 'symmetric-sequential'],
  ['symmetric-sequential', 'symmetric']
]

/**
 * Every ordered pair of two EIM profiles but none:none (issue 10: 100 % direct
 * with auto paths). Ordered: peer-a (the dialer: DCUtR's responder, which
 * secures the punched connection as its initiator) and peer-b (DCUtR's
 * initiator) play different parts, and a reset router or a public peer answers the
 * first SYN differently depending on which side sent it (none ↔ port-restricted
 * TCP failed behind reset routers only with the public peer as peer-a).
 */
export const EIM_PAIRS: ReadonlyArray<readonly [NatProfile, NatProfile]> = (() => {
  const one = EIM_PROFILES.flatMap((a, i) => EIM_PROFILES.slice(i).filter(b => !(a === 'none' && b === 'none')).map(b => [a, b] as const))
  const other = one.filter(([a, b]) => a !== b).map(([a, b]) => [b, a] as const)
  // the first order of every pair, then the public peer as peer-a, then the other reversed cones
  return [...one, ...other.filter(([a]) => a === 'none'), ...other.filter(([a]) => a !== 'none')]
})()

/** A cone NAT facing a symmetric one (issue 10: direct by whichever path works). */
export const CONE_SYMMETRIC_PAIRS: ReadonlyArray<readonly [NatProfile, NatProfile]> = [
  ['address-restricted', 'symmetric'],
  ['full-cone', 'symmetric']
]

/** Named pair sets for `--pairs`. */
export const PAIR_SETS: Readonly<Record<string, ReadonlyArray<readonly [NatProfile, NatProfile]>>> = {
  default: MATRIX_PAIRS,
  eim: EIM_PAIRS,
  'cone-symmetric': CONE_SYMMETRIC_PAIRS,
  /** issue 13's hard-NAT cells (tools/lab/src/hard-nat.ts) */
  'hard-nat': HARD_NAT_PAIRS
}

export class MatrixTooLargeError extends Error {
  static override name = 'MatrixTooLargeError'
  override name = 'MatrixTooLargeError'
}

export interface MatrixSpec {
  pairs: Array<[NatProfile, NatProfile]>
  inbound: InboundMode[]
  paths: LabPath[]
  delays: DelayProfileName[]
  /** Loss per link and direction, percent. */
  losses: number[]
  cpuLoad: boolean[]
  trialsPerCell: number
  dialTimeoutMs: number
}

export interface MatrixCell {
  a: NatProfile
  b: NatProfile
  inbound: InboundMode
  path: LabPath
  delay: DelayProfileName
  lossPercent: number
  cpuLoad: boolean
}

/** `default`, `eim`, `cone-symmetric`, or a comma list of `A:B` pairs (sets and pairs may be mixed); duplicates are dropped. */
export function parsePairs (value: string): Array<[NatProfile, NatProfile]> {
  const out: Array<[NatProfile, NatProfile]> = []
  const add = (a: NatProfile, b: NatProfile): void => { if (!out.some(([x, y]) => x === a && y === b)) out.push([a, b]) }
  for (const item of value.split(',').map(s => s.trim())) {
    const set = PAIR_SETS[item]
    if (set != null) {
      for (const [a, b] of set) add(a, b)
      continue
    }
    const parts = item.split(':')
    if (parts.length !== 2) throw new InvalidDimensionError(`invalid pair "${item}" in --pairs: use A:B (e.g. port-restricted:symmetric) or ${Object.keys(PAIR_SETS).join(', ')}`)
    try {
      assertSupportedProfile(parts[0])
      assertSupportedProfile(parts[1])
    } catch (err) {
      throw new InvalidDimensionError(`invalid pair "${item}" in --pairs: ${(err as Error).message}`)
    }
    add(parts[0], parts[1])
  }
  return out
}

/** `--nat a,b,c`: every unordered pair of the listed profiles (a profile with itself too), in list order. */
export function profilePairs (value: string): Array<[NatProfile, NatProfile]> {
  const profiles = [...new Set(value.split(',').map(s => s.trim()).filter(s => s !== ''))]
  if (profiles.length === 0) throw new InvalidDimensionError('--nat needs at least one NAT profile')
  for (const p of profiles) {
    try {
      assertSupportedProfile(p)
    } catch (err) {
      throw new InvalidDimensionError(`invalid profile "${p}" in --nat: ${(err as Error).message}`)
    }
  }
  return (profiles as NatProfile[]).flatMap((a, i) => (profiles as NatProfile[]).slice(i).map(b => [a, b] as [NatProfile, NatProfile]))
}

export interface MatrixOptionText {
  pairs: string
  /** `--nat`: profiles whose every pair is added; then `pairs` counts only when it is not `default`. */
  nat?: string
  inbound: string
  paths?: string
  delay: string
  loss: string
  cpuLoad: string
}

/**
 * The matrix's dimensions from command-line text. When `paths` is not given,
 * the default is tcp,webrtc,auto, without auto if the built peer has no
 * `--direct-paths` (`note` says so); an explicit `auto` then fails in the trial
 * setup with UnsupportedPathError.
 */
export function parseMatrixDimensions (text: MatrixOptionText, directPaths = peerSupportsDirectPaths()): Omit<MatrixSpec, 'trialsPerCell' | 'dialTimeoutMs'> & { note?: string } {
  const delayNames = Object.keys(DELAY_PROFILES) as DelayProfileName[]
  const paths = text.paths != null ? parseList(text.paths, LAB_PATHS, '--paths') : LAB_PATHS.filter(p => directPaths || p !== 'auto')
  return {
    pairs: text.nat == null ? parsePairs(text.pairs) : [...(text.pairs === 'default' ? [] : parsePairs(text.pairs)), ...profilePairs(text.nat)].filter((p, i, all) => all.findIndex(q => q[0] === p[0] && q[1] === p[1]) === i),
    inbound: parseList(text.inbound, INBOUND_MODES, '--inbound'),
    paths,
    delays: parseList(text.delay, delayNames, '--delay'),
    losses: [...new Set(text.loss.split(',').map(parseLoss))],
    cpuLoad: parseCpuLoad(text.cpuLoad),
    ...(text.paths == null && !directPaths ? { note: 'this natkit-peer has no --direct-paths yet: paths tcp,webrtc only (auto needs issue 10\'s racing)' } : {})
  }
}

/** Every cell, in a stable order (conditions outermost, so a panel's cells run together). */
export function matrixCells (spec: Omit<MatrixSpec, 'trialsPerCell' | 'dialTimeoutMs'>): MatrixCell[] {
  const cells: MatrixCell[] = []
  for (const cpuLoad of spec.cpuLoad) {
    for (const lossPercent of spec.losses) {
      for (const delay of spec.delays) {
        for (const inbound of spec.inbound) {
          for (const [a, b] of spec.pairs) {
            for (const path of spec.paths) cells.push({ a, b, inbound, path, delay, lossPercent, cpuLoad })
          }
        }
      }
    }
  }
  return cells
}

/** Throws MatrixTooLargeError when cells × trials exceeds `maxTrials`; returns the total. */
export function assertMatrixBounded (cells: number, trialsPerCell: number, maxTrials = DEFAULT_MAX_MATRIX_TRIALS): number {
  const total = cells * trialsPerCell
  if (total > maxTrials) throw new MatrixTooLargeError(`the matrix has ${cells} cells × ${trialsPerCell} trials = ${total} trials, more than --max-trials ${maxTrials}: pick subsets (--pairs, --inbound, --paths, --delay, --loss, --cpu-load) or raise --max-trials`)
  return total
}

/** What the JSON report says about the machine (trial timings depend on it). */
export function machineInfo (): Record<string, unknown> {
  let commit: string | undefined
  try {
    commit = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {}
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model,
    kernel: release(),
    node: process.versions.node,
    loadavg: loadavg().map(x => Math.round(x * 100) / 100),
    commit
  }
}

export class MatrixResumeError extends Error {
  static override name = 'MatrixResumeError'
  override name = 'MatrixResumeError'
}

/** One `natkit-lab matrix` run that added cells to a report (a report continued with `--resume` has several). */
export interface MatrixRun {
  started: string
  finished: string
  /** The machine and commit the run measured on. */
  machine: Record<string, unknown>
  /** Cells this run measured. */
  cells: number
}

export interface MatrixReport {
  /** Free text, e.g. "smoke subset": what this run is (and is not). */
  label?: string
  /** Present while the run is still going (or was stopped): how many cells are in the report. */
  incomplete?: { cellsDone: number, cells: number }
  /** Every run that measured cells of this report, first to last (one unless continued with `--resume`). */
  runs?: MatrixRun[]
  started: string
  finished: string
  trialsPerCell: number
  dimensions: {
    pairs: string[]
    inbound: InboundMode[]
    paths: LabPath[]
    delay: DelayProfileName[]
    lossPercent: number[]
    cpuLoad: boolean[]
  }
  dialTimeoutMs: number
  /** The machine of the latest run (`runs` has each run's). */
  machine: Record<string, unknown>
  /** Load average when the run ended (the machine may be shared). */
  loadavgAtEnd: number[]
  /** Time spent measuring, summed over `runs`. */
  durationMs: number
  summary: Summary[]
  results: TrialResult[]
}

/**
 * The key shared by a cell and its trials' results: a cell's `path` is its
 * trials' `transport` (a result's own `path` is the path that won).
 */
export function matrixCellKey (c: { a: string, b: string, inbound: string, delay: string, lossPercent: number, cpuLoad: boolean } & ({ path: string } | { transport: string })): string {
  return `${c.a}:${c.b}|${'transport' in c ? c.transport : c.path}|${c.inbound}|${c.delay}|loss ${c.lossPercent}%|cpu ${c.cpuLoad ? 'on' : 'off'}`
}

/** What a continued run starts from: the kept trials and the earlier runs. */
export interface MatrixResume {
  started: string
  runs: MatrixRun[]
  /** Trials of the complete cells, in report order. */
  results: TrialResult[]
}

function dimensionsOf (spec: Omit<MatrixSpec, 'trialsPerCell' | 'dialTimeoutMs'>): MatrixReport['dimensions'] {
  return { pairs: spec.pairs.map(([a, b]) => `${a}:${b}`), inbound: spec.inbound, paths: spec.paths, delay: spec.delays, lossPercent: spec.losses, cpuLoad: spec.cpuLoad }
}

/**
 * What of an earlier report (parsed JSON, not trusted) a `--resume` run keeps:
 * the trials of every cell that has all `trialsPerCell` of them; a cell with
 * fewer is measured again. The run's dimensions may add values to the
 * report's (e.g. more pairs): their cells are measured. Throws
 * MatrixResumeError, naming the difference, when the report is not a matrix
 * report, has a value this run lacks (its cells would be lost), or used other
 * trials per cell or dial timeout (its cells would not be comparable).
 */
export function resumeFrom (previous: unknown, spec: MatrixSpec): MatrixResume {
  const p = previous as Partial<MatrixReport> | null
  if (p == null || typeof p !== 'object' || !Array.isArray(p.results) || typeof p.dimensions !== 'object' || p.dimensions == null || typeof p.started !== 'string') {
    throw new MatrixResumeError('the report to resume is not a natkit-lab matrix report (no dimensions, results or start time)')
  }
  if (p.trialsPerCell !== spec.trialsPerCell) throw new MatrixResumeError(`the report to resume has ${String(p.trialsPerCell)} trials per cell, this run ${spec.trialsPerCell}: use the same --trials`)
  if (p.dialTimeoutMs !== spec.dialTimeoutMs) throw new MatrixResumeError(`the report to resume used a dial timeout of ${String(p.dialTimeoutMs)} ms, this run ${spec.dialTimeoutMs} ms: use the same --timeout`)
  // a run may widen the report (more pairs, another delay...): its cells stay
  // valid; dropping a value would drop measured cells from the report
  const want = dimensionsOf(spec)
  for (const key of Object.keys(want) as Array<keyof MatrixReport['dimensions']>) {
    const had = (p.dimensions as Record<string, unknown>)[key]
    const wanted = (want[key] as unknown[]).map(v => JSON.stringify(v))
    if (!Array.isArray(had)) throw new MatrixResumeError(`the report to resume has no list of ${key}`)
    const dropped = had.filter(v => !wanted.includes(JSON.stringify(v)))
    if (dropped.length > 0) throw new MatrixResumeError(`the report to resume has ${key} ${JSON.stringify(had)}, this run ${JSON.stringify(want[key])}: ${JSON.stringify(dropped)} would be dropped (a resumed run may add values, not remove them)`)
  }
  const byCell = new Map<string, TrialResult[]>()
  for (const r of p.results) {
    if (r == null || typeof r !== 'object' || typeof r.trial !== 'number') throw new MatrixResumeError('the report to resume has a malformed trial result')
    const key = matrixCellKey(r)
    byCell.set(key, [...(byCell.get(key) ?? []), r])
  }
  const results = matrixCells(spec).flatMap((cell) => {
    const rs = byCell.get(matrixCellKey(cell)) ?? []
    return rs.length === spec.trialsPerCell ? rs : []
  })
  const runs = Array.isArray(p.runs) ? p.runs : [{ started: p.started, finished: String(p.finished), machine: p.machine ?? {}, cells: results.length / spec.trialsPerCell }]
  return { started: p.started, runs, results }
}

/**
 * Runs every cell `trialsPerCell` times (with `resume`, only the cells it does
 * not hold); `onTrial` sees each result as it comes.
 */
export async function runMatrix (spec: MatrixSpec, opts: { label?: string, resume?: MatrixResume, onTrial?: (r: TrialResult, index: number, total: number) => void, onCell?: (partial: MatrixReport) => void } = {}): Promise<MatrixReport> {
  const cells = matrixCells(spec)
  const kept = opts.resume?.results ?? []
  const done = new Set(kept.map(r => matrixCellKey(r)))
  const todo = cells.filter(c => !done.has(matrixCellKey(c)))
  const total = todo.length * spec.trialsPerCell
  const started = new Date()
  const machine = machineInfo()
  const measured: TrialResult[] = []
  const report = (cellsRun: number, incomplete: boolean): MatrixReport => {
    const finished = new Date()
    const run: MatrixRun = { started: started.toISOString(), finished: finished.toISOString(), machine, cells: cellsRun }
    // the report's order is the matrix's, whichever run measured a cell
    const keyed = new Map<string, TrialResult[]>()
    for (const r of [...kept, ...measured]) keyed.set(matrixCellKey(r), [...(keyed.get(matrixCellKey(r)) ?? []), r])
    const results = cells.flatMap(c => keyed.get(matrixCellKey(c)) ?? [])
    const cellsDone = cells.filter(c => keyed.has(matrixCellKey(c))).length
    return matrixReport(spec, opts.resume?.started ?? started.toISOString(), [...(opts.resume?.runs ?? []), run], results, opts.label, incomplete || cellsDone < cells.length ? { done: cellsDone, of: cells.length } : undefined)
  }
  for (const [index, cell] of todo.entries()) {
    for (let i = 1; i <= spec.trialsPerCell; i++) {
      const r = await runTrial({ a: cell.a, b: cell.b, transport: cell.path, inbound: cell.inbound, delay: cell.delay, lossPercent: cell.lossPercent, cpuLoad: cell.cpuLoad, trial: i, dialTimeoutMs: spec.dialTimeoutMs })
      measured.push(r)
      opts.onTrial?.(r, measured.length, total)
    }
    // a run of hours keeps what it measured if it is stopped: the report so far after every cell
    if (index < todo.length - 1) opts.onCell?.(report(index + 1, true))
  }
  return report(todo.length, false)
}

function matrixReport (spec: MatrixSpec, started: string, runs: MatrixRun[], results: TrialResult[], label?: string, incomplete?: { done: number, of: number }): MatrixReport {
  const last = runs[runs.length - 1] as MatrixRun
  return {
    ...(label != null ? { label } : {}),
    ...(incomplete != null ? { incomplete: { cellsDone: incomplete.done, cells: incomplete.of } } : {}),
    runs,
    started,
    finished: last.finished,
    trialsPerCell: spec.trialsPerCell,
    dimensions: dimensionsOf(spec),
    dialTimeoutMs: spec.dialTimeoutMs,
    machine: last.machine,
    loadavgAtEnd: loadavg().map(x => Math.round(x * 100) / 100),
    durationMs: runs.reduce((sum, r) => sum + Math.max(0, Date.parse(r.finished) - Date.parse(r.started)), 0),
    summary: summarize(results),
    results
  }
}
