/**
 * Codec-level fuzzing: each decoder gets inputs and must decode them or throw
 * one of its typed errors; any other throw, a valid input it rejects, or an
 * input slower than {@link DEFAULT_SLOW_INPUT_MS} is a finding.
 */
import { generate, STRATEGIES, type InputSource, type Strategy } from './generators.js'
import { describeError, hex, MAX_FINDINGS_PER_TARGET, type Finding } from './findings.js'
import type { Rng } from './rng.js'

/**
 * One input taking longer than this to decode is a finding (a decoder must be
 * linear in its bounded input; generous, so a busy CI machine or a GC pause does not trip it).
 *
 * @default 500
 */
export const DEFAULT_SLOW_INPUT_MS = 500

/** A decoder under test: how to make valid inputs, how to decode, which errors are its own. */
export interface CodecTarget extends InputSource {
  name: string
  decode: (input: Uint8Array) => unknown
  /** True for the typed errors a bad input may produce. */
  expected: (err: unknown) => boolean
}

export interface CodecResult {
  target: string
  inputs: number
  decoded: number
  /** rejected inputs by error name */
  rejected: Record<string, number>
  byStrategy: Partial<Record<Strategy, number>>
  maxInputMs: number
  findings: Finding[]
  findingCount: number
}

/** Feeds `count` inputs to `target` (stops early at `deadline`, a `Date.now()` value). */
export function fuzzCodec (target: CodecTarget, rng: Rng, count: number, deadline = Infinity, slowMs = DEFAULT_SLOW_INPUT_MS): CodecResult {
  const r: CodecResult = { target: target.name, inputs: 0, decoded: 0, rejected: {}, byStrategy: {}, maxInputMs: 0, findings: [], findingCount: 0 }
  const find = (f: Omit<Finding, 'target'>): void => {
    r.findingCount++
    if (r.findings.length < MAX_FINDINGS_PER_TARGET) r.findings.push({ target: `codec ${target.name}`, ...f })
  }
  for (let i = 0; i < count; i++) {
    if ((i & 255) === 0 && Date.now() > deadline) break
    const strategy = STRATEGIES[i % STRATEGIES.length]
    const input = generate(rng, target, strategy)
    r.inputs++
    r.byStrategy[strategy] = (r.byStrategy[strategy] ?? 0) + 1
    const start = performance.now()
    try {
      target.decode(input)
      r.decoded++
    } catch (err) {
      if (!target.expected(err)) {
        find({ strategy, problem: `unexpected ${describeError(err)}`, input: hex(input) })
      } else {
        const name = (err as Error).name
        r.rejected[name] = (r.rejected[name] ?? 0) + 1
        if (strategy === 'valid') find({ strategy, problem: `valid input rejected: ${describeError(err)}`, input: hex(input) })
      }
    }
    const ms = performance.now() - start
    if (ms > r.maxInputMs) r.maxInputMs = ms
    if (ms > slowMs) find({ strategy, problem: `took ${ms.toFixed(1)} ms (limit ${slowMs} ms)`, input: hex(input) })
  }
  return r
}
