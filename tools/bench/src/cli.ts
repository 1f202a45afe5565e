/** `npm run bench`: runs the relay(s), writes the JSON report and the chart. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { REPO_ROOT } from '@natkit/lab'
import { BENCH_USAGE, BenchUsageError, parseBenchArgs } from './args.js'
import { runRelay, type RelayRun } from './bench.js'
import { benchSvg, buildReport, LabReportError, readTimeToDirect, type BenchReport } from './report.js'
import { RelayStartError } from './relay-proc.js'

/** Where `npm run bench:startup` writes the role startup figures the report includes. */
export const STARTUP_REPORT = 'reports/startup.json'

/** Runs the benchmark; the exit code (0 done, 1 a relay could not run, 2 bad arguments). */
export async function main (argv: string[]): Promise<number> {
  let args
  try {
    args = parseBenchArgs(argv)
  } catch (err) {
    if (err instanceof BenchUsageError) { console.error(`natkit-bench: ${err.message}`); return 2 }
    throw err
  }
  if (args.help) { console.log(BENCH_USAGE); return 0 }
  const out = resolve(REPO_ROOT, args.out)
  const svg = resolve(REPO_ROOT, args.svg)
  // read before the relays run: a bad report is a usage error, not minutes later
  let timeToDirect
  try {
    timeToDirect = readTimeToDirect(resolve(REPO_ROOT, args.labReport), args.labReport)
  } catch (err) {
    if (err instanceof LabReportError) { console.error(`natkit-bench: --lab-report ${err.message}`); return 2 }
    throw err
  }
  const runs: RelayRun[] = []
  try {
    for (const impl of args.relays) runs.push(await runRelay(impl, args, line => { console.log(`bench: ${line}`) }))
  } catch (err) {
    if (err instanceof RelayStartError) { console.error(`natkit-bench: ${err.message}`); return 1 }
    throw err
  }
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) as BenchReport : undefined
  const report = buildReport(runs, { reservations: args.reservations, circuits: args.circuits, concurrency: args.concurrency }, previous, resolve(REPO_ROOT, STARTUP_REPORT), timeToDirect)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
  writeFileSync(svg, benchSvg(report))
  if (report.ratioNatkitToGo != null) console.log(`bench: natkit/go ${JSON.stringify(report.ratioNatkitToGo)}`)
  console.log(`bench: wrote ${args.out} and ${args.svg}`)
  return 0
}
