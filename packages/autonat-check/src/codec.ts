/**
 * The AutoNAT v2 protobuf messages
 * (https://github.com/libp2p/specs/blob/master/autonat/autonat-v2.md,
 * `src/pb/message.proto`), encoded and decoded by the protons-generated codec
 * in `src/pb/message.ts`. This module adds what the generated code leaves out:
 * size bounds, range checks of numbers before encoding, a strict check of
 * field wire types, "last `oneof` variant wins", unsigned `fixed64` values
 * (the runtime reader returns them signed) and typed errors
 * (`AutoNATCodecError` subclasses) for every bad input.
 *
 * proto3 semantics: zero values are not written, missing fields decode to
 * zero, unknown fields are skipped, enums are open (unknown numeric values are
 * kept so callers can report them). The functions here handle message bodies;
 * the varint length prefix is added by the stream layer.
 */
import { reader as createReader } from 'protons-runtime'
import { MAX_DIAL_REQUEST_ADDRS, MAX_MESSAGE_SIZE } from './constants.js'
import { AutoNATCodecError, MalformedMessageError, MessageTooLargeError } from './errors.js'
import * as pb from './pb/message.js'
import type { Reader } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

/** `DialStatus` values on the wire. */
export const DIAL_STATUS = { UNUSED: 0, E_DIAL_ERROR: 100, E_DIAL_BACK_ERROR: 101, OK: 200 } as const

/** `DialResponse.ResponseStatus` values on the wire. */
export const RESPONSE_STATUS = { E_INTERNAL_ERROR: 0, E_REQUEST_REJECTED: 100, E_DIAL_REFUSED: 101, OK: 200 } as const

/** `DialBackResponse.DialBackStatus` values on the wire. */
export const DIAL_BACK_STATUS = { OK: 0 } as const

/** Asks the server to dial one of `addrs` (raw multiaddr bytes) and deliver `nonce`. */
export interface DialRequest {
  addrs: Uint8Array[]
  /** Unsigned 64-bit value. */
  nonce: bigint
}

/** Outcome of a dial request. `status`/`dialStatus` are numeric (see `RESPONSE_STATUS`, `DIAL_STATUS`). */
export interface DialResponse {
  status: number
  addrIdx: number
  dialStatus: number
}

/** Server asks for `numBytes` of payload before dialing `addrs[addrIdx]`. */
export interface DialDataRequest {
  addrIdx: number
  /** Unsigned 64-bit value. */
  numBytes: bigint
}

/** One chunk of anti-amplification payload. */
export interface DialDataResponse {
  data: Uint8Array
}

/** The `Message` envelope of the dial-request stream; exactly one variant is set. */
export type AutoNATMessage =
  | { dialRequest: DialRequest, dialResponse?: undefined, dialDataRequest?: undefined, dialDataResponse?: undefined }
  | { dialResponse: DialResponse, dialRequest?: undefined, dialDataRequest?: undefined, dialDataResponse?: undefined }
  | { dialDataRequest: DialDataRequest, dialRequest?: undefined, dialResponse?: undefined, dialDataResponse?: undefined }
  | { dialDataResponse: DialDataResponse, dialRequest?: undefined, dialResponse?: undefined, dialDataRequest?: undefined }

/** Sent by the server on the dial-back stream. */
export interface DialBack {
  nonce: bigint
}

/** Sent by the client on the dial-back stream. `status` is numeric (see `DIAL_BACK_STATUS`). */
export interface DialBackResponse {
  status: number
}

const WIRE_VARINT = 0
const WIRE_FIXED64 = 1
const WIRE_LENGTH_DELIMITED = 2
const MAX_UINT32 = 0xffffffff
const MAX_UINT64 = (1n << 64n) - 1n

/** Expected wire type of each known field; a nested schema means an embedded message. */
interface Schema { [field: number]: number | Schema }

const DIAL_REQUEST: Schema = { 1: WIRE_LENGTH_DELIMITED, 2: WIRE_FIXED64 }
const DIAL_RESPONSE: Schema = { 1: WIRE_VARINT, 2: WIRE_VARINT, 3: WIRE_VARINT }
const DIAL_DATA_REQUEST: Schema = { 1: WIRE_VARINT, 2: WIRE_VARINT }
const DIAL_DATA_RESPONSE: Schema = { 1: WIRE_LENGTH_DELIMITED }
const MESSAGE: Schema = { 1: DIAL_REQUEST, 2: DIAL_RESPONSE, 3: DIAL_DATA_REQUEST, 4: DIAL_DATA_RESPONSE }
const DIAL_BACK: Schema = { 1: WIRE_FIXED64 }
const DIAL_BACK_RESPONSE: Schema = { 1: WIRE_VARINT }

/** A known field found by `checkWireTypes`; for an embedded message, `start`..`end` is its body. */
interface Field { field: number, start: number, end: number }

/** `Message` oneof variants. */
const VARIANTS = ['dialRequest', 'dialResponse', 'dialDataRequest', 'dialDataResponse'] as const

function checkUint64 (value: bigint, field: string): void {
  if (value < 0n || value > MAX_UINT64) {
    throw new MalformedMessageError(`${field} ${value} does not fit in an unsigned 64-bit integer`)
  }
}

function checkUint32 (value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32) {
    throw new MalformedMessageError(`${field} ${value} does not fit in an unsigned 32-bit integer`)
  }
}

function checkSize (out: Uint8Array, maxSize: number, name = 'message'): Uint8Array {
  if (out.byteLength > maxSize) {
    throw new MessageTooLargeError(`${name} of ${out.byteLength} bytes exceeds the maximum of ${maxSize} bytes`)
  }
  return out
}

