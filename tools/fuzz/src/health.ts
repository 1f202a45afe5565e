/**
 * What must hold while and after fuzzing: no uncaught exception, no
 * unhandled rejection (recorded by process listeners), bounded memory: the
 * heap still in use after a full garbage collection (a leak) and the peak
 * resident set (what the fuzzing costs while it runs).
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Finding } from './findings.js'
import { describeError } from './findings.js'

/**
 * Most the peak resident set may grow during a run, in bytes (fuzzer and
 * nodes share the process, and V8 collects lazily: RSS is the cost while
 * running, not a leak measure).
 *
 * @default 512 MiB
 */
export const DEFAULT_MAX_RSS_GROWTH = 512 * 1024 * 1024

/**
 * Most the heap in use after a full collection may grow from the start of a
 * run to its end, in bytes: what the nodes kept of the inputs (a leak of
 * 100 bytes per input is 10 MiB over the CI run's 100k, 100 MiB over 1M).
 *
 * @default 32 MiB
 */
export const DEFAULT_MAX_HEAP_GROWTH = 32 * 1024 * 1024

/** A full garbage collection (V8's `gc`, exposed at run time: no `--expose-gc` needed). */
function collectGarbage (): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
}

/** Heap in use after a full collection. */
function liveHeap (): number {
  collectGarbage()
  return process.memoryUsage().heapUsed
}

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
  /** heap in use after a full collection, at the start and the end */
  heapStartBytes: number
  heapEndBytes: number
  heapGrowthBytes: number
  maxHeapGrowthBytes: number
}

/** Records crashes-in-waiting and samples RSS until `stop()`. */
export class HealthWatch {
  readonly #uncaught: string[] = []
  readonly #rejections: string[] = []
  #start = process.memoryUsage.rss()
  #peak = this.#start
  #heapStart = liveHeap()
  #heapEnd?: number
  readonly #maxHeapGrowth: number
  readonly #timer: NodeJS.Timeout
  readonly #maxGrowth: number
  readonly #onUncaught = (err: unknown): void => { this.#uncaught.push(describeError(err)) }
  readonly #onRejection = (reason: unknown): void => { this.#rejections.push(describeError(reason)) }

  constructor (maxGrowth = DEFAULT_MAX_RSS_GROWTH, maxHeapGrowth = DEFAULT_MAX_HEAP_GROWTH) {
    this.#maxGrowth = maxGrowth
    this.#maxHeapGrowth = maxHeapGrowth
    process.on('uncaughtException', this.#onUncaught)
    process.on('unhandledRejection', this.#onRejection)
    this.#timer = setInterval(() => { this.#sample() }, RSS_SAMPLE_INTERVAL_MS)
    this.#timer.unref()
  }

  /** Measures growth from now on (call once the nodes under test are up). */
  rebase (): void {
    this.#heapStart = liveHeap()
    this.#start = process.memoryUsage.rss()
    this.#peak = this.#start
  }

  /** Measures the live heap at the end of the run (call before the nodes under test stop: they hold what a leak keeps). */
  measureEnd (): void {
    this.#sample()
    this.#heapEnd = liveHeap()
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
    const heapEnd = this.#heapEnd ?? liveHeap()
    const report: HealthReport = {
      uncaughtExceptions: [...this.#uncaught],
      unhandledRejections: [...this.#rejections],
      rssStartBytes: this.#start,
      rssPeakBytes: this.#peak,
      rssEndBytes: end,
      rssGrowthBytes: this.#peak - this.#start,
      maxRssGrowthBytes: this.#maxGrowth,
      heapStartBytes: this.#heapStart,
      heapEndBytes: heapEnd,
      heapGrowthBytes: heapEnd - this.#heapStart,
      maxHeapGrowthBytes: this.#maxHeapGrowth
    }
    const findings: Finding[] = [
      ...report.uncaughtExceptions.map(problem => ({ target: 'process', problem: `uncaught exception: ${problem}` })),
      ...report.unhandledRejections.map(problem => ({ target: 'process', problem: `unhandled rejection: ${problem}` }))
    ]
    if (report.rssGrowthBytes > this.#maxGrowth) {
      findings.push({ target: 'process', problem: `RSS grew by ${mib(report.rssGrowthBytes)} MiB (limit ${mib(this.#maxGrowth)} MiB)` })
    }
    if (report.heapGrowthBytes > this.#maxHeapGrowth) {
      findings.push({ target: 'process', problem: `the heap in use after a full collection grew by ${mib(report.heapGrowthBytes)} MiB (limit ${mib(this.#maxHeapGrowth)} MiB): a leak` })
    }
    return { report, findings }
  }
}

export const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
