/**
 * The direct message frames (`src/pb/message.proto`), encoded and decoded by
 * the protons-generated codec in `src/pb/message.ts`, plus what the generated
 * code leaves out: size bounds, required fields and typed errors
 * (`DirectMessageProtocolError` subclasses) for every bad input. On the wire
 * each frame is prefixed with its length as an unsigned varint.
 */
import { framing, toBytes, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from '@natkit/framing'
import { DEFAULT_MAX_TEXT_BYTES, FRAME_OVERHEAD } from './constants.js'
import { DirectMessageMalformedError, DirectMessageProtocolError, DirectMessageTooLargeError, DirectMessageTruncatedError } from './errors.js'
import { DirectMessage, DirectMessageAck } from './pb/message.js'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Ack status by name, as on the wire. */
export type AckStatus = 'OK' | 'TOO_LARGE' | 'MALFORMED'

/** A decoded ack frame. */
export interface Ack {
  status: AckStatus
  /** A short reason for a status other than OK. */
  error?: string
}

const ACK_STATUSES: readonly string[] = ['OK', 'TOO_LARGE', 'MALFORMED']

/** Length-prefix framing and wire-type checks raising the direct message errors. */
const frames = framing({ base: DirectMessageProtocolError, truncated: DirectMessageTruncatedError, tooLarge: DirectMessageTooLargeError, malformed: DirectMessageMalformedError })
const { checkWireTypes, toProtocolError } = frames

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

export { encodeFrame } from '@natkit/framing'

/**
 * Splits one length-prefixed frame off the start of `input`: returns its body
 * and how many bytes it used. A declared length over `maxBytes` is refused
 * before the body is read.
 */
export function decodeFrame (input: Uint8Array | Uint8ArrayList, maxBytes: number = maxFrameBytes()): { body: Uint8Array, bytes: number } {
  return frames.decodeFrame(input, maxBytes)
}

/** Reads one frame body from a length-prefixed stream, with typed errors. */
export const readFrame = frames.readFrame
