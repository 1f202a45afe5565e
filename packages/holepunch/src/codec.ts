/**
 * The DCUtR `HolePunch` message (`src/pb/message.proto`), encoded and decoded
 * by the protons-generated codec in `src/pb/message.ts`. This module adds what
 * the generated code leaves out: the size bound, a strict check of field wire
 * types and of the required `type` (the generated decoder would default it),
 * and typed errors (`HolePunchProtocolError` subclasses) for every bad input.
 *
 * On the wire every message is prefixed with its length as an unsigned varint.
 */
import { reader as createReader, writer as createWriter } from 'protons-runtime'
import { MAX_MESSAGE_SIZE } from './constants.js'
import { HolePunchProtocolError, MalformedMessageError, MessageTooLargeError, TruncatedMessageError, UnknownMessageTypeError } from './errors.js'
import { HolePunch } from './pb/message.js'
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
}

const FIELD_TYPE = 1
const FIELD_OBS_ADDRS = 2
const WIRE_VARINT = 0
const WIRE_LENGTH_DELIMITED = 2

/** Turns a protons-runtime failure into a typed error (`RangeError` = read past the end). */
function toProtocolError (err: unknown, what: string): HolePunchProtocolError {
  if (err instanceof HolePunchProtocolError) return err
  const detail = err instanceof Error ? err.message : String(err)
  return err instanceof RangeError
    ? new TruncatedMessageError(`truncated ${what}: ${detail}`, { cause: err })
    : new MalformedMessageError(`invalid ${what}: ${detail}`, { cause: err })
}

function toBytes (input: Uint8Array | Uint8ArrayList): Uint8Array {
  return input instanceof Uint8Array ? input : input.subarray()
}

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
  const out = HolePunch.encode({ type: HolePunch.Type[msg.type], obsAddrs: msg.obsAddrs as Array<Uint8Array<ArrayBuffer>> })
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
    return { type, obsAddrs }
  } catch (err) {
    throw toProtocolError(err, 'HolePunch message')
  }
}

/** Encodes a message with its uvarint length prefix, ready for the wire. */
export function encodeFrame (msg: HolePunchMessage, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  return createWriter().bytes(encodeHolePunch(msg, maxSize)).finish()
}

/**
 * Decodes one length-prefixed message from the start of `input`. Returns the
 * message and how many bytes it used. A declared length over `maxSize` is
 * rejected before the body is read.
 */
export function decodeFrame (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): { message: HolePunchMessage, bytes: number } {
  const buf = toBytes(input)
  const r = createReader(buf)
  let length: number
  try {
    length = Number(r.uint64())
  } catch (err) {
    throw toProtocolError(err, 'length prefix')
  }
  if (length > maxSize) {
    throw new MessageTooLargeError(`declared message length ${length} exceeds the maximum of ${maxSize} bytes`)
  }
  const end = r.pos + length
  if (end > buf.byteLength) {
    throw new TruncatedMessageError(`expected ${length} bytes, got ${buf.byteLength - r.pos}`)
  }
  return { message: decodeHolePunch(buf.subarray(r.pos, end), maxSize), bytes: end }
}
