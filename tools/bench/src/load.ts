/**
 * The load: clients that connect and reserve, with bounded concurrency and a
 * bounded phase; then concurrent circuits, held open, with one ping each.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { BenchClient, loopbackSource, pingOverStream } from './client.js'
import type { Stream } from '@libp2p/interface'

/** Where the load goes: the relay's TCP address (without /p2p) and peer id. */
export interface RelayTarget {
  addr: string
  peerId: string
}

export interface ReserveResult {
  clients: BenchClient[]
  granted: number
  failed: number
  /** failure messages, by count */
  errors: Record<string, number>
  elapsedMs: number
}

/** Counts an error under its first line (bounded: at most {@link MAX_ERROR_KINDS} kinds). */
export function countError (errors: Record<string, number>, err: unknown): void {
  const msg = (err instanceof Error ? `${err.name}: ${err.message}` : err instanceof Event ? `${err.constructor.name} ${err.type}` : String(err)).split('\n')[0].slice(0, 160)
  if (errors[msg] == null && Object.keys(errors).length >= MAX_ERROR_KINDS) {
    errors.other = (errors.other ?? 0) + 1
    return
  }
  errors[msg] = (errors[msg] ?? 0) + 1
}

/** Distinct error messages kept per phase. */
export const MAX_ERROR_KINDS = 20

/**
 * Runs `count` tasks, at most `concurrency` at once, and stops starting new
 * ones when `deadline` (a performance.now() time) passes.
 */
async function pool (count: number, concurrency: number, deadline: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count && performance.now() < deadline) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}

/** `count` new clients connect to the relay and reserve; granted clients stay connected (returned). */
export async function reserveMany (relay: RelayTarget, count: number, concurrency: number, phaseTimeoutMs: number, requestTimeoutMs: number, reserve = true, firstSource = 0): Promise<ReserveResult> {
  const addr = multiaddr(relay.addr)
  const relayPeer = peerIdFromString(relay.peerId)
  const result: ReserveResult = { clients: [], granted: 0, failed: 0, errors: {}, elapsedMs: 0 }
  const t0 = performance.now()
  await pool(count, concurrency, t0 + phaseTimeoutMs, async (i) => {
    const client = await BenchClient.create()
    const signal = AbortSignal.timeout(requestTimeoutMs)
    try {
      await client.connect(addr, relayPeer, { signal, localAddress: loopbackSource(firstSource + i) })
      if (reserve) await client.reserve({ signal })
      result.clients.push(client)
      result.granted++
    } catch (err) {
      client.close()
      result.failed++
      countError(result.errors, err)
    }
  })
  result.failed += count - result.granted - result.failed
  result.elapsedMs = performance.now() - t0
  return result
}

export interface CircuitResult {
  attempted: number
  /** circuits that opened and answered their ping */
  succeeded: number
  /** the most circuits open at once (all of the opened ones: none closes before every ping is done) */
  heldAtOnce: number
  /** pings in flight at once over the held circuits */
  pingConcurrency: number
  /** HOP CONNECT sent → circuit open (ms), of the opened ones, all dialled at once */
  dialMs: number[]
  /** one 32-byte ping over each held circuit (ms), `pingConcurrency` at a time, while all are open */
  pingMs: number[]
  /** dials done → pings started (ms): the `beforePings` wait */
  quietWaitMs: number
  /** whether `beforePings` saw the processes quiet (false: it gave up at its bound and the pings ran anyway) */
  quiet: boolean
  errors: Record<string, number>
  elapsedMs: number
}

/**
 * `count` circuits opened at once, each from a source to a destination (round
 * robin over both), and held; once all are open (or failed), one ping over
 * each, `pingConcurrency` at a time, so that the ping times are what the relay
 * adds with `count` circuits held, not the queue of `count` handshakes in this
 * one process; between the dials and the pings, `beforePings` (the bench waits
 * there for the processes to finish the dial burst: see `waitQuiet`, bench.ts);
 * then all are closed. Each dial and each ping is bounded by `timeoutMs`.
 */
export async function circuits (count: number, sources: BenchClient[], destinations: BenchClient[], timeoutMs: number, pingConcurrency: number, beforePings: () => Promise<boolean> = async () => true): Promise<CircuitResult> {
  const result: CircuitResult = { attempted: count, succeeded: 0, heldAtOnce: 0, pingConcurrency, dialMs: [], pingMs: [], quietWaitMs: 0, quiet: true, errors: {}, elapsedMs: 0 }
  const t0 = performance.now()
  if (destinations.length === 0 || sources.length === 0) {
    result.errors[sources.length === 0 ? 'no source connected' : 'no destination holds a reservation'] = count
    return result
  }
  const held: Stream[] = []
  try {
    await Promise.all(Array.from({ length: count }, async (_, i) => {
      const source = sources[i % sources.length]
      const target = destinations[i % destinations.length]
      try {
        const start = performance.now()
        const stream = await source.connectVia(target.peerId, { signal: AbortSignal.timeout(timeoutMs) })
        result.dialMs.push(performance.now() - start)
        held.push(stream)
      } catch (err) {
        countError(result.errors, err)
      }
    }))
    result.heldAtOnce = held.length
    const waited = performance.now()
    result.quiet = await beforePings()
    result.quietWaitMs = performance.now() - waited
    await pool(held.length, pingConcurrency, Number.POSITIVE_INFINITY, async (i) => {
      try {
        result.pingMs.push(await pingOverStream(held[i], { signal: AbortSignal.timeout(timeoutMs) }))
        result.succeeded++
      } catch (err) {
        countError(result.errors, err)
      }
    })
  } finally {
    await Promise.all(held.map(async s => { await s.close({ signal: AbortSignal.timeout(timeoutMs) }).catch(() => {}) }))
  }
  result.elapsedMs = performance.now() - t0
  return result
}

/** The q-quantile (0..1) of `xs` (nearest rank); undefined when empty. */
export function quantile (xs: number[], q: number): number | undefined {
  if (xs.length === 0) return undefined
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

/** {@link quantile}, rounded to 0.1 (the report's precision for milliseconds). */
export function roundedQuantile (xs: number[], q: number): number | undefined {
  const v = quantile(xs, q)
  return v == null ? undefined : Math.round(v * 10) / 10
}
