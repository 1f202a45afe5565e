/**
 * The file transfer frames (`src/pb/message.proto`), encoded and decoded by
 * the protons-generated codec in `src/pb/message.ts`, plus what it leaves out:
 * size bounds, required fields, plausible values, and typed errors
 * (`FileProtocolError` subclasses) for every bad input. On the wire every
 * frame is prefixed with its length as an unsigned varint.
 */
import { framing, toBytes, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from '@natkit/framing'
import { CHUNK_FRAME_OVERHEAD, MAX_CHUNK_SIZE, MAX_CONTROL_FRAME_SIZE } from './constants.js'
import { FileFrameMalformedError, FileFrameTooLargeError, FileFrameTruncatedError, FileProtocolError } from './errors.js'
import { FileChunk, FileCredit, FileHeader, FileRequest } from './pb/message.js'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Which file a client asks for: exactly one of `cid` or `name`. */
export type Request = { cid: string, name?: undefined } | { name: string, cid?: undefined }

/** Header status by name, as on the wire. */
export type HeaderStatus = 'OK' | 'NOT_FOUND' | 'ERROR'

/** The server's answer to a request. For `OK` every field but `error` is set. */
export interface Header {
  status: HeaderStatus
  cid?: string
  name?: string
  bytes?: number
  chunkSize?: number
  error?: string
}

/** More credit; the first one also says where to start. */
export interface Credit {
  offset?: number
  chunks: number
}

/** One chunk of the file. */
export interface Chunk {
  offset: number
  data: Uint8Array
  sha256: Uint8Array
}

const HEADER_STATUSES: readonly string[] = ['OK', 'NOT_FOUND', 'ERROR']

/** Wire type of every field of each message (the generated decoder trusts the wire type of a known field). */
const WIRE_TYPES = {
  request: { 1: WIRE_LENGTH_DELIMITED, 2: WIRE_LENGTH_DELIMITED },
  header: { 1: WIRE_VARINT, 2: WIRE_LENGTH_DELIMITED, 3: WIRE_LENGTH_DELIMITED, 4: WIRE_VARINT, 5: WIRE_VARINT, 6: WIRE_LENGTH_DELIMITED },
  credit: { 1: WIRE_VARINT, 2: WIRE_VARINT },
  chunk: { 1: WIRE_VARINT, 2: WIRE_LENGTH_DELIMITED, 3: WIRE_LENGTH_DELIMITED }
} satisfies Record<string, Record<number, number>>

/** Length-prefix framing and wire-type checks raising the file transfer errors. */
const frames = framing({ base: FileProtocolError, truncated: FileFrameTruncatedError, tooLarge: FileFrameTooLargeError, malformed: FileFrameMalformedError })

function checkSize (buf: Uint8Array, max: number, what: string): void {
  if (buf.byteLength > max) {
    throw new FileFrameTooLargeError(`${what} of ${buf.byteLength} bytes exceeds the maximum of ${max} bytes`)
  }
}

function decodeWith<T> (decode: (buf: Uint8Array) => T, wireTypes: Record<number, number>, input: Uint8Array | Uint8ArrayList, max: number, what: string): T {
  const buf = toBytes(input)
  checkSize(buf, max, what)
  try {
    frames.checkWireTypes(buf, wireTypes)
    return decode(buf)
  } catch (err) {
    throw frames.toProtocolError(err, what)
  }
}

/** A uint64 field as a safe integer, or a typed error. */
function safeNumber (value: bigint | undefined, field: string): number | undefined {
  if (value == null) return undefined
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new FileFrameMalformedError(`field "${field}" is out of range (${value})`)
  return Number(value)
}

/** Largest chunk frame for a chunk size bound. */
export function maxChunkFrameBytes (maxChunkSize: number = MAX_CHUNK_SIZE): number {
  return maxChunkSize + CHUNK_FRAME_OVERHEAD
}

export function encodeRequest (req: Request): Uint8Array {
  return FileRequest.encode(req.cid != null ? { cid: req.cid } : { name: req.name })
}

export function decodeRequest (input: Uint8Array | Uint8ArrayList): Request {
  const req = decodeWith(b => FileRequest.decode(b), WIRE_TYPES.request, input, MAX_CONTROL_FRAME_SIZE, 'file request')
  if ((req.cid == null) === (req.name == null)) throw new FileFrameMalformedError('a file request needs exactly one of "cid" and "name"')
  return req.cid != null ? { cid: req.cid } : { name: req.name ?? '' }
}

export function encodeHeader (header: Header): Uint8Array {
  return FileHeader.encode({
    status: FileHeader.Status[header.status],
    cid: header.cid,
    name: header.name,
    bytes: header.bytes != null ? BigInt(header.bytes) : undefined,
    chunkSize: header.chunkSize,
    error: header.error
  })
}

/** Decodes a header; an OK header must carry cid, name, bytes and a chunk size within `maxChunkSize`. */
export function decodeHeader (input: Uint8Array | Uint8ArrayList, maxChunkSize: number = MAX_CHUNK_SIZE): Header {
  const h = decodeWith(b => FileHeader.decode(b), WIRE_TYPES.header, input, MAX_CONTROL_FRAME_SIZE, 'file header')
  if (h.status == null || !HEADER_STATUSES.includes(h.status)) throw new FileFrameMalformedError(`file header has no known status (${String(h.status)})`)
  const header: Header = { status: h.status as HeaderStatus }
  if (h.error != null) header.error = h.error
  if (header.status !== 'OK') return header
  const bytes = safeNumber(h.bytes, 'bytes')
  if (h.cid == null || h.name == null || bytes == null || h.chunkSize == null) {
    throw new FileFrameMalformedError('an OK file header needs "cid", "name", "bytes" and "chunkSize"')
  }
  if (h.chunkSize === 0 || h.chunkSize > maxChunkSize) {
    throw new FileFrameMalformedError(`chunk size ${h.chunkSize} is not within 1..${maxChunkSize}`)
  }
  return { ...header, cid: h.cid, name: h.name, bytes, chunkSize: h.chunkSize }
}

export function encodeCredit (credit: Credit): Uint8Array {
  return FileCredit.encode({ offset: credit.offset != null ? BigInt(credit.offset) : undefined, chunks: credit.chunks })
}

export function decodeCredit (input: Uint8Array | Uint8ArrayList): Credit {
  const c = decodeWith(b => FileCredit.decode(b), WIRE_TYPES.credit, input, MAX_CONTROL_FRAME_SIZE, 'credit')
  if (c.chunks == null) throw new FileFrameMalformedError('required field "chunks" is missing')
  const offset = safeNumber(c.offset, 'offset')
  return offset != null ? { offset, chunks: c.chunks } : { chunks: c.chunks }
}

export function encodeChunk (chunk: Chunk): Uint8Array {
  return FileChunk.encode({ offset: BigInt(chunk.offset), data: chunk.data as Uint8Array<ArrayBuffer>, sha256: chunk.sha256 as Uint8Array<ArrayBuffer> })
}

/** Decodes a chunk frame; data must be 1..`maxChunkSize` bytes and sha256 32 bytes. Does not check the hash. */
export function decodeChunk (input: Uint8Array | Uint8ArrayList, maxChunkSize: number = MAX_CHUNK_SIZE): Chunk {
  const c = decodeWith(b => FileChunk.decode(b), WIRE_TYPES.chunk, input, maxChunkFrameBytes(maxChunkSize), 'chunk')
  const offset = safeNumber(c.offset, 'offset')
  if (offset == null || c.data == null || c.sha256 == null) throw new FileFrameMalformedError('a chunk needs "offset", "data" and "sha256"')
  if (c.data.byteLength === 0 || c.data.byteLength > maxChunkSize) throw new FileFrameMalformedError(`chunk of ${c.data.byteLength} bytes is not within 1..${maxChunkSize}`)
  if (c.sha256.byteLength !== 32) throw new FileFrameMalformedError(`chunk sha256 has ${c.sha256.byteLength} bytes, expected 32`)
  return { offset, data: c.data, sha256: c.sha256 }
}

export { encodeFrame } from '@natkit/framing'

/**
 * Splits one length-prefixed frame off the start of `input`: its body and how
 * many bytes it used. A declared length over `maxBytes` is refused before the
 * body is read.
 */
export function decodeFrame (input: Uint8Array | Uint8ArrayList, maxBytes: number): { body: Uint8Array, bytes: number } {
  return frames.decodeFrame(input, maxBytes)
}

/** Reads one frame body from a length-prefixed stream; framing faults become typed errors. */
export const readFrame = frames.readFrame
