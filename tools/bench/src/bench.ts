/**
 * One relay's run: start it, reserve in two equal stages (the cost per
 * reservation at two population sizes), idle with every reservation held,
 * then concurrent circuits with one ping each; CPU and RSS from /proc. Then
 * throughput through a fresh relay (relayed vs direct vs raw TCP).
 */
import os from 'node:os'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { circuits, countError, roundedQuantile as q, reserveMany, type CircuitResult } from './load.js'
import { summarizeNewestProfile, type ProfileEntry } from './profile.js'
import { RelayProcess, type RelayLimits } from './relay-proc.js'
import { measureThroughput, type ThroughputFigures } from './throughput.js'
import type { ProcStat } from '@natkit/testkit/proc'
import type { BenchArgs, RelayImpl } from './args.js'
import type { BenchClient } from './client.js'

/**
 * Wait after the relay's `listening` before its baseline is read (its start-up work settles).
 *
 * @default 2000
 */
export const DEFAULT_SETTLE_MS = 2_000

/**
 * Between the circuits' dials and their pings the bench waits until the relay
 * and the load generator are quiet: each below this many cores over one
 * {@link DEFAULT_QUIET_WINDOW_MS} window. Without it the first `--concurrency`
 * pings queue behind the dial burst's trailing work (the relay answers HOP
 * before it has wired and recorded the circuit; measured: ~100 ms for the
 * first 50 pings after 1,000 dials, 15–30 ms for the rest), and what that
 * costs is already in the dial p50/p99. Read from /proc and
 * `process.cpuUsage()`, not reported by the relay.
 *
 * @default 0.5
 */
export const DEFAULT_QUIET_CORES = 0.5

/** @default 100 */
export const DEFAULT_QUIET_WINDOW_MS = 100

/**
 * The bound on that wait: past it the pings run anyway and the report says
 * `quiet: false`.
 *
 * @default 5000
 */
export const DEFAULT_QUIET_MAX_MS = 5_000

/**
 * Waits, window by window (bounded by `maxMs`), until the relay and this
 * process each used less than `cores` of a core over one window; true when
 * they did.
 */
export async function waitQuiet (relay: { stat: () => ProcStat }, cores = DEFAULT_QUIET_CORES, windowMs = DEFAULT_QUIET_WINDOW_MS, maxMs = DEFAULT_QUIET_MAX_MS): Promise<boolean> {
  const t0 = performance.now()
  while (performance.now() - t0 < maxMs) {
    const relay0 = relay.stat().cpuMs
    const self0 = process.cpuUsage()
    const w0 = performance.now()
    await new Promise(resolve => setTimeout(resolve, windowMs))
    const elapsed = performance.now() - w0
    const self = process.cpuUsage(self0)
    const selfCores = (self.user + self.system) / 1000 / elapsed
    const relayCores = (relay.stat().cpuMs - relay0) / elapsed
    if (relayCores < cores && selfCores < cores) return true
  }
  return false
}

/**
 * A full collection of the load generator's own heap (Node's documented
 * `--expose-gc` at run time), run before the pings: with ~11,000 client
 * connections in this one process its young-generation collections take
 * 30–70 ms, and one landing among the pings (they last ~0.5 s) adds its pause
 * to every ping in flight — the load generator's pause, not the relay's. After
 * this the pings usually run without one; the relay's collections are its own
 * and stay in the figures.
 */
export function collectLoadGeneratorGarbage (): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
}

/** One reservation stage's figures. */
export interface StageFigures {
  /** reservations held before and after the stage */
  from: number
  to: number
  granted: number
  failed: number
  reservationsPerS: number
  /** relay CPU time (user + system) per granted reservation */
  cpuMsPerReservation: number
  /** relay RSS growth per granted reservation (KiB) */
  rssKiBPerReservation: number
  errors: Record<string, number>
}

export interface CircuitFigures {
  attempted: number
  succeeded: number
  failureRate: number
  /** circuits open at once while pinging */
  heldAtOnce: number
  /** pings in flight at once (the bench's --concurrency) */
  pingConcurrency: number
  dialP50Ms?: number
  dialP99Ms?: number
  pingP50Ms?: number
  pingP99Ms?: number
  /** all dialled → pings started: the wait for the relay and the load generator to be quiet ({@link waitQuiet}) */
  quietWaitMs: number
  /** false when that wait hit its bound ({@link DEFAULT_QUIET_MAX_MS}) and the pings ran on busy processes */
  quiet: boolean
  /** relay CPU during the circuits phase per attempted circuit */
  cpuMsPerCircuit: number
  elapsedMs: number
  errors: Record<string, number>
}

