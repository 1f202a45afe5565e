/**
 * Stream-level fuzzing: opens streams of a protocol on a real libp2p
 * connection, writes one fuzz input, closes the write side and waits (bounded)
 * for the handler to finish. Outcomes are tallied; whatever the handler does
 * to one stream (close, reset, time out) is allowed — crashes, unhandled
 * rejections, memory growth and a dead service are checked by the suite.
 */
import { pingConnection } from '@natkit/node'
import { describeError } from './findings.js'
import { generate, STRATEGIES, type Strategy } from './generators.js'
import type { FuzzedRole } from './roles.js'
import type { Rng } from './rng.js'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * How long one fuzz stream may take (open, write, the handler's answer and close).
 *
 * @default 2000
 */
export const DEFAULT_STREAM_INPUT_TIMEOUT_MS = 2_000

/**
 * Streams of one target open at once. More than a handler's
 * `maxInboundStreams` (1 for identify push) get reset during negotiation,
 * which the opener does not see (it waits for its timeout); and yamux closes a
 * connection on which more than 10 streams wait for their first
 * acknowledgement, which bounds the targets fuzzed at once on one connection.
 *
 * @default 1
 */
export const DEFAULT_STREAM_CONCURRENCY = 1

/**
 * Bytes of the handler's answers read per stream (the rest is dropped with the stream).
 *
 * @default 65536
 */
export const MAX_ANSWER_BYTES = 64 * 1024

/** What one fuzz stream ended with. */
export type StreamOutcome = 'closed' | 'reset' | 'timeout' | 'refused'

/** Values a stream target's `valid` gets: the two ends' identities. */
export interface StreamContext {
  /** the fuzzing node's peer id (bytes) and public key (protobuf bytes) */
  attackerId: Uint8Array
  attackerPublicKey: Uint8Array
  /** the node under test's peer id (bytes) */
  targetId: Uint8Array
}

/** A protocol handler under test. To add one: the role serving it, its protocol id, valid frames and their size limit. */
export interface StreamTarget {
  role: FuzzedRole
  protocol: string
  /** One valid input as a client writes it (length-prefixed frames). */
  valid: (rng: Rng, ctx: StreamContext) => Uint8Array
  /** The handler's message size limit (oversized inputs declare more). */
  maxSize: number
  /**
   * Keeps an input from completing a request that makes the node dial out
   * (e.g. DCUtR CONNECT then SYNC, AutoNAT DialRequest then dial data): the
   * fuzz runs must not send packets to the addresses inside mutated messages.
   */
  sanitize?: (input: Uint8Array) => Uint8Array
  /**
   * The connection the streams go on: `direct` (the fuzzer dialed the node
   * under test over TCP) or `relayed` (the node under test dialed the fuzzer
   * through the relay: DCUtR's A answers only there).
   *
   * @default 'direct'
   */
  via?: 'direct' | 'relayed'
  /** Time one stream may take, when the handler is known to keep refused streams half-open. @default DEFAULT_STREAM_INPUT_TIMEOUT_MS */
  timeout?: number
  /** Streams open at once. @default DEFAULT_STREAM_CONCURRENCY */
  concurrency?: number
}

export interface StreamResult {
  target: string
  inputs: number
  outcomes: Record<StreamOutcome, number>
  byStrategy: Partial<Record<Strategy, number>>
  bytesSent: number
  bytesReceived: number
  /** connections found closed by the remote (and redialled) */
  connectionsLost: number
  /** why the last stream could not be opened, if one could not */
  lastRefusal?: string
}

/** Gets a connection to the node under test (redials when the last one closed). */
export type ConnectionSource = () => Promise<Connection>

/** Sends `input` on a new stream and waits (at most `timeout` ms) for the remote to finish with it. */
export async function sendOnStream (conn: Connection, protocol: string, input: Uint8Array, timeout: number, runOnLimitedConnection = false): Promise<{ outcome: StreamOutcome, received: number, error?: string }> {
  const signal = AbortSignal.timeout(timeout)
  let stream: Stream
  try {
    stream = await conn.newStream(protocol, { signal, runOnLimitedConnection })
  } catch (err) {
    return { outcome: signal.aborted ? 'timeout' : 'refused', received: 0, error: describeError(err) }
  }
  let received = 0
  const ended = new Promise<StreamOutcome>((resolve) => {
    // the remote may have reset the stream before newStream resolved (e.g. a handler that refuses it at once)
    if (stream.status === 'reset' || stream.status === 'aborted') { resolve('reset'); return }
    if (stream.status === 'closed') { resolve('closed'); return }
    stream.addEventListener('message', (evt) => {
      received += evt.data.byteLength
      if (received > MAX_ANSWER_BYTES) stream.abort(new Error('answer too long'))
    })
    stream.addEventListener('close', (evt) => { resolve(evt.error != null ? 'reset' : 'closed') }, { once: true })
    signal.addEventListener('abort', () => { resolve('timeout') }, { once: true })
  })
  try {
    if (input.byteLength > 0 && !stream.send(input)) {
      await new Promise<void>((resolve) => {
        stream.addEventListener('drain', () => { resolve() }, { once: true })
        stream.addEventListener('close', () => { resolve() }, { once: true })
        signal.addEventListener('abort', () => { resolve() }, { once: true })
      })
    }
    if (stream.status === 'open') await stream.close({ signal })
  } catch {
    // the remote reset the stream or the time ran out: `ended` says which
  }
  const outcome = await ended
  if (stream.status !== 'closed' && stream.status !== 'aborted' && stream.status !== 'reset') stream.abort(new Error('fuzz input done'))
  return { outcome, received }
}

/** A target's name in results: role, protocol and, when relayed, `(relayed)`. */
export function streamTargetName (target: Pick<StreamTarget, 'role' | 'protocol' | 'via'>): string {
  return `${target.role} ${target.protocol}${target.via === 'relayed' ? ' (relayed)' : ''}`
}

/** Runs `count` inputs of `target` against the node `connect` reaches (stops early at `deadline`). */
export async function fuzzStream (target: StreamTarget, rng: Rng, ctx: StreamContext, connect: ConnectionSource, count: number, deadline = Infinity, init: { timeout?: number, concurrency?: number } = {}): Promise<StreamResult> {
  const timeout = init.timeout ?? target.timeout ?? DEFAULT_STREAM_INPUT_TIMEOUT_MS
  const r: StreamResult = { target: streamTargetName(target), inputs: 0, outcomes: { closed: 0, reset: 0, timeout: 0, refused: 0 }, byStrategy: {}, bytesSent: 0, bytesReceived: 0, connectionsLost: 0 }
  const source = { valid: (g: Rng) => target.valid(g, ctx), maxSize: target.maxSize }
  let next = 0
  await Promise.all(Array.from({ length: init.concurrency ?? target.concurrency ?? DEFAULT_STREAM_CONCURRENCY }, async () => {
    while (next < count && Date.now() < deadline) {
      const i = next++
      const strategy = STRATEGIES[i % STRATEGIES.length]
      const raw = generate(rng, source, strategy)
      const input = target.sanitize?.(raw) ?? raw
      const conn = await connect()
      const { outcome, received, error } = await sendOnStream(conn, target.protocol, input, timeout, target.via === 'relayed')
      if (error != null) r.lastRefusal = error
      if (outcome === 'refused' && /Closed/.test(error ?? '')) {
        // the muxer is gone while the connection still says open: close it, so the next input redials
        r.connectionsLost++
        await conn.close().catch(() => { conn.abort(new Error('connection lost')) })
      }
      r.inputs++
      r.outcomes[outcome]++
      r.byStrategy[strategy] = (r.byStrategy[strategy] ?? 0) + 1
      r.bytesSent += input.byteLength
      r.bytesReceived += received
    }
  }))
  return r
}

/**
 * Time the first stream on a new connection may take (it waits for the
 * connection's setup: identify both ways).
 *
 * @default 10000
 */
export const DEFAULT_WARM_UP_TIMEOUT_MS = 10_000

/**
 * A source of relayed connections that `dialer` opened to `listener` through
 * the relay (`circuit`: the listener's circuit address), as the listener sees
 * them (inbound): the one open, or a new one `dialer` dials when the last
 * closed (e.g. at the relay's circuit data limit).
 */
export function relayedConnectionFrom (dialer: Libp2p, listener: Libp2p, circuit: Multiaddr, timeout = DEFAULT_WARM_UP_TIMEOUT_MS): ConnectionSource {
  const find = (): Connection | undefined => listener.getConnections(dialer.peerId).find(c => c.status === 'open' && c.direction === 'inbound' && c.remoteAddr.toString().includes('/p2p-circuit'))
  let current: Promise<Connection> | undefined
  return async () => {
    const open = find()
    if (open != null) return open
    current ??= (async () => {
      try {
        await dialer.dial(circuit, { signal: AbortSignal.timeout(timeout) })
        const deadline = Date.now() + timeout
        let conn = find()
        while (conn == null && Date.now() < deadline) {
          await new Promise(resolve => setTimeout(resolve, 10))
          conn = find()
        }
        if (conn == null) throw new Error(`${listener.peerId.toString()} saw no relayed connection from ${dialer.peerId.toString()} within ${timeout} ms`)
        return conn
      } finally {
        current = undefined
      }
    })()
    return await current
  }
}

/**
 * A source that keeps one connection to `addr` open from `dial`, redialling
 * when it closed. A new connection is warmed up with one ping round trip, so
 * that fuzz inputs are not timed against the connection's setup.
 */
export function connectionTo (dial: (addr: Multiaddr) => Promise<Connection>, addr: Multiaddr): ConnectionSource {
  let current: Promise<Connection> | undefined
  return async () => {
    const conn = current != null ? await current.catch(() => undefined) : undefined
    if (conn?.status === 'open') return conn
    current = (async () => {
      const fresh = await dial(addr)
      await pingConnection(fresh, { signal: AbortSignal.timeout(DEFAULT_WARM_UP_TIMEOUT_MS) }).catch(() => {})
      return fresh
    })()
    return await current
  }
}
