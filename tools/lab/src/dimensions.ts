/**
 * Trial dimensions beyond the NAT pair: which direct paths the peers may use,
 * random loss on the lab's internet links, and CPU contention (see cpuload.ts).
 * Parsing of their command-line values lives here so `run` and `matrix` agree.
 */
import { execFileSync } from 'node:child_process'
import { roleBinary } from './procs.js'
import type { DelayLine } from './delay.js'

/**
 * Which direct paths a lab peer may use:
 *
 * - `tcp`: TCP hole punching (DCUtR) only;
 * - `webrtc`: WebRTC (ICE with the relay's STUN) only, dialled as `/p2p-circuit/webrtc`;
 * - `auto`: natkit-peer's default, every direct path raced (`--direct-paths tcp,webrtc`).
 */
export type LabPath = 'tcp' | 'webrtc' | 'auto'
export const LAB_PATHS: readonly LabPath[] = ['tcp', 'webrtc', 'auto']

/** Largest `--loss` (per link and direction). */
export const MAX_LOSS_PERCENT = 50

export class UnsupportedPathError extends Error {
  static override name = 'UnsupportedPathError'
  override name = 'UnsupportedPathError'
}

export class InvalidDimensionError extends Error {
  static override name = 'InvalidDimensionError'
  override name = 'InvalidDimensionError'
}

let directPathsSupport: boolean | undefined

/**
 * Whether the built natkit-peer knows `--direct-paths` (issue 10's agreed
 * interface). Read once from `natkit-peer dial --help`, then cached.
 */
export function peerSupportsDirectPaths (): boolean {
  if (directPathsSupport == null) {
    try {
      const help = execFileSync(process.execPath, [roleBinary('peer'), 'dial', '--help'], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'ignore'] })
      directPathsSupport = help.includes('--direct-paths')
    } catch {
      directPathsSupport = false
    }
  }
  return directPathsSupport
}

export interface PeerPathPlan {
  /** Extra natkit-peer arguments for both peers. */
  args: string[]
  /** Dial peer-b as `/p2p-circuit/webrtc/p2p/…` (else `/p2p-circuit/p2p/…`). */
  webrtcTarget: boolean
}

/**
 * The one place that maps a lab path to natkit-peer options. With
 * `--direct-paths` (issue 10): tcp → `--direct-paths tcp`, webrtc →
 * `--direct-paths webrtc`, auto → the default. Without it (a peer built before
 * that option) tcp → `--no-webrtc`, webrtc → `--no-holepunch`, and auto
 * cannot be expressed: UnsupportedPathError.
 */
export function peerPathPlan (path: LabPath, directPaths = peerSupportsDirectPaths()): PeerPathPlan {
  if (!(LAB_PATHS as readonly string[]).includes(path)) throw new UnsupportedPathError(`unknown path "${String(path)}" (use ${LAB_PATHS.join(', ')})`)
  if (directPaths) {
    if (path === 'auto') return { args: [], webrtcTarget: false }
    return { args: ['--direct-paths', path], webrtcTarget: path === 'webrtc' }
  }
  if (path === 'auto') throw new UnsupportedPathError('path "auto" needs a natkit-peer with --direct-paths (issue 10); this build has none: use tcp or webrtc')
  return path === 'tcp' ? { args: ['--no-webrtc'], webrtcTarget: false } : { args: ['--no-holepunch'], webrtcTarget: true }
}

/** `0`, `1%`, `5%`, `0.5` → percent (0..MAX_LOSS_PERCENT). */
export function parseLoss (value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value)
  const n = m != null ? Number(m[1]) : NaN
  if (!Number.isFinite(n) || n < 0 || n > MAX_LOSS_PERCENT) throw new InvalidDimensionError(`invalid loss "${value}": a percentage from 0 to ${MAX_LOSS_PERCENT}, e.g. 1%`)
  return n
}

/** A comma list of allowed names, each once; empty entries and unknown names are errors. */
export function parseList<T extends string> (value: string, allowed: readonly T[], flag: string): T[] {
  const items = value.split(',').map(s => s.trim())
  const out: T[] = []
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new InvalidDimensionError(`invalid value "${item}" in ${flag} (use ${allowed.join(', ')})`)
    if (!out.includes(item as T)) out.push(item as T)
  }
  return out
}

/** `off`, `on` or `off,on` (also `0`/`1`, `false`/`true`) → CPU burner settings. */
export function parseCpuLoad (value: string): boolean[] {
  const out: boolean[] = []
  for (const item of value.split(',').map(s => s.trim().toLowerCase())) {
    const v = ['on', '1', 'true', 'yes'].includes(item) ? true : ['off', '0', 'false', 'no'].includes(item) ? false : undefined
    if (v == null) throw new InvalidDimensionError(`invalid value "${item}" in --cpu-load (use off, on or off,on)`)
    if (!out.includes(v)) out.push(v)
  }
  return out
}

/** Trial options for the loss and CPU dimensions (part of `TrialInit`). */
export interface TrialDimensions {
  /** Random loss per frame, per link and direction, on every router, relay and public-peer link (delay line; also at zero delay). @default 0 */
  lossPercent?: number
  /** Seed of the loss generator (each link gets seed + its index). @default the trial number */
  lossSeed?: number
  /** Run a CPU burner beside the peers for the whole trial (see cpuload.ts). @default false */
  cpuLoad?: boolean
  /** Burner processes. @default availableParallelism() */
  cpuWorkers?: number
}

/** The delay lines' own counters, summed over every lossy link of a trial. */
export interface LossStats {
  /** Links with a delay line. */
  links: number
  /** Frames read in both directions. */
  frames: number
  /** Frames dropped by the random loss. */
  lost: number
  /** lost / frames, in percent (two decimals). */
  measuredPercent: number
}

/** Reads every line's counters (bounded by DEFAULT_DELAY_STATS_TIMEOUT_MS each); lines that died count as nothing. */
export async function collectLossStats (lines: DelayLine[]): Promise<LossStats> {
  let frames = 0
  let lost = 0
  for (const line of lines) {
    const s = await line.stats().catch(() => undefined)
    if (s == null) continue
    frames += s.toInternet.received + s.fromInternet.received
    lost += s.toInternet.lost + s.fromInternet.lost
  }
  return { links: lines.length, frames, lost, measuredPercent: frames === 0 ? 0 : Math.round(lost / frames * 10_000) / 100 }
}
