/**
 * The direct message frames (`src/pb/message.proto`), encoded and decoded by
 * the protons-generated codec in `src/pb/message.ts`, plus what the generated
 * code leaves out: size bounds, required fields and typed errors
 * (`DirectMessageProtocolError` subclasses) for every bad input. On the wire
 * each frame is prefixed with its length as an unsigned varint.
 */
import { reader as createReader, writer as createWriter } from 'protons-runtime'
import { DEFAULT_MAX_TEXT_BYTES, FRAME_OVERHEAD } from './constants.js'
import { DirectMessageMalformedError, DirectMessageProtocolError, DirectMessageTooLargeError, DirectMessageTruncatedError } from './errors.js'
import { DirectMessage, DirectMessageAck } from './pb/message.js'
import type { AbortOptions } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Ack status by name, as on the wire. */
export type AckStatus = 'OK' | 'TOO_LARGE' | 'MALFORMED'

/** A decoded ack frame. */
export interface Ack {
  status: AckStatus
  /** A short reason for a status other than OK. */
  error?: string
}

/** Errors of `@libp2p/utils` lpStream that mean the peer sent a bad frame. */
const FRAMING_ERRORS = new Set(['UnexpectedEOFError', 'InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError'])

const ACK_STATUSES: readonly string[] = ['OK', 'TOO_LARGE', 'MALFORMED']

function toBytes (input: Uint8Array | Uint8ArrayList): Uint8Array {
  return input instanceof Uint8Array ? input : input.subarray()
}

const WIRE_VARINT = 0
const WIRE_LENGTH_DELIMITED = 2

/**
 * Walks the fields once before the generated decoder runs (which trusts the
 * wire type of a known field): each known field must have its wire type, and
 * unknown fields are skipped as protobuf requires (an invalid wire type throws).
 */
function checkWireTypes (buf: Uint8Array, wireTypes: Record<number, number>): void {
  const r = createReader(buf)
  while (r.pos < r.len) {
    const tag = r.uint32()
    const field = tag >>> 3
    const wire = tag & 7
    if (field === 0 || (wireTypes[field] != null && wireTypes[field] !== wire)) {
      throw new DirectMessageMalformedError(`field ${field} has invalid wire type ${wire}`)
    }
    r.skipType(wire)
  }
}

/** Turns a protons-runtime or length-prefix failure into a typed error. */
export function toProtocolError (err: unknown, what: string): DirectMessageProtocolError {
  if (err instanceof DirectMessageProtocolError) return err
  const detail = err instanceof Error ? err.message : String(err)
  const name = err instanceof Error ? err.name : ''
  if (err instanceof RangeError || name === 'UnexpectedEOFError') {
    return new DirectMessageTruncatedError(`truncated ${what}: ${detail}`, { cause: err })
  }
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
    return new DirectMessageTooLargeError(`${what} too large: ${detail}`, { cause: err })
  }
  return new DirectMessageMalformedError(`invalid ${what}: ${detail}`, { cause: err })
}

/** Largest frame accepted for a text bound of `maxTextBytes`. */
export function maxFrameBytes (maxTextBytes: number = DEFAULT_MAX_TEXT_BYTES): number {
  return maxTextBytes + FRAME_OVERHEAD
}

/** Encodes a message body (no length prefix); a text over `maxTextBytes` UTF-8 bytes is refused. */
export function encodeDirectMessage (text: string, maxTextBytes: number = DEFAULT_MAX_TEXT_BYTES): Uint8Array {
  if (typeof text !== 'string') throw new DirectMessageMalformedError('text must be a string')
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > maxTextBytes) {
    throw new DirectMessageTooLargeError(`text of ${bytes} bytes exceeds the maximum of ${maxTextBytes} bytes`)
  }
  return DirectMessage.encode({ text })
}

