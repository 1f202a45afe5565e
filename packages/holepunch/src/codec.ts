/**
 * The DCUtR `HolePunch` message (`src/pb/message.proto`), encoded and decoded
 * by the protons-generated codec in `src/pb/message.ts`. This module adds what
 * the generated code leaves out: the size bound, a strict check of field wire
 * types and of the required `type` (the generated decoder would default it),
 * and typed errors (`HolePunchProtocolError` subclasses) for every bad input.
 *
 * On the wire every message is prefixed with its length as an unsigned varint.
 */
import { encodeFrame as frame, framing, toBytes, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from '@natkit/framing'
import { reader as createReader, writer as createWriter } from 'protons-runtime'
import { MAX_MESSAGE_SIZE } from './constants.js'
import { HolePunchProtocolError, MalformedMessageError, MessageTooLargeError, TruncatedMessageError, UnknownMessageTypeError } from './errors.js'
import { HolePunch } from './pb/message.js'
import type { MappingHint } from './observed.js'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Numeric enum values of `HolePunch.Type` on the wire. */
export const MESSAGE_TYPE = { CONNECT: 100, SYNC: 300 } as const

/** `HolePunch.Type` by name. */
export type HolePunchType = keyof typeof MESSAGE_TYPE

/** A decoded DCUtR message. */
export interface HolePunchMessage {
  type: HolePunchType
  /** Raw multiaddr bytes, not validated by the codec. */
  obsAddrs: Uint8Array[]
  /**
   * natkit extension (field {@link FIELD_NATKIT_MAPPING}, a field number no
   * DCUtR implementation uses; stock peers skip unknown fields as protobuf
   * requires): what the sender knows of its own NAT's mapping.
   */
  mapping?: MappingHint
}

/**
 * Field number of natkit's mapping extension in the `HolePunch` message: a
 * nested message `{ 1: mapping (1 endpoint-independent, 2 endpoint-dependent),
 * 2: allocation (0 unknown, 1 sequential, 2 random), 3: stride (sint32),
 * 4: port (uint32) }`.
 */
export const FIELD_NATKIT_MAPPING = 1000
/** Largest accepted mapping extension body in bytes. */
const MAX_MAPPING_SIZE = 32
const MAPPINGS = ['endpoint-independent', 'endpoint-dependent'] as const
const ALLOCATIONS = ['unknown', 'sequential', 'random'] as const

function encodeMapping (m: MappingHint): Uint8Array {
  const w = createWriter()
  w.uint32(8).uint32(MAPPINGS.indexOf(m.mapping) + 1)
  w.uint32(16).uint32(ALLOCATIONS.indexOf(m.allocation))
  if (m.stride != null) w.uint32(24).sint32(m.stride)
  w.uint32(32).uint32(m.port)
  return w.finish()
}

/** The mapping extension, or undefined if it is malformed (an extension never fails the message). */
function decodeMapping (buf: Uint8Array): MappingHint | undefined {
  if (buf.byteLength > MAX_MAPPING_SIZE) return undefined
  try {
    const r = createReader(buf)
    let mapping: MappingHint['mapping'] | undefined
    let allocation: MappingHint['allocation'] = 'unknown'
    let stride: number | undefined
    let port: number | undefined
    while (r.pos < r.len) {
      const tag = r.uint32()
      if ((tag & 7) !== WIRE_VARINT) return undefined
      switch (tag >>> 3) {
        case 1: mapping = MAPPINGS[r.uint32() - 1]; break
        case 2: allocation = ALLOCATIONS[r.uint32()] ?? 'unknown'; break
        case 3: stride = r.sint32(); break
        case 4: port = r.uint32(); break
        default: r.skipType(WIRE_VARINT)
      }
    }
    if (mapping == null || port == null || port <= 0 || port > 65535) return undefined
    if (stride != null && (stride === 0 || Math.abs(stride) > 65535)) stride = undefined
    return { mapping, allocation: stride == null && allocation === 'sequential' ? 'unknown' : allocation, ...(stride != null && allocation === 'sequential' ? { stride } : {}), port }
  } catch {
    return undefined
  }
}

/** The last mapping extension field of a message body, if any. */
function findMapping (buf: Uint8Array): MappingHint | undefined {
  const r = createReader(buf)
  let found: MappingHint | undefined
  while (r.pos < r.len) {
    const tag = r.uint32()
    if (tag >>> 3 === FIELD_NATKIT_MAPPING && (tag & 7) === WIRE_LENGTH_DELIMITED) {
      found = decodeMapping(r.bytes())
    } else {
      r.skipType(tag & 7)
    }
  }
  return found
}

const FIELD_TYPE = 1
const FIELD_OBS_ADDRS = 2

/** Length-prefix framing raising DCUtR's errors (a protons-runtime `RangeError` = read past the end). */
const frames = framing({ base: HolePunchProtocolError, truncated: TruncatedMessageError, tooLarge: MessageTooLargeError, malformed: MalformedMessageError, unit: 'message' })

/**
 * Walks the fields once before the generated decoder runs: known fields must
 * have their wire type, `type` must be present and a known value, varints at
 * most 10 bytes. Unknown fields are skipped as protobuf requires.
 */
function checkFields (buf: Uint8Array): void {
  const r = createReader(buf)
  let hasType = false
  while (r.pos < r.len) {
    const tag = r.uint32()
    const field = tag >>> 3
    const wire = tag & 7
    if (field === 0 || (field === FIELD_TYPE && wire !== WIRE_VARINT) || (field === FIELD_OBS_ADDRS && wire !== WIRE_LENGTH_DELIMITED)) {
      throw new MalformedMessageError(`field ${field} has invalid wire type ${wire}`)
    }
    if (wire === WIRE_VARINT) {
      const value = r.uint64()
      if (field === FIELD_TYPE) {
        if (value !== BigInt(MESSAGE_TYPE.CONNECT) && value !== BigInt(MESSAGE_TYPE.SYNC)) {
          throw new UnknownMessageTypeError(`unknown message type ${value}`)
        }
        hasType = true
      }
    } else {
      r.skipType(wire)
    }
  }
  if (!hasType) {
    throw new MalformedMessageError('required field "type" is missing')
  }
}

/**
 * Encodes a message body (without length prefix). Throws
 * `MessageTooLargeError` if it would exceed `maxSize`.
 */
export function encodeHolePunch (msg: HolePunchMessage, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  if (!Object.hasOwn(MESSAGE_TYPE, msg.type)) {
    throw new UnknownMessageTypeError(`unknown message type ${String(msg.type)}`)
  }
  let out: Uint8Array = HolePunch.encode({ type: HolePunch.Type[msg.type], obsAddrs: msg.obsAddrs as Array<Uint8Array<ArrayBuffer>> })
  if (msg.mapping != null) {
    const ext = createWriter().uint32((FIELD_NATKIT_MAPPING << 3) | WIRE_LENGTH_DELIMITED).bytes(encodeMapping(msg.mapping)).finish()
    const joined = new Uint8Array(out.byteLength + ext.byteLength)
    joined.set(out)
    joined.set(ext, out.byteLength)
    out = joined
  }
  if (out.byteLength > maxSize) {
    throw new MessageTooLargeError(`message of ${out.byteLength} bytes exceeds the maximum of ${maxSize} bytes`)
  }
  return out
}

/**
 * Decodes a message body (without length prefix). Unknown fields are skipped
 * as protobuf requires; a missing or unknown `type` is rejected.
 */
export function decodeHolePunch (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): HolePunchMessage {
  const buf = toBytes(input)
  if (buf.byteLength > maxSize) {
    throw new MessageTooLargeError(`message of ${buf.byteLength} bytes exceeds the maximum of ${maxSize} bytes`)
  }
  try {
    checkFields(buf)
    const { type, obsAddrs } = HolePunch.decode(buf)
    if (type !== HolePunch.Type.CONNECT && type !== HolePunch.Type.SYNC) {
      throw new UnknownMessageTypeError(`unknown message type ${String(type)}`)
    }
    const mapping = findMapping(buf)
    return { type, obsAddrs, ...(mapping != null ? { mapping } : {}) }
  } catch (err) {
    throw frames.toProtocolError(err, 'HolePunch message')
  }
}

/** Encodes a message with its uvarint length prefix, ready for the wire. */
export function encodeFrame (msg: HolePunchMessage, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  return frame(encodeHolePunch(msg, maxSize))
}

/**
 * Decodes one length-prefixed message from the start of `input`. Returns the
 * message and how many bytes it used. A declared length over `maxSize` is
 * rejected before the body is read.
 */
export function decodeFrame (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): { message: HolePunchMessage, bytes: number } {
  const { body, bytes } = frames.decodeFrame(input, maxSize)
  return { message: decodeHolePunch(body, maxSize), bytes }
}
