/**
 * Hand-written codec for the AutoNAT v2 protobuf messages
 * (https://github.com/libp2p/specs/blob/master/autonat/autonat-v2.md), built
 * on the `protons-runtime` reader/writer primitives:
 *
 * ```protobuf
 * message Message {
 *   oneof msg {
 *     DialRequest dialRequest = 1;
 *     DialResponse dialResponse = 2;
 *     DialDataRequest dialDataRequest = 3;
 *     DialDataResponse dialDataResponse = 4;
 *   }
 * }
 * message DialRequest { repeated bytes addrs = 1; fixed64 nonce = 2; }
 * message DialDataRequest { uint32 addrIdx = 1; uint64 numBytes = 2; }
 * enum DialStatus { UNUSED = 0; E_DIAL_ERROR = 100; E_DIAL_BACK_ERROR = 101; OK = 200; }
 * message DialResponse {
 *   enum ResponseStatus { E_INTERNAL_ERROR = 0; E_REQUEST_REJECTED = 100; E_DIAL_REFUSED = 101; OK = 200; }
 *   ResponseStatus status = 1; uint32 addrIdx = 2; DialStatus dialStatus = 3;
 * }
 * message DialDataResponse { bytes data = 1; }
 * message DialBack { fixed64 nonce = 1; }
 * message DialBackResponse { enum DialBackStatus { OK = 0; } DialBackStatus status = 1; }
 * ```
 *
 * proto3 semantics: zero values are not written, missing fields decode to
 * zero, unknown fields are skipped, enums are open (unknown numeric values are
 * kept so callers can report them). `fixed64` values are read as unsigned
 * (the runtime reader returns them signed). The functions here handle message bodies;
 * the varint length prefix is added by the stream layer.
 */
import { reader as createReader, writer as createWriter } from 'protons-runtime'
import { MAX_DIAL_REQUEST_ADDRS, MAX_MESSAGE_SIZE } from './constants.js'
import { AutoNATCodecError, MalformedMessageError, MessageTooLargeError } from './errors.js'
import type { Reader, Writer } from 'protons-runtime'
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

function tag (field: number, wireType: number): number {
  return (field << 3) | wireType
}

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

function finish (w: Writer, maxSize: number): Uint8Array {
  const out = w.finish()
  if (out.byteLength > maxSize) {
    throw new MessageTooLargeError(`message of ${out.byteLength} bytes exceeds the maximum of ${maxSize} bytes`)
  }
  return out
}

function writeDialRequest (msg: DialRequest, w: Writer): void {
  for (const addr of msg.addrs) {
    w.uint32(tag(1, WIRE_LENGTH_DELIMITED)).bytes(addr)
  }
  checkUint64(msg.nonce, 'nonce')
  if (msg.nonce !== 0n) {
    w.uint32(tag(2, WIRE_FIXED64)).fixed64(msg.nonce)
  }
}

function writeDialResponse (msg: DialResponse, w: Writer): void {
  checkUint32(msg.status, 'status')
  checkUint32(msg.addrIdx, 'addrIdx')
  checkUint32(msg.dialStatus, 'dialStatus')
  if (msg.status !== 0) {
    w.uint32(tag(1, WIRE_VARINT)).uint32(msg.status)
  }
  if (msg.addrIdx !== 0) {
    w.uint32(tag(2, WIRE_VARINT)).uint32(msg.addrIdx)
  }
  if (msg.dialStatus !== 0) {
    w.uint32(tag(3, WIRE_VARINT)).uint32(msg.dialStatus)
  }
}

function writeDialDataRequest (msg: DialDataRequest, w: Writer): void {
  checkUint32(msg.addrIdx, 'addrIdx')
  checkUint64(msg.numBytes, 'numBytes')
  if (msg.addrIdx !== 0) {
    w.uint32(tag(1, WIRE_VARINT)).uint32(msg.addrIdx)
  }
  if (msg.numBytes !== 0n) {
    w.uint32(tag(2, WIRE_VARINT)).uint64(msg.numBytes)
  }
}