/** Decodes a message body (no length prefix) and returns its text. */
export function decodeDirectMessage (input: Uint8Array | Uint8ArrayList, maxTextBytes: number = DEFAULT_MAX_TEXT_BYTES): string {
  const buf = toBytes(input)
  if (buf.byteLength > maxFrameBytes(maxTextBytes)) {
    throw new DirectMessageTooLargeError(`frame of ${buf.byteLength} bytes exceeds the maximum of ${maxFrameBytes(maxTextBytes)} bytes`)
  }
  let msg: DirectMessage
  try {
    checkWireTypes(buf, { 1: WIRE_LENGTH_DELIMITED })
    msg = DirectMessage.decode(buf)
  } catch (err) {
    throw toProtocolError(err, 'direct message')
  }
  if (msg.text == null) throw new DirectMessageMalformedError('required field "text" is missing')
  const bytes = Buffer.byteLength(msg.text, 'utf8')
  if (bytes > maxTextBytes) {
    throw new DirectMessageTooLargeError(`text of ${bytes} bytes exceeds the maximum of ${maxTextBytes} bytes`)
  }
  return msg.text
}

/** Encodes an ack body (no length prefix). */
export function encodeAck (ack: Ack): Uint8Array {
  return DirectMessageAck.encode({ status: DirectMessageAck.Status[ack.status], error: ack.error })
}

/** Decodes an ack body (no length prefix); a missing or unknown status is malformed. */
export function decodeAck (input: Uint8Array | Uint8ArrayList): Ack {
  const buf = toBytes(input)
  if (buf.byteLength > FRAME_OVERHEAD + 256) {
    throw new DirectMessageTooLargeError(`ack of ${buf.byteLength} bytes exceeds the maximum of ${FRAME_OVERHEAD + 256} bytes`)
  }
  let ack: DirectMessageAck
  try {
    checkWireTypes(buf, { 1: WIRE_VARINT, 2: WIRE_LENGTH_DELIMITED })
    ack = DirectMessageAck.decode(buf)
  } catch (err) {
    throw toProtocolError(err, 'ack')
  }
  if (ack.status == null || !ACK_STATUSES.includes(ack.status)) {
    throw new DirectMessageMalformedError(`ack has no known status (${String(ack.status)})`)
  }
  return { status: ack.status as AckStatus, ...(ack.error != null ? { error: ack.error } : {}) }
}

/** Prefixes a body with its uvarint length, ready for the wire. */
export function encodeFrame (body: Uint8Array): Uint8Array {
  return createWriter().bytes(body).finish()
}

/**
 * Splits one length-prefixed frame off the start of `input`: returns its body
 * and how many bytes it used. A declared length over `maxBytes` is refused
 * before the body is read.
 */
export function decodeFrame (input: Uint8Array | Uint8ArrayList, maxBytes: number = maxFrameBytes()): { body: Uint8Array, bytes: number } {
  const buf = toBytes(input)
  const r = createReader(buf)
  let length: number
  try {
    length = Number(r.uint64())
  } catch (err) {
    throw toProtocolError(err, 'length prefix')
  }
  if (length > maxBytes) {
    throw new DirectMessageTooLargeError(`declared frame length ${length} exceeds the maximum of ${maxBytes} bytes`)
  }
  const end = r.pos + length
  if (end > buf.byteLength) {
    throw new DirectMessageTruncatedError(`expected ${length} bytes, got ${buf.byteLength - r.pos}`)
  }
  return { body: buf.subarray(r.pos, end), bytes: end }
}

/** Reads one frame body from a length-prefixed stream, with typed errors. */
export async function readFrame (lp: LengthPrefixedStream, what: string, options?: AbortOptions): Promise<Uint8ArrayList> {
  try {
    return await lp.read(options)
  } catch (err) {
    // a reset or closed stream stays what it is; only framing faults become protocol errors
    if (err instanceof Error && FRAMING_ERRORS.has(err.name)) throw toProtocolError(err, what)
    throw err
  }
}
