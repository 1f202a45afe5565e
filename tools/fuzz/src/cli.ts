/**
 * `natkit-fuzz [--inputs N] [--seed N] [--max-duration MS] [--report FILE]`:
 * one fuzz run, figures on stdout, the report as JSON. Exit 0 with no
 * findings, 1 with findings (listed), 2 on a usage error.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { mib } from './health.js'
import { DEFAULT_MAX_DURATION_MS, runSuite, type SuiteReport } from './suite.js'

/**
 * Inputs of a run without `--inputs`.
 *
 * @default 1000000
 */
export const DEFAULT_CLI_INPUTS = 1_000_000

/**
 * Most inputs a run accepts (bounded in count).
 *
 * @default 100000000
 */
export const MAX_CLI_INPUTS = 100_000_000

/** The report path without `--report`, relative to the working directory. */
export const DEFAULT_REPORT = 'reports/fuzz.json'

/** A bad command line: one line naming the problem (exit 2). */
export class FuzzUsageError extends Error {
  static override name = 'FuzzUsageError'
  override name = 'FuzzUsageError'
}

function positiveInt (name: string, value: string | undefined, fallback: number, max: number): number {
  if (value == null) return fallback
  if (!/^\d{1,12}$/.test(value) || Number(value) < 1 || Number(value) > max) throw new FuzzUsageError(`--${name} must be an integer in 1-${max}, got "${value.slice(0, 40)}"`)
  return Number(value)
}

export interface CliOptions { inputs: number, seed: number, maxDurationMs: number, report: string }

export function parseCli (argv: string[]): CliOptions {
  let values: Record<string, string | undefined>
  try {
    ({ values } = parseArgs({ args: argv, options: { inputs: { type: 'string' }, seed: { type: 'string' }, 'max-duration': { type: 'string' }, report: { type: 'string' } }, strict: true, allowPositionals: false }) as { values: Record<string, string | undefined> })
  } catch (err) {
    throw new FuzzUsageError((err as Error).message.split('\n')[0])
  }
  return {
    inputs: positiveInt('inputs', values.inputs, DEFAULT_CLI_INPUTS, MAX_CLI_INPUTS),
    seed: values.seed == null ? 1 : positiveInt('seed', values.seed, 1, 0xffffffff),
    maxDurationMs: positiveInt('max-duration', values['max-duration'], DEFAULT_MAX_DURATION_MS, 24 * 3_600_000),
    report: values.report ?? DEFAULT_REPORT
  }
}

/** The closing figures of a run, one line each. */
export function summarize (r: SuiteReport): string[] {
  const p = r.phases
  return [
    `inputs: ${r.inputs} of ${r.inputsRequested} in ${(r.durationMs / 1000).toFixed(1)} s (${r.inputsPerSecond}/s), seed ${r.seed}`,
    `  codec ${p.codec.inputs} (${p.codec.inputsPerSecond}/s), stream ${p.stream.inputs} (${p.stream.inputsPerSecond}/s), udp ${p.udp.inputs} (${p.udp.inputsPerSecond}/s)`,
    `peer DCUtR: ${r.dcutr.handled} streams read by the responder, ${r.dcutr.refused} refused (not on a relayed connection it dialed), ${r.dcutr.busy} busy`,
    `honest clients: ${r.honest.filter(h => h.ok).length}/${r.honest.length} served`,
    `memory: live heap after GC +${mib(r.health.heapGrowthBytes)} MiB (limit ${mib(r.health.maxHeapGrowthBytes)} MiB), peak RSS +${mib(r.health.rssGrowthBytes)} MiB (limit ${mib(r.health.maxRssGrowthBytes)} MiB); uncaught exceptions ${r.health.uncaughtExceptions.length}, unhandled rejections ${r.health.unhandledRejections.length}`,
    `findings: ${r.findingCount}`,
    ...r.findings.map(f => `  ${f.target}${f.strategy != null ? ` [${f.strategy}]` : ''}: ${f.problem}${f.input != null ? ` input ${f.input}` : ''}`)
  ]
}

export async function main (argv: string[]): Promise<number> {
  let options: CliOptions
  try {
    options = parseCli(argv)
  } catch (err) {
    if (err instanceof FuzzUsageError) {
      console.error(`natkit-fuzz: ${err.message}`)
      return 2
    }
    throw err
  }
  const report = await runSuite({ inputs: options.inputs, seed: options.seed, maxDurationMs: options.maxDurationMs, log: (line) => { console.log(line) } })
  for (const line of summarize(report)) console.log(line)
  const path = resolve(options.report)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, JSON.stringify({ generatedBy: `natkit-fuzz --inputs ${options.inputs} --seed ${options.seed}`, node: process.version, ...report }, null, 2) + '\n')
  console.log(`report: ${path}`)
  return report.findingCount === 0 && report.inputs >= report.inputsRequested ? 0 : 1
}
