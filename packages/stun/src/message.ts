import { randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'
import {
  MAX_STUN_MESSAGE_SIZE,
  STUN_ATTRIBUTE_HEADER_LENGTH,
  STUN_CHANGE_IP,
  STUN_CHANGE_PORT,
  STUN_FINGERPRINT_XOR,
  STUN_HEADER_LENGTH,
  STUN_MAGIC_COOKIE,
  STUN_TRANSACTION_ID_LENGTH,
  StunAddressFamily,
  StunAttribute
} from './constants.js'
import { StunDecodeError, StunEncodeError } from './errors.js'
import { bytesToIp, ipToBytes } from './ip.js'
import type { StunClassValue } from './constants.js'

/** Largest value of the 16-bit length fields. */
const MAX_U16 = 0xffff

/** One attribute: its 16-bit type and its value without padding. */
export interface StunAttributeRecord {
  type: number
  value: Uint8Array
}

/** A decoded STUN message. */
export interface StunMessage {
  /** 12-bit method, e.g. `StunMethod.Binding`. */
  method: number
  /** Message class, see `StunClass`. */
  class: StunClassValue
  /** The 96-bit transaction id. */
  transactionId: Uint8Array
  /** Attributes in wire order (FINGERPRINT included when present). */
  attributes: StunAttributeRecord[]
  /** True when the message ended with a FINGERPRINT attribute that verified. */
  fingerprint: boolean
}

/** Input of {@link encodeStunMessage}. */
export interface StunMessageInit {
  method: number
  class: StunClassValue
  transactionId: Uint8Array
  /** Attributes to write, in order. Do not include FINGERPRINT here. */
  attributes?: StunAttributeRecord[]
  /**
   * Append a FINGERPRINT attribute.
   *
   * @default false
   */
  fingerprint?: boolean
}

/** Options of {@link decodeStunMessage}. */
export interface DecodeStunMessageOptions {
  /**
   * Messages longer than this many bytes are rejected with reason `too-long`.
   *
   * @default MAX_STUN_MESSAGE_SIZE
   */
  maxMessageSize?: number
}

/** A transport address as carried in (XOR-)MAPPED-ADDRESS. */
export interface StunAddress {
  address: string
  port: number
  family: 'IPv4' | 'IPv6'
}

/** Rounds an attribute value length up to the 4-byte boundary. */
function padded (length: number): number {
  return (length + 3) & ~3
}

function view (data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength)
}

/** A fresh random 96-bit transaction id. */
export function createTransactionId (): Uint8Array {
  return new Uint8Array(randomBytes(STUN_TRANSACTION_ID_LENGTH))
}

/**
 * Combines a 12-bit method and 2-bit class into the 14-bit message type
 * (RFC 8489 §5: M11..M7 C1 M6..M4 C0 M3..M0).
 */
