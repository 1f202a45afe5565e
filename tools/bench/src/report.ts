/**
 * reports/bench.json: each relay's run, the natkit/go ratio per figure when
 * both ran with the same sizes, the lab's time to direct per NAT pair (from
 * the matrix report of `npm run lab:matrix`) and the role startup figures of
 * reports/startup.json (`npm run bench:startup`) when present; and its chart.
 */
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import { barPanelsSvg, type BarPanel } from '@natkit/lab'
import { roundedQuantile as q } from './load.js'
import type { RelayRun } from './bench.js'

export interface BenchReport {
  generatedAt: string
  node: string
  cpus: number
  note: string
  sizes: { reservations: number, circuits: number, concurrency: number }
  runs: Partial<Record<'natkit' | 'go', RelayRun>>
  /** natkit's figure over go's, per figure (both runs with the same sizes) */
  ratioNatkitToGo?: Record<string, number>
  /** the lab's time to direct per NAT pair and delay, from its matrix report (`--lab-report`) */
  timeToDirect?: TimeToDirectSummary
  /** reports/startup.json's role figures, as written by `npm run bench:startup` */
  startup?: unknown
}

/** One NAT pair at one delay: how many trials went direct and how long it took. */
export interface TimeToDirectCell {
  /** `<a's NAT>:<b's NAT>` as the lab names them */
  pair: string
  /** the lab's delay profile (`zero`, `interop`) */
  delay: string
  trials: number
  direct: number
  p10Ms?: number
  p50Ms?: number
  p90Ms?: number
  maxMs?: number
}

export interface TimeToDirectSummary {
  /** the matrix report read, as given */
  source: string
  label: string
  finished: string
  /** the conditions pooled in each cell (router inbound policy, CPU load, paths) */
  pooled: string
  cells: TimeToDirectCell[]
}

/** The lab matrix report is not what `npm run lab:matrix` writes. */
export class LabReportError extends Error {
  static override name = 'LabReportError'
  override name = 'LabReportError'
}


/** Pure: a lab matrix report → time to direct per NAT pair and delay (trials of every other condition pooled). */
export function timeToDirectByPair (report: unknown, source: string): TimeToDirectSummary {
  const r = report as { label?: unknown, finished?: unknown, results?: unknown }
  if (r == null || typeof r !== 'object' || !Array.isArray(r.results)) throw new LabReportError(`${source} is not a lab matrix report (no "results" list)`)
  const cells = new Map<string, { pair: string, delay: string, trials: number, times: number[] }>()
  for (const x of r.results as Array<Record<string, unknown>>) {
    if (typeof x?.a !== 'string' || typeof x.b !== 'string' || typeof x.delay !== 'string') throw new LabReportError(`${source}: a result without "a", "b" or "delay": ${JSON.stringify(x).slice(0, 120)}`)
    const key = `${x.a}:${x.b}|${x.delay}`
    const cell = cells.get(key) ?? { pair: `${x.a}:${x.b}`, delay: x.delay, trials: 0, times: [] }
    cell.trials++
    if (x.direct === true && typeof x.timeToDirectMs === 'number') cell.times.push(x.timeToDirectMs)
    cells.set(key, cell)
  }
  return {
    source,
    label: typeof r.label === 'string' ? r.label : '',
    finished: typeof r.finished === 'string' ? r.finished : '',
    pooled: 'router inbound policy (drop/reset), CPU load, transports: every trial of the pair at that delay',
    cells: [...cells.values()].map(c => {
      const t = c.times
      return { pair: c.pair, delay: c.delay, trials: c.trials, direct: t.length, p10Ms: q(t, 0.1), p50Ms: q(t, 0.5), p90Ms: q(t, 0.9), maxMs: q(t, 1) }
    })
  }
}

/** The figures compared between relays and charted: name → how to read it from a run. */
export const FIGURES: Record<string, { unit: string, read: (r: RelayRun) => number | undefined }> = {
  reservationsPerS: { unit: '/s', read: r => r.reservations.reservationsPerS },
  cpuMsPerReservation: { unit: ' ms', read: r => r.reservations.cpuMsPerReservation },
  idleRssKiBPerReservation: { unit: ' KiB', read: r => r.idle.rssKiBPerReservation },
  idleCpuCores: { unit: '', read: r => r.idle.cpuCores },
  circuitSuccessRate: { unit: '', read: r => r.circuits == null ? undefined : 1 - r.circuits.failureRate },
  circuitDialP50Ms: { unit: ' ms', read: r => r.circuits?.dialP50Ms },
  circuitDialP99Ms: { unit: ' ms', read: r => r.circuits?.dialP99Ms },
  circuitPingP99Ms: { unit: ' ms', read: r => r.circuits?.pingP99Ms },
  cpuMsPerCircuit: { unit: ' ms', read: r => r.circuits?.cpuMsPerCircuit },
  relayedMiBPerS: { unit: '', read: r => r.throughput?.relayed.mibPerS },
  relayCpuMsPerMiB: { unit: ' ms', read: r => r.throughput?.relayCpuMsPerMiB }
}