function writeDialDataResponse (msg: DialDataResponse, w: Writer): void {
  if (msg.data.byteLength > 0) {
    w.uint32(tag(1, WIRE_LENGTH_DELIMITED)).bytes(msg.data)
  }
}

function writeNested<T> (w: Writer, field: number, value: T, write: (value: T, w: Writer) => void): void {
  const inner = createWriter()
  write(value, inner)
  w.uint32(tag(field, WIRE_LENGTH_DELIMITED)).bytes(inner.finish())
}

/**
 * Encodes a `Message` body. Throws `MessageTooLargeError` above `maxSize`,
 * `MalformedMessageError` when no (or more than one) variant is set or a
 * number does not fit its field.
 */
export function encodeAutoNATMessage (msg: AutoNATMessage, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  const set = [msg.dialRequest, msg.dialResponse, msg.dialDataRequest, msg.dialDataResponse].filter(v => v != null)
  if (set.length !== 1) {
    throw new MalformedMessageError(`a Message must have exactly one variant set, got ${set.length}`)
  }
  const w = createWriter()
  if (msg.dialRequest != null) {
    writeNested(w, 1, msg.dialRequest, writeDialRequest)
  } else if (msg.dialResponse != null) {
    writeNested(w, 2, msg.dialResponse, writeDialResponse)
  } else if (msg.dialDataRequest != null) {
    writeNested(w, 3, msg.dialDataRequest, writeDialDataRequest)
  } else if (msg.dialDataResponse != null) {
    writeNested(w, 4, msg.dialDataResponse, writeDialDataResponse)
  }
  return finish(w, maxSize)
}

/** Encodes a `DialBack` body. */
export function encodeDialBack (msg: DialBack, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  checkUint64(msg.nonce, 'nonce')
  const w = createWriter()
  if (msg.nonce !== 0n) {
    w.uint32(tag(1, WIRE_FIXED64)).fixed64(msg.nonce)
  }
  return finish(w, maxSize)
}

/** Encodes a `DialBackResponse` body (status OK encodes to zero bytes, as in proto3). */
export function encodeDialBackResponse (msg: DialBackResponse, maxSize: number = MAX_MESSAGE_SIZE): Uint8Array {
  checkUint32(msg.status, 'status')
  const w = createWriter()
  if (msg.status !== 0) {
    w.uint32(tag(1, WIRE_VARINT)).uint32(msg.status)
  }
  return finish(w, maxSize)
}

/**
 * Runs `fn` over a reader of `input`, turning every low-level failure
 * (out-of-range reads, invalid wire types) into `MalformedMessageError`.
 */
function decodeWith<T> (input: Uint8Array | Uint8ArrayList, maxSize: number, name: string, fn: (r: Reader) => T): T {
  const buf = input instanceof Uint8Array ? input : input.subarray()
  if (buf.byteLength > maxSize) {
    throw new MessageTooLargeError(`${name} of ${buf.byteLength} bytes exceeds the maximum of ${maxSize} bytes`)
  }
  try {
    const r = createReader(buf)
    const out = fn(r)
    if (r.pos !== r.len) {
      throw new MalformedMessageError(`${name} overran its buffer`)
    }
    return out
  } catch (err) {
    if (err instanceof AutoNATCodecError) {
      throw err
    }
    throw new MalformedMessageError(`invalid ${name}: ${(err as Error).message}`)
  }
}

/** Iterates the fields of a message, checking each known field's wire type. */
function readFields (r: Reader, name: string, wireTypes: Record<number, number>, onField: (field: number) => void): void {
  while (r.pos < r.len) {
    const t = r.uint32()
    const field = t >>> 3
    const wireType = t & 7
    if (field === 0) {
      throw new MalformedMessageError(`${name} has a field number 0`)
    }
    const expected = wireTypes[field]
    if (expected == null) {
      r.skipType(wireType)
      continue
    }
    if (expected !== wireType) {
      throw new MalformedMessageError(`${name} field ${field} has wire type ${wireType}, expected ${expected}`)
    }
    onField(field)
  }
}

