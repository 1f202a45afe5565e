#!/usr/bin/env node
// Time from the relayed connection to the direct one at the interop delay
// profile (router links 100 ms RTT, relay 25 ms), natkit against go-libp2p in
// the same lab (issue 10: natkit's median <= go's). Runs `natkit-lab run` per
// pairing, port-restricted <-> port-restricted, drop routers, N trials each,
// and writes reports/time-to-direct.json (every trial, a row per pairing).
//
//   node tools/lab/scripts/time-to-direct.mjs [--trials N] [--out FILE]
//
// Needs root and tools/interop/bin (bash tools/interop/build.sh). About 8 s a trial.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Trials per pairing unless --trials says otherwise. */
const DEFAULT_TRIALS = 10
/** Most trials per pairing. */
const MAX_TRIALS = 50
/** Bound on one pairing's run (ms). */
const RUN_TIMEOUT_MS = 30 * 60_000

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..')
const LAB = join(ROOT, 'tools/lab/bin/natkit-lab.js')

/** [name, natkit-lab run arguments]: peer-a dials peer-b through the relay. */
const PAIRINGS = [
  ['go <-> go, go relay', ['--peer-a', 'go', '--peer-b', 'go', '--relay-impl', 'go', '--transport', 'tcp']],
  ['go <-> go, natkit relay', ['--peer-a', 'go', '--peer-b', 'go', '--transport', 'tcp']],
  ['natkit <-> natkit, tcp', ['--transport', 'tcp']],
  ['natkit <-> natkit, auto (default paths)', ['--transport', 'auto']]
]

function usage (message) {
  process.stderr.write(`time-to-direct: ${message}\nusage: time-to-direct.mjs [--trials 1-${MAX_TRIALS}] [--out FILE]\n`)
  process.exit(2)
}

function parseArgs (argv) {
  const opts = { trials: DEFAULT_TRIALS, out: join(ROOT, 'reports/time-to-direct.json') }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (flag === '--trials') {
      if (value == null || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_TRIALS) usage(`invalid --trials "${value ?? ''}": an integer from 1 to ${MAX_TRIALS}`)
      opts.trials = Number(value)
      i++
    } else if (flag === '--out') {
      if (value == null || value === '') usage('--out needs a file name')
      opts.out = value
      i++
    } else {
      usage(`unknown argument "${flag}"`)
    }
  }
  return opts
}

function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return undefined
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

function commit () {
  try {
    return execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

const opts = parseArgs(process.argv.slice(2))
const work = mkdtempSync(join(tmpdir(), 'natkit-ttd-'))
const started = new Date()
const machine = { cpus: availableParallelism(), cpuModel: cpus()[0]?.model, kernel: release(), node: process.versions.node, loadavg: loadavg().map(x => Math.round(x * 100) / 100), commit: commit() }
const rows = []
const results = {}
try {
  for (const [name, args] of PAIRINGS) {
    const json = join(work, `${rows.length}.json`)
    process.stdout.write(`${name}: ${opts.trials} trial(s)\n`)
    const run = spawnSync(process.execPath, [LAB, 'run', '--delay', 'interop', '--trials', String(opts.trials), '--json', json, ...args], { stdio: ['ignore', 'inherit', 'inherit'], timeout: RUN_TIMEOUT_MS })
    if (run.status !== 0) {
      process.stderr.write(`time-to-direct: natkit-lab run for "${name}" failed (exit ${run.status ?? run.signal})\n`)
      process.exit(1)
    }
    const trials = JSON.parse(readFileSync(json, 'utf8')).results
    const direct = trials.filter(t => t.direct && t.remoteDirect === true)
    const ttd = direct.map(t => t.timeToDirectMs)
    rows.push({
      pairing: name,
      trials: trials.length,
      directBothSides: direct.length,
      medianTimeToDirectMs: median(ttd),
      minTimeToDirectMs: ttd.length > 0 ? Math.min(...ttd) : undefined,
      maxTimeToDirectMs: ttd.length > 0 ? Math.max(...ttd) : undefined,
      medianRelayedRttMs: median(trials.map(t => t.relayedRttMs).filter(x => x != null)),
      medianDirectRttMs: median(direct.map(t => t.directRttMs).filter(x => x != null))
    })
    results[name] = trials
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
const finished = new Date()
const report = { label: 'relayed -> direct at the interop delay profile, port-restricted <-> port-restricted, drop routers', started: started.toISOString(), finished: finished.toISOString(), durationMs: finished - started, trialsPerPairing: opts.trials, machine, loadavgAtEnd: loadavg().map(x => Math.round(x * 100) / 100), rows, results }
const tmp = `${opts.out}.${process.pid}.tmp`
writeFileSync(tmp, JSON.stringify(report, null, 2) + '\n')
renameSync(tmp, opts.out)
process.stdout.write('\npairing                                   direct  median ms  range ms      relayed RTT  direct RTT\n')
for (const r of rows) {
  process.stdout.write(`${r.pairing.padEnd(41)} ${`${r.directBothSides}/${r.trials}`.padEnd(7)} ${String(Math.round(r.medianTimeToDirectMs ?? NaN)).padEnd(10)} ${`${Math.round(r.minTimeToDirectMs ?? NaN)}-${Math.round(r.maxTimeToDirectMs ?? NaN)}`.padEnd(13)} ${String(Math.round(r.medianRelayedRttMs ?? NaN)).padEnd(12)} ${Math.round(r.medianDirectRttMs ?? NaN)}\n`)
}
process.stdout.write(`wrote ${opts.out} (${Math.round(report.durationMs / 1000)} s)\n`)
