/**
 * `npm run bench -- [flags]`: the relay capacity benchmark's command line.
 * Every count and time bound is a flag with a named default.
 */
import { parseArgs } from 'node:util'
import { DEFAULT_THROUGHPUT_MIB, DEFAULT_THROUGHPUT_RUNS } from './throughput.js'

/**
 * Reservations made (in two equal stages, so the cost per reservation is
 * measured at two population sizes in the same run).
 *
 * @default 1000
 */
export const DEFAULT_RESERVATIONS = 1_000
/**
 * Concurrent relayed circuits, one ping each.
 *
 * @default 100
 */
export const DEFAULT_CIRCUITS = 100
/** `--full`: issue 14's sizes. */
export const FULL_RESERVATIONS = 10_000
/** `--full`: issue 14's sizes. */
export const FULL_CIRCUITS = 1_000
/**
 * Source clients the circuits are spread over (0 = one source connection per circuit).
 *
 * @default 0
 */
export const DEFAULT_CIRCUIT_SOURCES = 0
/**
 * Connections (clients connecting and reserving) in flight at once.
 *
 * @default 50
 */
export const DEFAULT_CONCURRENCY = 50
/**
 * Bound on each load phase (reserving one stage, connecting the circuits' sources, the circuits), in seconds.
 *
 * @default 300
 */
export const DEFAULT_PHASE_TIMEOUT_S = 300
/**
 * Bound on one client's connect + request (and one circuit's CONNECT + ping), in seconds.
 *
 * @default 60
 */
export const DEFAULT_REQUEST_TIMEOUT_S = 60
/**
 * Idle time with every reservation held, measuring the relay's idle CPU and settled RSS, in seconds
 * (longer than js-libp2p's 10 s connection monitor interval).
 *
 * @default 12
 */
export const DEFAULT_IDLE_S = 12
/**
 * Where the lab's time-to-direct figures come from (`npm run lab:matrix` writes it); copied into the report per NAT pair when present.
 *
 * @default 'reports/matrix.json'
 */
export const DEFAULT_LAB_REPORT = 'reports/matrix.json'
/** @default 'reports/bench.json' */
export const DEFAULT_OUT = 'reports/bench.json'
/** @default 'reports/bench.svg' */
export const DEFAULT_SVG = 'reports/bench.svg'

export const RELAY_IMPLS = ['natkit', 'go'] as const
export type RelayImpl = typeof RELAY_IMPLS[number]

export interface BenchArgs {
  /** relays to run, in order (`--relay natkit|go|both`) */
  relays: RelayImpl[]
  reservations: number
  circuits: number
  /** source clients the circuits are spread over (0 = one per circuit) */
  circuitSources: number
  concurrency: number
  phaseTimeoutMs: number
  requestTimeoutMs: number
  idleMs: number
  /** MiB per throughput run (0 = no throughput phase) */
  throughputMiB: number
  throughputRuns: number
  /** the lab matrix report whose time-to-direct figures the report includes */
  labReport: string
  out: string
  svg: string
  /** write a V8 CPU profile of the natkit relay into this directory */
  cpuProfDir?: string
  help: boolean
}

/** A flag's value is missing or out of range. */
export class BenchUsageError extends Error {
  static override name = 'BenchUsageError'
  override name = 'BenchUsageError'
}