function readDialRequest (r: Reader): DialRequest {
  const out: DialRequest = { addrs: [], nonce: 0n }
  readFields(r, 'DialRequest', { 1: WIRE_LENGTH_DELIMITED, 2: WIRE_FIXED64 }, field => {
    if (field === 1) {
      if (out.addrs.length === MAX_DIAL_REQUEST_ADDRS) {
        throw new MalformedMessageError(`DialRequest has more than ${MAX_DIAL_REQUEST_ADDRS} addresses`)
      }
      out.addrs.push(r.bytes())
    } else {
      out.nonce = BigInt.asUintN(64, r.fixed64())
    }
  })
  return out
}

function readDialResponse (r: Reader): DialResponse {
  const out: DialResponse = { status: 0, addrIdx: 0, dialStatus: 0 }
  readFields(r, 'DialResponse', { 1: WIRE_VARINT, 2: WIRE_VARINT, 3: WIRE_VARINT }, field => {
    const value = r.uint32()
    if (field === 1) {
      out.status = value
    } else if (field === 2) {
      out.addrIdx = value
    } else {
      out.dialStatus = value
    }
  })
  return out
}

function readDialDataRequest (r: Reader): DialDataRequest {
  const out: DialDataRequest = { addrIdx: 0, numBytes: 0n }
  readFields(r, 'DialDataRequest', { 1: WIRE_VARINT, 2: WIRE_VARINT }, field => {
    if (field === 1) {
      out.addrIdx = r.uint32()
    } else {
      out.numBytes = r.uint64()
    }
  })
  return out
}

function readDialDataResponse (r: Reader): DialDataResponse {
  const out: DialDataResponse = { data: new Uint8Array(0) }
  readFields(r, 'DialDataResponse', { 1: WIRE_LENGTH_DELIMITED }, () => {
    out.data = r.bytes()
  })
  return out
}

function readNested<T> (body: Uint8Array, name: string, read: (r: Reader) => T): T {
  const r = createReader(body)
  const out = read(r)
  if (r.pos !== r.len) {
    throw new MalformedMessageError(`${name} overran its buffer`)
  }
  return out
}

/**
 * Decodes a `Message` body. A message without any variant is rejected
 * (`MalformedMessageError`); when several are present the last one wins, as
 * protobuf `oneof` requires.
 */
export function decodeAutoNATMessage (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): AutoNATMessage {
  return decodeWith(input, maxSize, 'Message', r => {
    let out: AutoNATMessage | undefined
    readFields(r, 'Message', { 1: WIRE_LENGTH_DELIMITED, 2: WIRE_LENGTH_DELIMITED, 3: WIRE_LENGTH_DELIMITED, 4: WIRE_LENGTH_DELIMITED }, field => {
      const body = r.bytes()
      if (field === 1) {
        out = { dialRequest: readNested(body, 'DialRequest', readDialRequest) }
      } else if (field === 2) {
        out = { dialResponse: readNested(body, 'DialResponse', readDialResponse) }
      } else if (field === 3) {
        out = { dialDataRequest: readNested(body, 'DialDataRequest', readDialDataRequest) }
      } else {
        out = { dialDataResponse: readNested(body, 'DialDataResponse', readDialDataResponse) }
      }
    })
    if (out == null) {
      throw new MalformedMessageError('Message has no variant set')
    }
    return out
  })
}

/** Decodes a `DialBack` body. */
export function decodeDialBack (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): DialBack {
  return decodeWith(input, maxSize, 'DialBack', r => {
    const out: DialBack = { nonce: 0n }
    readFields(r, 'DialBack', { 1: WIRE_FIXED64 }, () => {
      out.nonce = BigInt.asUintN(64, r.fixed64())
    })
    return out
  })
}

/** Decodes a `DialBackResponse` body. */
export function decodeDialBackResponse (input: Uint8Array | Uint8ArrayList, maxSize: number = MAX_MESSAGE_SIZE): DialBackResponse {
  return decodeWith(input, maxSize, 'DialBackResponse', r => {
    const out: DialBackResponse = { status: 0 }
    readFields(r, 'DialBackResponse', { 1: WIRE_VARINT }, () => {
      out.status = r.uint32()
    })
    return out
  })
}
