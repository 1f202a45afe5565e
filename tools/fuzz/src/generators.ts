/**
 * Deterministic input generators. Each input is derived from a valid message
 * of the target (its `valid(rng)`), or is random: random bytes, truncated
 * valid frames, oversized length prefixes, valid frames followed by garbage,
 * mutated valid frames (bit flips, byte edits, chunk insert/delete/duplicate)
 * and corrupted varints (overlong, maximal, cut).
 */
import type { Rng } from './rng.js'

/** How an input was made. */
export const STRATEGIES = ['random', 'truncated', 'oversized', 'prefix-garbage', 'mutated', 'varint', 'valid'] as const
export type Strategy = typeof STRATEGIES[number]

/**
 * Largest random or garbage tail, in bytes.
 *
 * @default 2048
 */
export const DEFAULT_MAX_GARBAGE = 2048

/** Unsigned LEB128 varint of `n` (up to 2^53). */
export function varint (n: number | bigint): Uint8Array {
  let v = BigInt(n)
  const out: number[] = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return Uint8Array.from(out)
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

/** `body` with its unsigned varint length prefix (the framing of every libp2p protobuf stream). */
export function lengthPrefixed (body: Uint8Array): Uint8Array {
  return concat(varint(body.length), body)
}

/** Random bytes, lengths skewed towards small. */
function randomBytes (rng: Rng, max: number): Uint8Array {
  const n = rng.chance(0.7) ? rng.int(64) : rng.int(max + 1)
  return rng.bytes(n)
}

/** Length prefixes a reader must refuse before allocating or waiting for the body. */
const HUGE_LENGTHS: ReadonlyArray<number | bigint> = [0x7fffffff, 0xffffffff, 2 ** 32, 2 ** 53 - 1, (1n << 63n) - 1n, (1n << 64n) - 1n]

function oversized (rng: Rng, valid: Uint8Array, maxSize: number): Uint8Array {
  const length = rng.chance(0.5) ? rng.pick(HUGE_LENGTHS) : maxSize + 1 + rng.int(maxSize * 4 + 1)
  // the declared length, then a little (or a whole valid frame's worth) of body
  return concat(varint(length), rng.chance(0.5) ? valid : rng.bytes(rng.int(64)))
}

function mutate (rng: Rng, input: Uint8Array): Uint8Array {
  let out: Uint8Array = Uint8Array.from(input)
  const edits = 1 + rng.int(4)
  for (let e = 0; e < edits; e++) {
    const i = rng.int(Math.max(out.length, 1))
    switch (rng.int(6)) {
      case 0: if (out.length > 0) out[i] ^= 1 << rng.int(8); break
      case 1: if (out.length > 0) out[i] = rng.pick([0x00, 0x7f, 0x80, 0xff, 0x01]); break
      case 2: out = concat(out.subarray(0, i), rng.bytes(1 + rng.int(8)), out.subarray(i)); break
      case 3: out = concat(out.subarray(0, i), out.subarray(Math.min(out.length, i + 1 + rng.int(8)))); break
      case 4: { const j = rng.int(out.length + 1); out = concat(out.subarray(0, i), out.subarray(Math.min(i, j), Math.max(i, j)), out.subarray(i)); break }
      default: if (out.length > 0) out[i] = rng.u32() & 0xff
    }
  }
  return out
}

/** Replaces a varint (the one at a random position, often the leading length prefix) with an overlong, maximal or cut one. */
function corruptVarint (rng: Rng, input: Uint8Array): Uint8Array {
  let start = rng.chance(0.5) ? 0 : rng.int(Math.max(input.length, 1))
  start = Math.min(start, input.length)
  let end = start
  while (end < input.length && (input[end] & 0x80) !== 0) end++
  end = Math.min(end + 1, input.length)
  const replacement = rng.pick([
    () => new Uint8Array(10 + rng.int(8)).fill(0x80), // never ends within 10 bytes
    () => Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // 2^64 - 1
    () => Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), // 2^32 - 1
    () => Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), // overlong zero
    () => Uint8Array.from([0x80 | rng.int(128)]) // cut: continuation bit and nothing after
  ])()
  return concat(input.subarray(0, start), replacement, rng.chance(0.3) ? new Uint8Array(0) : input.subarray(end))
}

/** What a generator needs from a target. */
export interface InputSource {
  /** One valid input (a whole frame, or a datagram). */
  valid: (rng: Rng) => Uint8Array
  /** The target's declared size limit: oversized inputs exceed it. */
  maxSize: number
  /** Largest random or garbage input. @default DEFAULT_MAX_GARBAGE */
  maxGarbage?: number
  /** Inputs over the size limit, when not a length prefix (e.g. a datagram). @default a huge varint length prefix */
  oversized?: (rng: Rng) => Uint8Array
}

/** One fuzz input by `strategy` (or a random one). */
export function generate (rng: Rng, source: InputSource, strategy: Strategy = rng.pick(STRATEGIES)): Uint8Array {
  const maxGarbage = source.maxGarbage ?? DEFAULT_MAX_GARBAGE
  switch (strategy) {
    case 'random': return randomBytes(rng, maxGarbage)
    case 'valid': return source.valid(rng)
    case 'truncated': { const v = source.valid(rng); return v.subarray(0, rng.int(Math.max(v.length, 1))) }
    case 'oversized': return source.oversized?.(rng) ?? oversized(rng, source.valid(rng), source.maxSize)
    case 'prefix-garbage': return concat(source.valid(rng), randomBytes(rng, maxGarbage))
    case 'mutated': return mutate(rng, source.valid(rng))
    case 'varint': return corruptVarint(rng, source.valid(rng))
  }
}