export interface RelayRun {
  relay: RelayImpl
  loadavgBefore: number[]
  loadavgAfter: number[]
  baseline: { rssMiB: number, cpuMs: number }
  reservations: {
    requested: number
    granted: number
    reservationsPerS: number
    cpuMsPerReservation: number
    stages: [StageFigures, StageFigures]
    /** stage 2's CPU per reservation over stage 1's: 1 = flat in the number held */
    cpuGrowth: number
  }
  idle: {
    seconds: number
    /** relay CPU while every reservation is idle (cores) */
    cpuCores: number
    /** settled RSS above the baseline per held reservation (KiB) */
    rssKiBPerReservation: number
    rssMiB: number
    /** reserved clients whose connection closed by the end of the idle period */
    connectionsLost: number
    /** why they closed (error → count) */
    lostReasons: Record<string, number>
  }
  circuits?: CircuitFigures
  /** `--throughput`: the same bytes over raw TCP, a direct and a relayed libp2p connection (a relay of its own) */
  throughput?: ThroughputFigures
  /** the load generator's own CPU over the run (ms), to show it is not the bottleneck */
  loadGeneratorCpuMs: number
  /** relay stdout lines (events) seen */
  relayEventLines: number
  /** `--cpu-prof`: the natkit relay's top self-time functions over the whole run */
  profile?: { file: string, top: ProfileEntry[] }
}

const KiB = 1024
const MiB = 1024 * 1024
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

/** Closes every client of a phase. */
function closeAll (clients: BenchClient[]): void {
  for (const c of clients) c.close()
}

function stage (from: number, r: { granted: number, failed: number, elapsedMs: number, errors: Record<string, number> }, before: ProcStat, after: ProcStat): StageFigures {
  const n = Math.max(1, r.granted)
  return {
    from,
    to: from + r.granted,
    granted: r.granted,
    failed: r.failed,
    reservationsPerS: round(r.granted / (r.elapsedMs / 1000), 1),
    cpuMsPerReservation: round((after.cpuMs - before.cpuMs) / n),
    rssKiBPerReservation: round((after.rssBytes - before.rssBytes) / KiB / n, 1),
    errors: r.errors
  }
}

function circuitFigures (r: CircuitResult, before: ProcStat, after: ProcStat): CircuitFigures {
  return {
    attempted: r.attempted,
    succeeded: r.succeeded,
    failureRate: r.attempted === 0 ? 0 : round((r.attempted - r.succeeded) / r.attempted, 4),
    heldAtOnce: r.heldAtOnce,
    pingConcurrency: r.pingConcurrency,
    dialP50Ms: q(r.dialMs, 0.5),
    dialP99Ms: q(r.dialMs, 0.99),
    pingP50Ms: q(r.pingMs, 0.5),
    pingP99Ms: q(r.pingMs, 0.99),
    quietWaitMs: Math.round(r.quietWaitMs),
    quiet: r.quiet,
    cpuMsPerCircuit: round((after.cpuMs - before.cpuMs) / Math.max(1, r.attempted)),
    elapsedMs: Math.round(r.elapsedMs),
    errors: r.errors
  }
}

/** The relay's limits for this run: above the load. */
function limitsOf (args: BenchArgs): RelayLimits {
  // a relayed throughput run moves --throughput MiB (plus noise and yamux framing) over one circuit
  return { reservations: args.reservations, circuits: args.circuits, concurrency: args.concurrency, circuitDataBytes: Math.max(128 * KiB, 2 * args.throughputMiB * MiB) }
}

/**
 * The throughput phase, on a relay of its own (started and stopped here, so the capacity phases' relay is not
 * touched by its buffers): the same bytes over raw TCP, a direct and a relayed libp2p connection.
 */
async function runThroughput (impl: RelayImpl, args: BenchArgs, log: (line: string) => void): Promise<ThroughputFigures> {
  const relay = await RelayProcess.start(impl, limitsOf(args))
  try {
    const t = await measureThroughput(relay, () => relay.stat(), args.throughputMiB, args.throughputRuns)
    log(`${impl}: throughput (${args.throughputMiB} MiB a run, median of ${args.throughputRuns}): raw TCP ${t.rawTcp.mibPerS} MiB/s, direct libp2p ${t.direct.mibPerS} MiB/s, relayed by the ${impl} relay ${t.relayed.mibPerS} MiB/s (${t.relayedToDirect} of direct), relay ${t.relayCpuMsPerMiB} ms CPU per MiB relayed`)
    return t
  } finally {
    await relay.stop()
  }
}