export const BENCH_USAGE = `Usage: npm run bench -- [options]

Relay capacity on loopback: reservations/s, relay CPU and RSS per reservation,
concurrent circuits with one ping each, throughput relayed vs direct vs raw TCP;
natkit-relay and/or a go-libp2p relay. Adds the lab's time to direct per NAT pair
(--lab-report) and the role startup figures (npm run bench:startup) when present.

  --relay <natkit|go|both>   relay(s) under test (default natkit; go needs
                             tools/interop/bin/bench-relay, see tools/bench/README.md)
  --reservations <n>         reservations, made in two equal stages (default ${DEFAULT_RESERVATIONS})
  --circuits <n>             concurrent circuits, one ping each (default ${DEFAULT_CIRCUITS})
  --circuit-sources <n>      source connections the circuits share (default ${DEFAULT_CIRCUIT_SOURCES}: one each)
  --full                     issue 14's sizes: ${FULL_RESERVATIONS} reservations, ${FULL_CIRCUITS} circuits
  --concurrency <n>          connections in flight while reserving (default ${DEFAULT_CONCURRENCY})
  --phase-timeout <s>        bound on each load phase (default ${DEFAULT_PHASE_TIMEOUT_S})
  --request-timeout <s>      bound on one request or circuit (default ${DEFAULT_REQUEST_TIMEOUT_S})
  --idle <s>                 idle time with all reservations held (default ${DEFAULT_IDLE_S})
  --throughput <MiB>         MiB per throughput run over raw TCP, a direct and a relayed
                             libp2p connection (default ${DEFAULT_THROUGHPUT_MIB}; 0 skips it)
  --throughput-runs <n>      runs of each throughput path (default ${DEFAULT_THROUGHPUT_RUNS})
  --lab-report <file>        lab matrix report (npm run lab:matrix) whose time to direct per
                             NAT pair goes into the report (default ${DEFAULT_LAB_REPORT})
  --out <file>               JSON report (default ${DEFAULT_OUT})
  --svg <file>               chart (default ${DEFAULT_SVG})
  --cpu-prof <dir>           write a V8 CPU profile of the natkit relay into <dir>
  -h, --help                 this text`

function int (name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw == null) return fallback
  if (!/^\d+$/.test(raw)) throw new BenchUsageError(`--${name} must be a whole number, got "${raw}"`)
  const n = Number(raw)
  if (n < min || n > max) throw new BenchUsageError(`--${name} must be between ${min} and ${max}, got ${n}`)
  return n
}

/** Pure: argv (after the script name) → validated arguments. */
export function parseBenchArgs (argv: string[]): BenchArgs {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        relay: { type: 'string' },
        reservations: { type: 'string' },
        circuits: { type: 'string' },
        'circuit-sources': { type: 'string' },
        full: { type: 'boolean' },
        concurrency: { type: 'string' },
        'phase-timeout': { type: 'string' },
        'request-timeout': { type: 'string' },
        idle: { type: 'string' },
        throughput: { type: 'string' },
        'throughput-runs': { type: 'string' },
        'lab-report': { type: 'string' },
        out: { type: 'string' },
        svg: { type: 'string' },
        'cpu-prof': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (err) {
    throw new BenchUsageError((err as Error).message.split('\n')[0])
  }
  const relay = values.relay ?? 'natkit'
  if (relay !== 'both' && !(RELAY_IMPLS as readonly string[]).includes(relay)) throw new BenchUsageError(`--relay must be natkit, go or both, got "${relay}"`)
  const full = values.full === true
  return {
    relays: relay === 'both' ? [...RELAY_IMPLS] : [relay as RelayImpl],
    reservations: int('reservations', values.reservations, full ? FULL_RESERVATIONS : DEFAULT_RESERVATIONS, 2, 100_000),
    circuits: int('circuits', values.circuits, full ? FULL_CIRCUITS : DEFAULT_CIRCUITS, 0, 10_000),
    circuitSources: int('circuit-sources', values['circuit-sources'], DEFAULT_CIRCUIT_SOURCES, 0, 10_000),
    concurrency: int('concurrency', values.concurrency, DEFAULT_CONCURRENCY, 1, 1_000),
    phaseTimeoutMs: int('phase-timeout', values['phase-timeout'], DEFAULT_PHASE_TIMEOUT_S, 1, 3_600) * 1000,
    requestTimeoutMs: int('request-timeout', values['request-timeout'], DEFAULT_REQUEST_TIMEOUT_S, 1, 600) * 1000,
    idleMs: int('idle', values.idle, DEFAULT_IDLE_S, 0, 600) * 1000,
    throughputMiB: int('throughput', values.throughput, DEFAULT_THROUGHPUT_MIB, 0, 1_024),
    throughputRuns: int('throughput-runs', values['throughput-runs'], DEFAULT_THROUGHPUT_RUNS, 1, 20),
    labReport: values['lab-report'] ?? DEFAULT_LAB_REPORT,
    out: values.out ?? DEFAULT_OUT,
    svg: values.svg ?? DEFAULT_SVG,
    cpuProfDir: values['cpu-prof'],
    help: values.help === true
  }
}