/** natkit/go per figure; undefined unless both ran with the same sizes. */
export function ratios (natkit: RelayRun | undefined, go: RelayRun | undefined): Record<string, number> | undefined {
  if (natkit == null || go == null || natkit.reservations.requested !== go.reservations.requested) return undefined
  const out: Record<string, number> = {}
  for (const [name, f] of Object.entries(FIGURES)) {
    const a = f.read(natkit)
    const b = f.read(go)
    if (a != null && b != null && b !== 0) out[name] = Math.round((a / b) * 100) / 100
  }
  return out
}

/**
 * The report of this run's relays; a relay not run now is kept from `previous`
 * (the same file) when its sizes match, so `--relay go` after `--relay natkit` gives the ratio.
 */
export function buildReport (runs: RelayRun[], sizes: BenchReport['sizes'], previous?: BenchReport, startupPath?: string, timeToDirect?: TimeToDirectSummary): BenchReport {
  const byRelay: BenchReport['runs'] = {}
  const sameSizes = previous != null && previous.sizes.reservations === sizes.reservations && previous.sizes.circuits === sizes.circuits
  if (sameSizes) Object.assign(byRelay, previous.runs)
  for (const r of runs) byRelay[r.relay] = r
  const startup = startupPath != null && existsSync(startupPath) ? JSON.parse(readFileSync(startupPath, 'utf8')) as unknown : undefined
  return {
    generatedAt: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    note: 'loopback; relay CPU and RSS from /proc/<pid>/stat; a busy machine (see each run\'s loadavg) inflates times and CPU; ratios compare runs of the same invocation when --relay both',
    sizes,
    runs: byRelay,
    ratioNatkitToGo: ratios(byRelay.natkit, byRelay.go),
    timeToDirect,
    startup
  }
}

/** The lab's time to direct from the matrix report at `path` (`source` names it in the report); undefined when there is none. */
export function readTimeToDirect (path: string, source = path): TimeToDirectSummary | undefined {
  if (!existsSync(path)) return undefined
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new LabReportError(`${source}: ${(err as Error).message.split('\n')[0]}`)
  }
  return timeToDirectByPair(json, source)
}

/** Short names of the lab's NAT types, for chart titles. */
const NAT_SHORT: Record<string, string> = { 'port-restricted': 'PR', 'address-restricted': 'AR', 'full-cone': 'FC', symmetric: 'SYM', upnp: 'UPnP', none: 'open' }
const short = (pair: string): string => pair.split(':').map(n => NAT_SHORT[n] ?? n).join('↔')

const COLORS = { natkit: '#2b6cb0', go: '#2f855a' } as const

/** The chart: one panel per figure, one bar per relay. */
export function benchSvg (report: BenchReport): string {
  const relays = (['natkit', 'go'] as const).filter(r => report.runs[r] != null)
  const panels: BarPanel[] = Object.entries(FIGURES).flatMap(([name, f]) => {
    const bars = relays.flatMap(r => { const v = f.read(report.runs[r] as RelayRun); return v == null ? [] : [{ label: r, value: v, color: COLORS[r] }] })
    return bars.length === 0 ? [] : [{ title: name, unit: f.unit, bars }]
  })
  // throughput: one panel per relay run (raw TCP, direct libp2p, relayed by that relay)
  for (const r of relays) {
    const t = report.runs[r]?.throughput
    if (t != null) panels.push({ title: `MiB/s, ${r} relay`, unit: '', bars: [{ label: 'raw TCP', value: t.rawTcp.mibPerS, color: '#777' }, { label: 'direct', value: t.direct.mibPerS, color: '#805ad5' }, { label: 'relayed', value: t.relayed.mibPerS, color: COLORS[r] }] })
  }
  // the lab's time to direct: one panel per NAT pair, its median at each delay
  const byPair = new Map<string, TimeToDirectCell[]>()
  for (const c of report.timeToDirect?.cells ?? []) byPair.set(c.pair, [...(byPair.get(c.pair) ?? []), c])
  for (const [pair, cells] of byPair) {
    const bars = cells.flatMap(c => c.p50Ms == null ? [] : [{ label: c.delay, value: c.p50Ms, color: '#dd6b20' }])
    if (bars.length > 0) panels.push({ title: `${short(pair)} direct p50`, unit: ' ms', bars })
  }
  const load = relays.map(r => `${r} loadavg ${report.runs[r]?.loadavgBefore.join('/')}`).join(', ')
  const notes = [
    `${report.sizes.reservations} reservations in two stages, ${report.sizes.circuits} concurrent circuits with one 32-byte ping each; ${report.cpus} CPUs, ${load}`,
    'relay CPU and RSS from /proc/<pid>/stat; RSS per reservation is above the relay\'s baseline after an idle period with all reservations held',
    ...(relays.some(r => report.runs[r]?.throughput != null) ? ['throughput: the same bytes over raw TCP, a direct and a relayed libp2p connection (tcp + noise + yamux), both nodes in the bench process, loopback'] : []),
    ...(report.timeToDirect != null ? [`time to direct (lab, ${report.timeToDirect.source}, finished ${report.timeToDirect.finished}): median per NAT pair and delay; PR/AR port/address-restricted, FC full cone, SYM symmetric, open no NAT`] : [])
  ]
  return barPanelsSvg(panels, 'natkit-relay vs go-libp2p relay: capacity on loopback', report.ratioNatkitToGo != null ? `natkit/go: ${Object.entries(report.ratioNatkitToGo).map(([k, v]) => `${k} ${v}`).slice(0, 4).join(', ')}` : undefined, notes)
}
