/**
 * reports/bench.json: each relay's run, the natkit/go ratio per figure when
 * both ran with the same sizes, the role startup figures of
 * reports/startup.json (`npm run bench:startup`) when present; and its chart.
 */
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import { barPanelsSvg, type BarPanel } from '@natkit/lab'
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
  /** reports/startup.json's role figures, as written by `npm run bench:startup` */
  startup?: unknown
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
  cpuMsPerCircuit: { unit: ' ms', read: r => r.circuits?.cpuMsPerCircuit }
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
export function buildReport (runs: RelayRun[], sizes: BenchReport['sizes'], previous?: BenchReport, startupPath?: string): BenchReport {
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
    startup
  }
}

const COLORS = { natkit: '#2b6cb0', go: '#2f855a' } as const

/** The chart: one panel per figure, one bar per relay. */
export function benchSvg (report: BenchReport): string {
  const relays = (['natkit', 'go'] as const).filter(r => report.runs[r] != null)
  const panels: BarPanel[] = Object.entries(FIGURES).flatMap(([name, f]) => {
    const bars = relays.flatMap(r => { const v = f.read(report.runs[r] as RelayRun); return v == null ? [] : [{ label: r, value: v, color: COLORS[r] }] })
    return bars.length === 0 ? [] : [{ title: name, unit: f.unit, bars }]
  })
  const load = relays.map(r => `${r} loadavg ${report.runs[r]?.loadavgBefore.join('/')}`).join(', ')
  const notes = [
    `${report.sizes.reservations} reservations in two stages, ${report.sizes.circuits} concurrent circuits with one 32-byte ping each; ${report.cpus} CPUs, ${load}`,
    'relay CPU and RSS from /proc/<pid>/stat; RSS per reservation is above the relay\'s baseline after an idle period with all reservations held'
  ]
  return barPanelsSvg(panels, 'natkit-relay vs go-libp2p relay: capacity on loopback', report.ratioNatkitToGo != null ? `natkit/go: ${Object.entries(report.ratioNatkitToGo).map(([k, v]) => `${k} ${v}`).slice(0, 4).join(', ')}` : undefined, notes)
}