/**
 * Walks the fields of a message (and of its embedded messages) up to `end`
 * before the generated decoder runs: known fields must have their wire type,
 * field 0 is invalid, embedded messages must end exactly at their length.
 * Returns the known fields in wire order, with where their value starts and ends.
 */
function checkWireTypes (r: Reader, end: number, schema: Schema, name: string): Field[] {
  const seen: Field[] = []
  while (r.pos < end) {
    const tag = r.uint32()
    const field = tag >>> 3
    const wireType = tag & 7
    if (field === 0) {
      throw new MalformedMessageError(`${name} has a field number 0`)
    }
    const expected = schema[field]
    if (expected == null) {
      r.skipType(wireType)
      continue
    }
    const expectedWireType = typeof expected === 'number' ? expected : WIRE_LENGTH_DELIMITED
    if (wireType !== expectedWireType) {
      throw new MalformedMessageError(`${name} field ${field} has wire type ${wireType}, expected ${expectedWireType}`)
    }
    let start = r.pos
    if (typeof expected === 'number') {
      r.skipType(wireType)
    } else {
      const length = r.uint32()
      start = r.pos
      checkWireTypes(r, r.pos + length, expected, `${name}.${field}`)
    }
    seen.push({ field, start, end: r.pos })
  }
  if (r.pos !== end) {
    throw new MalformedMessageError(`${name} overran its buffer`)
  }
  return seen
}

/**
 * Checks size and wire types of `input`, then runs the generated `decode`,
 * turning every low-level failure (out-of-range reads, invalid wire types,
 * too many repeated elements) into `MalformedMessageError`.
 */
function decodeWith<T> (input: Uint8Array | Uint8ArrayList, maxSize: number, name: string, schema: Schema, decode: (buf: Uint8Array, seen: Field[]) => T): T {
  const buf = input instanceof Uint8Array ? input : input.subarray()
  checkSize(buf, maxSize, name)
  try {
    const r = createReader(buf)
    return decode(buf, checkWireTypes(r, r.len, schema, name))
  } catch (err) {
    if (err instanceof AutoNATCodecError) {
      throw err
    }
    throw new MalformedMessageError(`invalid ${name}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Encodes a `Message` body. Throws `MessageTooLargeError` above `maxSize`,
 * `MalformedMessageError` when no (or more than one) variant is set or a
 * number does not fit its field.
 */
export function encodeAutoNATMessage (msg: AutoNATMessage, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  const set = VARIANTS.filter(v => msg[v] != null)
  if (set.length !== 1) {
    throw new MalformedMessageError(`a Message must have exactly one variant set, got ${set.length}`)
  }
  if (msg.dialRequest != null) {
    checkUint64(msg.dialRequest.nonce, 'nonce')
  } else if (msg.dialResponse != null) {
    checkUint32(msg.dialResponse.status, 'status')
    checkUint32(msg.dialResponse.addrIdx, 'addrIdx')
    checkUint32(msg.dialResponse.dialStatus, 'dialStatus')
  } else if (msg.dialDataRequest != null) {
    checkUint32(msg.dialDataRequest.addrIdx, 'addrIdx')
    checkUint64(msg.dialDataRequest.numBytes, 'numBytes')
  }
  return checkSize(pb.Message.encode(msg as pb.Message), maxSize)
}

/** Encodes a `DialBack` body. */
export function encodeDialBack (msg: DialBack, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  checkUint64(msg.nonce, 'nonce')
  return checkSize(pb.DialBack.encode(msg), maxSize)
}

/** Encodes a `DialBackResponse` body (status OK encodes to zero bytes, as in proto3). */
export function encodeDialBackResponse (msg: DialBackResponse, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  checkUint32(msg.status, 'status')
  return checkSize(pb.DialBackResponse.encode(msg), maxSize)
}

/**
 * Decodes a `Message` body. A message without any variant is rejected
 * (`MalformedMessageError`); when several are present the last one wins, as
 * protobuf `oneof` requires. A `DialRequest` with more than
 * `MAX_DIAL_REQUEST_ADDRS` addresses is rejected.
 */
export function decodeAutoNATMessage (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): AutoNATMessage {
  return decodeWith(input, maxSize, 'Message', MESSAGE, (buf, seen) => {
    // the generated decoder resolves several variants by field number, protobuf by wire order
    const last = seen.at(-1)
    if (last == null) {
      throw new MalformedMessageError('Message has no variant set')
    }
    const body = buf.subarray(last.start, last.end)
    switch (last.field) {
      case 1: {
        const { addrs, nonce } = pb.DialRequest.decode(body, { limits: { addrs: MAX_DIAL_REQUEST_ADDRS } })
        return { dialRequest: { addrs, nonce: BigInt.asUintN(64, nonce) } }
      }
      case 2:
        return { dialResponse: pb.DialResponse.decode(body) }
      case 3:
        return { dialDataRequest: pb.DialDataRequest.decode(body) }
      default:
        return { dialDataResponse: pb.DialDataResponse.decode(body) }
    }
  })
}

/** Decodes a `DialBack` body. */
export function decodeDialBack (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): DialBack {
  return decodeWith(input, maxSize, 'DialBack', DIAL_BACK, buf => ({ nonce: BigInt.asUintN(64, pb.DialBack.decode(buf).nonce) }))
}

/** Decodes a `DialBackResponse` body. */
export function decodeDialBackResponse (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): DialBackResponse {
  return decodeWith(input, maxSize, 'DialBackResponse', DIAL_BACK_RESPONSE, buf => pb.DialBackResponse.decode(buf))
}
