/**
 * What must hold while and after fuzzing: no uncaught exception, no
 * unhandled rejection (recorded by process listeners), bounded RSS growth.
 */
import type { Finding } from './findings.js'
import { describeError } from './findings.js'

/**
 * Most the resident set may grow during a run, in bytes (fuzzer and nodes
 * share the process; a leak per input grows far past this over 100k inputs).
 *
 * @default 256 MiB
 */
export const DEFAULT_MAX_RSS_GROWTH = 256 * 1024 * 1024

/**
 * Interval of RSS samples, in ms.
 *
 * @default 250
 */
export const RSS_SAMPLE_INTERVAL_MS = 250

export interface HealthReport {
  uncaughtExceptions: string[]
  unhandledRejections: string[]
  rssStartBytes: number
  rssPeakBytes: number
  rssEndBytes: number
  /** peak minus start */
  rssGrowthBytes: number
  maxRssGrowthBytes: number
}

/** Records crashes-in-waiting and samples RSS until `stop()`. */
export class HealthWatch {
  readonly #uncaught: string[] = []
  readonly #rejections: string[] = []
  #start = process.memoryUsage.rss()
  #peak = this.#start
  readonly #timer: NodeJS.Timeout
  readonly #maxGrowth: number
  readonly #onUncaught = (err: unknown): void => { this.#uncaught.push(describeError(err)) }
  readonly #onRejection = (reason: unknown): void => { this.#rejections.push(describeError(reason)) }

  constructor (maxGrowth = DEFAULT_MAX_RSS_GROWTH) {
    this.#maxGrowth = maxGrowth
    process.on('uncaughtException', this.#onUncaught)
    process.on('unhandledRejection', this.#onRejection)
    this.#timer = setInterval(() => { this.#sample() }, RSS_SAMPLE_INTERVAL_MS)
    this.#timer.unref()
  }

  /** Measures growth from now on (call once the nodes under test are up). */
  rebase (): void {
    this.#start = process.memoryUsage.rss()
    this.#peak = this.#start
  }

  #sample (): number {
    const rss = process.memoryUsage.rss()
    if (rss > this.#peak) this.#peak = rss
    return rss
  }

  /** Stops watching; the report and its findings. */
  stop (): { report: HealthReport, findings: Finding[] } {
    clearInterval(this.#timer)
    process.off('uncaughtException', this.#onUncaught)
    process.off('unhandledRejection', this.#onRejection)
    const end = this.#sample()
    const report: HealthReport = {
      uncaughtExceptions: [...this.#uncaught],
      unhandledRejections: [...this.#rejections],
      rssStartBytes: this.#start,
      rssPeakBytes: this.#peak,
      rssEndBytes: end,
      rssGrowthBytes: this.#peak - this.#start,
      maxRssGrowthBytes: this.#maxGrowth
    }
    const findings: Finding[] = [
      ...report.uncaughtExceptions.map(problem => ({ target: 'process', problem: `uncaught exception: ${problem}` })),
      ...report.unhandledRejections.map(problem => ({ target: 'process', problem: `unhandled rejection: ${problem}` }))
    ]
    if (report.rssGrowthBytes > this.#maxGrowth) {
      findings.push({ target: 'process', problem: `RSS grew by ${mib(report.rssGrowthBytes)} MiB (limit ${mib(this.#maxGrowth)} MiB)` })
    }
    return { report, findings }
  }
}

export const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
