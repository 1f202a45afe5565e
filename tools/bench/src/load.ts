/**
 * The load: clients that connect and reserve, with bounded concurrency and a
 * bounded phase; then concurrent circuits with one ping each.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { BenchClient, loopbackSource, pingOverStream } from './client.js'

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
  succeeded: number
  /** HOP CONNECT sent → circuit open (ms), of the succeeded ones */
  dialMs: number[]
  /** one 32-byte ping over the open circuit (ms) */
  pingMs: number[]
  errors: Record<string, number>
  elapsedMs: number
}

/**
 * `count` circuits at once, each from a source to a destination (round robin
 * over both) with one ping over it; bounded by `timeoutMs` each.
 */
export async function circuits (count: number, sources: BenchClient[], destinations: BenchClient[], timeoutMs: number): Promise<CircuitResult> {
  const result: CircuitResult = { attempted: count, succeeded: 0, dialMs: [], pingMs: [], errors: {}, elapsedMs: 0 }
  const t0 = performance.now()
  if (destinations.length === 0 || sources.length === 0) {
    result.errors[sources.length === 0 ? 'no source connected' : 'no destination holds a reservation'] = count
    return result
  }
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const source = sources[i % sources.length]
    const target = destinations[i % destinations.length]
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      const start = performance.now()
      const stream = await source.connectVia(target.peerId, { signal })
      const dial = performance.now() - start
      const ping = await pingOverStream(stream, { signal })
      await stream.close({ signal }).catch(() => {})
      result.dialMs.push(dial)
      result.pingMs.push(ping)
      result.succeeded++
    } catch (err) {
      countError(result.errors, err)
    }
  }))
  result.elapsedMs = performance.now() - t0
  return result
}

/** The q-quantile (0..1) of `xs` (nearest rank); undefined when empty. */
export function quantile (xs: number[], q: number): number | undefined {
  if (xs.length === 0) return undefined
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}