/** Runs the whole load against one relay (started and stopped here); `log` gets progress lines. */
export async function runRelay (impl: RelayImpl, args: BenchArgs, log: (line: string) => void): Promise<RelayRun> {
  const selfCpu0 = process.cpuUsage()
  const loadavgBefore = os.loadavg().map(x => round(x))
  const relay = await RelayProcess.start(impl, limitsOf(args), impl === 'natkit' ? args.cpuProfDir : undefined)
  const held: BenchClient[] = []
  let run: RelayRun
  try {
    await new Promise(resolve => setTimeout(resolve, DEFAULT_SETTLE_MS))
    const base = relay.stat()
    log(`${impl}: relay ${relay.peerId} at ${relay.addr}, baseline RSS ${round(base.rssBytes / MiB, 1)} MiB`)
    const target = { addr: relay.addr, peerId: relay.peerId }
    const half = Math.floor(args.reservations / 2)
    const sizes = [half, args.reservations - half]
    const stats: ProcStat[] = [base]
    const stages: StageFigures[] = []
    const t0 = performance.now()
    /** each client's loopback source address index */
    let nextSource = 0
    for (const size of sizes) {
      const r = await reserveMany(target, size, args.concurrency, args.phaseTimeoutMs, args.requestTimeoutMs, true, nextSource)
      nextSource += size
      held.push(...r.clients)
      stats.push(relay.stat())
      const s = stage(held.length - r.granted, r, stats.at(-2) as ProcStat, stats.at(-1) as ProcStat)
      stages.push(s)
      log(`${impl}: reservations ${s.from}→${s.to}: ${s.granted} granted, ${s.failed} failed, ${s.reservationsPerS}/s, ${s.cpuMsPerReservation} ms CPU and ${s.rssKiBPerReservation} KiB each${s.failed > 0 ? `; errors ${JSON.stringify(s.errors)}` : ''}`)
    }
    const reservingMs = performance.now() - t0
    const reserved = stats.at(-1) as ProcStat
    await new Promise(resolve => setTimeout(resolve, args.idleMs))
    const idle = relay.stat()
    const idleFigures = {
      seconds: args.idleMs / 1000,
      cpuCores: args.idleMs > 0 ? round((idle.cpuMs - reserved.cpuMs) / args.idleMs, 3) : 0,
      rssKiBPerReservation: round((idle.rssBytes - base.rssBytes) / KiB / Math.max(1, held.length), 1),
      rssMiB: round(idle.rssBytes / MiB, 1),
      connectionsLost: held.filter(c => !c.connected).length,
      lostReasons: {} as Record<string, number>
    }
    for (const c of held) if (!c.connected) countError(idleFigures.lostReasons, c.closeReason)
    log(`${impl}: idle ${idleFigures.seconds} s with ${held.length} reservations: ${idleFigures.cpuCores} cores, RSS ${idleFigures.rssMiB} MiB (${idleFigures.rssKiBPerReservation} KiB per reservation above baseline), ${idleFigures.connectionsLost} connections lost${idleFigures.connectionsLost > 0 ? ` ${JSON.stringify(idleFigures.lostReasons)}` : ''}`)
    let circuitRun: CircuitFigures | undefined
    if (args.circuits > 0 && held.length > 0) {
      const sources = await reserveMany(target, args.circuitSources > 0 ? Math.min(args.circuitSources, args.circuits) : args.circuits, args.concurrency, args.phaseTimeoutMs, args.requestTimeoutMs, false, nextSource)
      try {
        const before = relay.stat()
        const r = await circuits(args.circuits, sources.clients, held.filter(c => c.connected), args.requestTimeoutMs, args.concurrency, async () => { collectLoadGeneratorGarbage(); return await waitQuiet(relay) })
        // why sources could not connect (their circuits went over the other sources)
        for (const [k, v] of Object.entries(sources.errors)) r.errors[`connect: ${k}`] = v
        circuitRun = circuitFigures(r, before, relay.stat())
        log(`${impl}: ${circuitRun.succeeded}/${circuitRun.attempted} circuits (${circuitRun.heldAtOnce} held at once), dial p50 ${circuitRun.dialP50Ms} ms p99 ${circuitRun.dialP99Ms} ms, ping p50 ${circuitRun.pingP50Ms} ms p99 ${circuitRun.pingP99Ms} ms (${circuitRun.pingConcurrency} at a time, after ${circuitRun.quietWaitMs} ms for quiet${circuitRun.quiet ? '' : ': not quiet'}), ${circuitRun.cpuMsPerCircuit} ms CPU each${circuitRun.succeeded < circuitRun.attempted ? `; errors ${JSON.stringify(circuitRun.errors)}` : ''}`)
      } finally {
        closeAll(sources.clients)
      }
    }
    const granted = stages[0].granted + stages[1].granted
    const cpu = reserved.cpuMs - base.cpuMs
    const self = process.cpuUsage(selfCpu0)
    run = {
      relay: impl,
      loadavgBefore,
      loadavgAfter: os.loadavg().map(x => round(x)),
      baseline: { rssMiB: round(base.rssBytes / MiB, 1), cpuMs: base.cpuMs },
      reservations: {
        requested: args.reservations,
        granted,
        reservationsPerS: round(granted / (reservingMs / 1000), 1),
        cpuMsPerReservation: round(cpu / Math.max(1, granted)),
        stages: [stages[0], stages[1]],
        cpuGrowth: round(stages[1].cpuMsPerReservation / Math.max(0.001, stages[0].cpuMsPerReservation))
      },
      idle: idleFigures,
      circuits: circuitRun,
      loadGeneratorCpuMs: Math.round((self.user + self.system) / 1000),
      relayEventLines: relay.lines
    }
  } finally {
    closeAll(held)
    await relay.stop()
  }
  // the profile is written when the relay exits
  const profile = impl === 'natkit' && args.cpuProfDir != null ? summarizeNewestProfile(args.cpuProfDir) : undefined
  // after the capacity phases: its two nodes and 3 × 2 × --throughput MiB through this process must not weigh on
  // the load generator's latencies there
  if (args.throughputMiB > 0) run.throughput = await runThroughput(impl, args, log)
  return profile != null ? { ...run, profile } : run
}