export function encodeMessageType (method: number, cls: StunClassValue): number {
  return (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((cls & 0b01) << 4) |
    ((cls & 0b10) << 7)
}

/** Splits a message type into method and class (inverse of {@link encodeMessageType}). */
export function decodeMessageType (type: number): { method: number, class: StunClassValue } {
  const method = (type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80)
  const cls = (((type >> 4) & 0b01) | ((type >> 7) & 0b10)) as StunClassValue

  return { method, class: cls }
}

/** The FINGERPRINT value for `data` (all message bytes before the attribute). */
export function stunFingerprint (data: Uint8Array): number {
  return (crc32(data) ^ STUN_FINGERPRINT_XOR) >>> 0
}

/** True for attribute types 0x0000-0x7FFF, which a receiver must understand. */
export function isComprehensionRequired (type: number): boolean {
  return type < 0x8000
}

/**
 * Serialises a STUN message: header, attributes (each padded to 4 bytes with
 * zeros) and, if asked, a FINGERPRINT over everything before it.
 *
 * @throws {StunEncodeError} on a bad transaction id or oversize attribute/message
 */
export function encodeStunMessage (init: StunMessageInit): Uint8Array {
  const attributes = init.attributes ?? []

  if (init.transactionId.length !== STUN_TRANSACTION_ID_LENGTH) {
    throw new StunEncodeError(`transaction id must be ${STUN_TRANSACTION_ID_LENGTH} bytes`)
  }

  if ((init.method & ~0x0fff) !== 0) {
    throw new StunEncodeError(`method 0x${init.method.toString(16)} does not fit in 12 bits`)
  }

  let bodyLength = 0
  for (const attribute of attributes) {
    if (attribute.value.length > MAX_U16) {
      throw new StunEncodeError(`attribute 0x${attribute.type.toString(16)} is longer than ${MAX_U16} bytes`)
    }

    bodyLength += STUN_ATTRIBUTE_HEADER_LENGTH + padded(attribute.value.length)
  }

  const fingerprintLength = init.fingerprint === true ? STUN_ATTRIBUTE_HEADER_LENGTH + 4 : 0
  bodyLength += fingerprintLength

  if (bodyLength > MAX_U16) {
    throw new StunEncodeError(`message body of ${bodyLength} bytes does not fit the 16-bit length field`)
  }

  const out = new Uint8Array(STUN_HEADER_LENGTH + bodyLength)
  const dv = view(out)
  dv.setUint16(0, encodeMessageType(init.method, init.class))
  dv.setUint16(2, bodyLength)
  dv.setUint32(4, STUN_MAGIC_COOKIE)
  out.set(init.transactionId, 8)

  let offset = STUN_HEADER_LENGTH
  for (const attribute of attributes) {
    dv.setUint16(offset, attribute.type)
    dv.setUint16(offset + 2, attribute.value.length)
    out.set(attribute.value, offset + STUN_ATTRIBUTE_HEADER_LENGTH)
    offset += STUN_ATTRIBUTE_HEADER_LENGTH + padded(attribute.value.length)
  }

  if (init.fingerprint === true) {
    dv.setUint16(offset, StunAttribute.Fingerprint)
    dv.setUint16(offset + 2, 4)
    dv.setUint32(offset + STUN_ATTRIBUTE_HEADER_LENGTH, stunFingerprint(out.subarray(0, offset)))
  }

  return out
}

/**
 * Parses and validates a STUN message: size, the two zero leading bits, the
 * magic cookie, a body length that is a multiple of 4 and matches the
 * datagram exactly, attributes that fit inside the body, and (when present) a
 * FINGERPRINT that is the last attribute and has the right CRC.
 *
 * @throws {StunDecodeError} with a `reason` when any check fails
 */
export function decodeStunMessage (data: Uint8Array, options: DecodeStunMessageOptions = {}): StunMessage {
  const maxMessageSize = options.maxMessageSize ?? MAX_STUN_MESSAGE_SIZE

  if (data.length < STUN_HEADER_LENGTH) {
    throw new StunDecodeError('too-short', `${data.length} bytes is shorter than the STUN header`)
  }

  if (data.length > maxMessageSize) {
    throw new StunDecodeError('too-long', `${data.length} bytes is longer than ${maxMessageSize}`)
  }

  const dv = view(data)
  const type = dv.getUint16(0)

  if ((type & 0xc000) !== 0) {
    throw new StunDecodeError('not-stun', 'the two most significant bits of a STUN message are zero')
  }

  const length = dv.getUint16(2)

  if (length % 4 !== 0 || STUN_HEADER_LENGTH + length !== data.length) {
    throw new StunDecodeError('bad-length', `header length ${length} does not match a ${data.length} byte datagram`)
  }

  if (dv.getUint32(4) !== STUN_MAGIC_COOKIE) {
    throw new StunDecodeError('bad-cookie', 'magic cookie is not 0x2112A442')
  }

  const { method, class: cls } = decodeMessageType(type)
  const transactionId = data.slice(8, STUN_HEADER_LENGTH)
  const attributes: StunAttributeRecord[] = []
  let fingerprint = false
  let offset = STUN_HEADER_LENGTH

  // every iteration advances offset by at least 4 bytes, the body is bounded
  while (offset < data.length) {
    if (data.length - offset < STUN_ATTRIBUTE_HEADER_LENGTH) {
      throw new StunDecodeError('truncated-attribute', `attribute header at ${offset} is truncated`)
    }

    const attributeType = dv.getUint16(offset)
    const attributeLength = dv.getUint16(offset + 2)
    const valueStart = offset + STUN_ATTRIBUTE_HEADER_LENGTH

    if (valueStart + padded(attributeLength) > data.length) {
      throw new StunDecodeError('truncated-attribute', `attribute 0x${attributeType.toString(16)} at ${offset} runs past the end of the message`)
    }

    if (fingerprint) {
      throw new StunDecodeError('attribute-after-fingerprint', 'FINGERPRINT must be the last attribute')
    }

    if (attributeType === StunAttribute.Fingerprint) {
      if (attributeLength !== 4 || dv.getUint32(valueStart) !== stunFingerprint(data.subarray(0, offset))) {
        throw new StunDecodeError('bad-fingerprint', 'FINGERPRINT does not match the message')
      }

      fingerprint = true
    }

    attributes.push({ type: attributeType, value: data.slice(valueStart, valueStart + attributeLength) })
    offset = valueStart + padded(attributeLength)
  }

  return { method, class: cls, transactionId, attributes, fingerprint }
}

/** The value of the first attribute of `type`, if any. */
export function getAttribute (message: StunMessage, type: number): Uint8Array | undefined {
  return message.attributes.find(attribute => attribute.type === type)?.value
}

function encodeAddressValue (address: StunAddress | { address: string, port: number }, mask?: Uint8Array): Uint8Array {
  if (!Number.isInteger(address.port) || address.port < 0 || address.port > MAX_U16) {
    throw new StunEncodeError(`port ${address.port} is out of range`)
  }

  const ip = ipToBytes(address.address)
  const out = new Uint8Array(4 + ip.length)
  const dv = view(out)
  out[1] = ip.length === 4 ? StunAddressFamily.IPv4 : StunAddressFamily.IPv6
  dv.setUint16(2, address.port ^ (mask == null ? 0 : (mask[0] << 8) | mask[1]))

  for (let i = 0; i < ip.length; i++) {
    out[4 + i] = ip[i] ^ (mask == null ? 0 : mask[i])
  }

  return out
}

function decodeAddressValue (value: Uint8Array, mask?: Uint8Array): StunAddress {
  if (value.length < 4) {
    throw new StunDecodeError('bad-attribute', 'address attribute is shorter than 4 bytes')
  }

  const family = value[1]
  const ipLength = family === StunAddressFamily.IPv4 ? 4 : family === StunAddressFamily.IPv6 ? 16 : 0

  if (ipLength === 0) {
    throw new StunDecodeError('bad-attribute', `unknown address family 0x${family.toString(16)}`)
  }

  if (value.length !== 4 + ipLength) {
    throw new StunDecodeError('bad-attribute', `address attribute of family ${family} must be ${4 + ipLength} bytes, not ${value.length}`)
  }

  const port = view(value).getUint16(2) ^ (mask == null ? 0 : (mask[0] << 8) | mask[1])
  const ip = new Uint8Array(ipLength)

  for (let i = 0; i < ipLength; i++) {
    ip[i] = value[4 + i] ^ (mask == null ? 0 : mask[i])
  }

  return { address: bytesToIp(ip), port, family: ipLength === 4 ? 'IPv4' : 'IPv6' }
}

/** magic cookie || transaction id: the XOR mask of XOR-MAPPED-ADDRESS. */
function xorMask (transactionId: Uint8Array): Uint8Array {
  if (transactionId.length !== STUN_TRANSACTION_ID_LENGTH) {
    throw new StunEncodeError(`transaction id must be ${STUN_TRANSACTION_ID_LENGTH} bytes`)
  }

  const mask = new Uint8Array(4 + STUN_TRANSACTION_ID_LENGTH)
  view(mask).setUint32(0, STUN_MAGIC_COOKIE)
  mask.set(transactionId, 4)

  return mask
}

/** Value of a MAPPED-ADDRESS attribute (RFC 8489 §14.1). */
export function encodeMappedAddress (address: { address: string, port: number }): Uint8Array {
  return encodeAddressValue(address)
}

/** Parses a MAPPED-ADDRESS value. @throws {StunDecodeError} */
export function decodeMappedAddress (value: Uint8Array): StunAddress {
  return decodeAddressValue(value)
}

/**
 * Value of an XOR-MAPPED-ADDRESS attribute (RFC 8489 §14.2): the port is
 * XOR-ed with the cookie's top 16 bits, the address with the cookie (IPv4) or
 * the cookie followed by the transaction id (IPv6).
 */
export function encodeXorMappedAddress (address: { address: string, port: number }, transactionId: Uint8Array): Uint8Array {
  return encodeAddressValue(address, xorMask(transactionId))
}

/** Parses an XOR-MAPPED-ADDRESS value. @throws {StunDecodeError} */
export function decodeXorMappedAddress (value: Uint8Array, transactionId: Uint8Array): StunAddress {
  return decodeAddressValue(value, xorMask(transactionId))
}

/** Value of an ERROR-CODE attribute (RFC 8489 §14.8). */
export function encodeErrorCode (code: number, reason: string): Uint8Array {
  if (!Number.isInteger(code) || code < 300 || code > 699) {
    throw new StunEncodeError(`error code ${code} is not in 300-699`)
  }

  const text = new TextEncoder().encode(reason)
  const out = new Uint8Array(4 + text.length)
  out[2] = Math.floor(code / 100)
  out[3] = code % 100
  out.set(text, 4)

  return out
}

/** Parses an ERROR-CODE value. @throws {StunDecodeError} */
export function decodeErrorCode (value: Uint8Array): { code: number, reason: string } {
  if (value.length < 4) {
    throw new StunDecodeError('bad-attribute', 'ERROR-CODE is shorter than 4 bytes')
  }

  const cls = value[2] & 0x07
  const number = value[3]

  if (cls < 3 || cls > 6 || number > 99) {
    throw new StunDecodeError('bad-attribute', `ERROR-CODE class ${cls} number ${number} is invalid`)
  }

  return { code: cls * 100 + number, reason: new TextDecoder().decode(value.subarray(4)) }
}

/** Value of an UNKNOWN-ATTRIBUTES attribute (RFC 8489 §14.9). */
export function encodeUnknownAttributes (types: number[]): Uint8Array {
  const out = new Uint8Array(types.length * 2)
  types.forEach((type, i) => { view(out).setUint16(i * 2, type) })

  return out
}

/** Parses an UNKNOWN-ATTRIBUTES value. @throws {StunDecodeError} */
export function decodeUnknownAttributes (value: Uint8Array): number[] {
  if (value.length % 2 !== 0) {
    throw new StunDecodeError('bad-attribute', 'UNKNOWN-ATTRIBUTES has an odd length')
  }

  const types: number[] = []
  for (let i = 0; i < value.length; i += 2) {
    types.push(view(value).getUint16(i))
  }

  return types
}

/** Value of a SOFTWARE attribute (UTF-8 text). */
export function encodeSoftware (software: string): Uint8Array {
  return new TextEncoder().encode(software)
}

/** Parses a SOFTWARE value. */
export function decodeSoftware (value: Uint8Array): string {
  return new TextDecoder().decode(value)
}

/** The two flags of a CHANGE-REQUEST attribute (RFC 5780 §7.2). */
export interface StunChangeRequest {
  /** Answer from the server's alternate IP address. */
  ip: boolean
  /** Answer from the server's alternate port. */
  port: boolean
}

/** Value of a CHANGE-REQUEST attribute (RFC 5780 §7.2): 32 bits, flags 0x04 (change IP) and 0x02 (change port). */
export function encodeChangeRequest (change: Partial<StunChangeRequest>): Uint8Array {
  const out = new Uint8Array(4)
  out[3] = (change.ip === true ? STUN_CHANGE_IP : 0) | (change.port === true ? STUN_CHANGE_PORT : 0)
  return out
}

/** Parses a CHANGE-REQUEST value; other bits are ignored. @throws {StunDecodeError} unless it is 4 bytes */
export function decodeChangeRequest (value: Uint8Array): StunChangeRequest {
  if (value.length !== 4) {
    throw new StunDecodeError('bad-attribute', `CHANGE-REQUEST must be 4 bytes, not ${value.length}`)
  }

  return { ip: (value[3] & STUN_CHANGE_IP) !== 0, port: (value[3] & STUN_CHANGE_PORT) !== 0 }
}

/** Value of NATKIT-RESPONSE-DELAY: the delay in milliseconds as a 32-bit unsigned integer. */
export function encodeResponseDelay (ms: number): Uint8Array {
  if (!Number.isInteger(ms) || ms < 0 || ms > 0xffffffff) {
    throw new StunEncodeError(`response delay ${ms} is not a 32-bit unsigned integer`)
  }
  const out = new Uint8Array(4)
  view(out).setUint32(0, ms)
  return out
}

/** Parses a NATKIT-RESPONSE-DELAY value. @throws {StunDecodeError} unless it is 4 bytes */
export function decodeResponseDelay (value: Uint8Array): number {
  if (value.length !== 4) {
    throw new StunDecodeError('bad-attribute', `NATKIT-RESPONSE-DELAY must be 4 bytes, not ${value.length}`)
  }
  return view(value).getUint32(0)
}
