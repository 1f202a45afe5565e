/**
 * A small hand-written codec for the DCUtR `HolePunch` protobuf message:
 *
 * ```protobuf
 * message HolePunch {
 *   enum Type { CONNECT = 100; SYNC = 300; }
 *   required Type type = 1;
 *   repeated bytes ObsAddrs = 2;
 * }
 * ```
 *
 * On the wire every message is prefixed with its length as an unsigned varint.
 */
import type { Uint8ArrayList } from 'uint8arraylist'
import { MAX_MESSAGE_SIZE } from './constants.js'
import { MalformedMessageError, MessageTooLargeError, TruncatedMessageError, UnknownMessageTypeError } from './errors.js'

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

/** Longest varint we accept (10 bytes is the protobuf maximum for 64 bits). */
const MAX_VARINT_BYTES = 10
const FIELD_TYPE = 1
const FIELD_OBS_ADDRS = 2
const WIRE_VARINT = 0
const WIRE_FIXED64 = 1
const WIRE_LENGTH_DELIMITED = 2
const WIRE_FIXED32 = 5

/** Bytes needed to encode `value` as an unsigned varint. */
export function varintLength (value: number): number {
  let n = 1
  while (value >= 0x80) {
    value = Math.floor(value / 128)
    n++
  }
  return n
}

function writeVarint (value: number, out: Uint8Array, offset: number): number {
  while (value >= 0x80) {
    out[offset++] = (value % 128) | 0x80
    value = Math.floor(value / 128)
  }
  out[offset++] = value
  return offset
}

/**
 * Reads an unsigned varint at `offset`. Throws `TruncatedMessageError` when the
 * input ends inside the varint and `MalformedMessageError` when it is longer
 * than 10 bytes or exceeds `Number.MAX_SAFE_INTEGER`.
 */
export function readVarint (buf: Uint8Array, offset: number): { value: number, offset: number } {
  let value = 0
  let scale = 1
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (offset >= buf.byteLength) {
      throw new TruncatedMessageError('truncated varint')
    }
    const byte = buf[offset++]
    value += (byte & 0x7f) * scale
    if (value > Number.MAX_SAFE_INTEGER) {
      throw new MalformedMessageError('varint too large')
    }
    if ((byte & 0x80) === 0) {
      return { value, offset }
    }
    scale *= 128
  }
  throw new MalformedMessageError(`varint longer than ${MAX_VARINT_BYTES} bytes`)
}

/**
 * Encodes a message body (without length prefix). Throws
 * `MessageTooLargeError` if it would exceed `maxSize`.
 */
export function encodeHolePunch (msg: HolePunchMessage, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  const typeValue = MESSAGE_TYPE[msg.type]
  if (typeValue == null) {
    throw new UnknownMessageTypeError(`unknown message type ${String(msg.type)}`)
  }
  let size = 1 + varintLength(typeValue)
  for (const addr of msg.obsAddrs) {
    size += 1 + varintLength(addr.byteLength) + addr.byteLength
  }
  if (size > maxSize) {
    throw new MessageTooLargeError(`message of ${size} bytes exceeds the maximum of ${maxSize} bytes`)
  }
  const out = new Uint8Array(size)
  let offset = 0
  out[offset++] = (FIELD_TYPE << 3) | WIRE_VARINT
  offset = writeVarint(typeValue, out, offset)
  for (const addr of msg.obsAddrs) {
    out[offset++] = (FIELD_OBS_ADDRS << 3) | WIRE_LENGTH_DELIMITED
    offset = writeVarint(addr.byteLength, out, offset)
    out.set(addr, offset)
    offset += addr.byteLength
  }
  return out
}

/**
 * Decodes a message body (without length prefix). Unknown fields are skipped
 * as protobuf requires; a missing or unknown `type` is rejected.
 */
export function decodeHolePunch (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): HolePunchMessage {
  const buf = input instanceof Uint8Array ? input : input.subarray()
  if (buf.byteLength > maxSize) {
    throw new MessageTooLargeError(`message of ${buf.byteLength} bytes exceeds the maximum of ${maxSize} bytes`)
  }
  let type: HolePunchType | undefined
  const obsAddrs: Uint8Array[] = []
  let offset = 0
  while (offset < buf.byteLength) {
    const tag = readVarint(buf, offset)
    offset = tag.offset
    const field = Math.floor(tag.value / 8)
    const wire = tag.value % 8
    if (field === FIELD_TYPE && wire === WIRE_VARINT) {
      const v = readVarint(buf, offset)
      offset = v.offset
      if (v.value === MESSAGE_TYPE.CONNECT) type = 'CONNECT'
      else if (v.value === MESSAGE_TYPE.SYNC) type = 'SYNC'
      else throw new UnknownMessageTypeError(`unknown message type ${v.value}`)
    } else if (field === FIELD_OBS_ADDRS && wire === WIRE_LENGTH_DELIMITED) {
      const len = readVarint(buf, offset)
      offset = len.offset
      if (offset + len.value > buf.byteLength) {
        throw new TruncatedMessageError('truncated ObsAddrs field')
      }
      obsAddrs.push(buf.slice(offset, offset + len.value))
      offset += len.value
    } else if (field === FIELD_TYPE || field === FIELD_OBS_ADDRS || field === 0) {
      throw new MalformedMessageError(`field ${field} has invalid wire type ${wire}`)
    } else {
      offset = skipField(buf, offset, wire)
    }
  }
  if (type == null) {
    throw new MalformedMessageError('required field "type" is missing')
  }
  return { type, obsAddrs }
}

function skipField (buf: Uint8Array, offset: number, wire: number): number {
  let end: number
  switch (wire) {
    case WIRE_VARINT:
      return readVarint(buf, offset).offset
    case WIRE_FIXED64:
      end = offset + 8
      break
    case WIRE_FIXED32:
      end = offset + 4
      break
    case WIRE_LENGTH_DELIMITED: {
      const len = readVarint(buf, offset)
      end = len.offset + len.value
      break
    }
    default:
      throw new MalformedMessageError(`unsupported wire type ${wire}`)
  }
  if (end > buf.byteLength) {
    throw new TruncatedMessageError('truncated unknown field')
  }
  return end
}

/** Encodes a message with its uvarint length prefix, ready for the wire. */
export function encodeFrame (msg: HolePunchMessage, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  const body = encodeHolePunch(msg, maxSize)
  const out = new Uint8Array(varintLength(body.byteLength) + body.byteLength)
  const offset = writeVarint(body.byteLength, out, 0)
  out.set(body, offset)
  return out
}

/**
 * Decodes one length-prefixed message from the start of `input`. Returns the
 * message and how many bytes it used. A declared length over `maxSize` is
 * rejected before the body is read.
 */
export function decodeFrame (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): { message: HolePunchMessage, bytes: number } {
  const buf = input instanceof Uint8Array ? input : input.subarray()
  const len = readVarint(buf, 0)
  if (len.value > maxSize) {
    throw new MessageTooLargeError(`declared message length ${len.value} exceeds the maximum of ${maxSize} bytes`)
  }
  if (len.offset + len.value > buf.byteLength) {
    throw new TruncatedMessageError(`expected ${len.value} bytes, got ${buf.byteLength - len.offset}`)
  }
  const message = decodeHolePunch(buf.subarray(len.offset, len.offset + len.value), maxSize)
  return { message, bytes: len.offset + len.value }
}
