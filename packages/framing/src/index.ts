/**
 * @packageDocumentation
 *
 * Length-prefixed protobuf framing with a protocol's own typed errors: every
 * frame on the wire is its body's length as an unsigned varint, then the body.
 * natkit's protocols (DCUtR in `@natkit/holepunch`, `@natkit/direct-message`,
 * `@natkit/file-share`) each report bad input with their own error classes;
 * {@link framing} binds this module's checks to them, so a declared length over
 * the bound, a frame cut short, a bad wire type or a failure of
 * `@libp2p/utils`' `lpStream` becomes the protocol's too-large, truncated or
 * malformed error.
 */
import { reader as createReader, writer as createWriter } from 'protons-runtime'
import type { AbortOptions } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Protobuf wire type of a varint field. */
export const WIRE_VARINT = 0
/** Protobuf wire type of a length-delimited field (bytes, string, message). */
export const WIRE_LENGTH_DELIMITED = 2

/**
 * Errors of `@libp2p/utils`' `lpStream` that mean the peer sent a bad frame
 * (a reset or closed stream is not one of them).
 */
export const LP_STREAM_FRAMING_ERRORS: ReadonlySet<string> = new Set(['UnexpectedEOFError', 'InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError'])

/** An error class taking a message and `{ cause }`. */
export type ErrorClass<E extends Error = Error> = new (message?: string, options?: ErrorOptions) => E

/** A protocol's error classes for framing faults. */
export interface FramingErrors<E extends Error> {
  /** The protocol's base error class: an error already of it passes through unchanged. */
  base: abstract new (message?: string, options?: ErrorOptions) => E
  /** The input ended inside a varint, a field or a frame. */
  truncated: ErrorClass<E>
  /** A frame, or its declared length, is over the bound. */
  tooLarge: ErrorClass<E>
  /** Anything else: a bad wire type, invalid protobuf. */
  malformed: ErrorClass<E>
  /**
   * What the protocol calls one frame in its messages ("declared `unit`
   * length … exceeds …").
   *
   * @default 'frame'
   */
  unit?: string
}

/** The framing checks, raising one protocol's errors (see {@link framing}). */
export interface Framing<E extends Error> {
  /**
   * Turns a protons-runtime or `lpStream` failure into the protocol's error
   * (`RangeError`: read past the end, truncated; an `lpStream` length error:
   * too large; anything else: malformed). An error of the protocol's base
   * class is returned as it is.
   */
  toProtocolError(err: unknown, what: string): E
  /**
   * Walks a body's fields once before a protons-generated decoder runs (which
   * trusts the wire type of a known field): each field listed in `wireTypes`
   * must have its wire type, field 0 is refused, and unknown fields are
   * skipped as protobuf requires (an invalid wire type throws).
   */
  checkWireTypes(buf: Uint8Array, wireTypes: Record<number, number>): void
  /**
   * Splits one length-prefixed frame off the start of `input`: its body and
   * how many bytes it used. A declared length over `maxBytes` is refused
   * before the body is read.
   */
  decodeFrame(input: Uint8Array | Uint8ArrayList, maxBytes: number): { body: Uint8Array, bytes: number }
  /** Reads one frame body from a length-prefixed stream; framing faults become the protocol's errors. */
  readFrame(lp: LengthPrefixedStream, what: string, options?: AbortOptions): Promise<Uint8ArrayList>
}

/** The bytes of `input`, copied only when it is a list of several chunks. */
export function toBytes (input: Uint8Array | Uint8ArrayList): Uint8Array {
  return input instanceof Uint8Array ? input : input.subarray()
}

/** Prefixes a body with its uvarint length, ready for the wire. */
export function encodeFrame (body: Uint8Array): Uint8Array {
  return createWriter().bytes(body).finish()
}

/** The framing checks bound to one protocol's error classes. */
export function framing<E extends Error> (errors: FramingErrors<E>): Framing<E> {
  const { base, truncated, tooLarge, malformed, unit = 'frame' } = errors

  const toProtocolError = (err: unknown, what: string): E => {
    if (err instanceof base) return err
    const detail = err instanceof Error ? err.message : String(err)
    const name = err instanceof Error ? err.name : ''
    if (err instanceof RangeError || name === 'UnexpectedEOFError') {
      return new truncated(`truncated ${what}: ${detail}`, { cause: err })
    }
    if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
      return new tooLarge(`${what} too large: ${detail}`, { cause: err })
    }
    return new malformed(`invalid ${what}: ${detail}`, { cause: err })
  }

  return {
    toProtocolError,

    checkWireTypes (buf, wireTypes) {
      const r = createReader(buf)
      while (r.pos < r.len) {
        const tag = r.uint32()
        const field = tag >>> 3
        const wire = tag & 7
        if (field === 0 || (wireTypes[field] != null && wireTypes[field] !== wire)) {
          throw new malformed(`field ${field} has invalid wire type ${wire}`)
        }
        r.skipType(wire)
      }
    },

    decodeFrame (input, maxBytes) {
      const buf = toBytes(input)
      const r = createReader(buf)
      let length: number
      try {
        length = Number(r.uint64())
      } catch (err) {
        throw toProtocolError(err, 'length prefix')
      }
      if (length > maxBytes) {
        throw new tooLarge(`declared ${unit} length ${length} exceeds the maximum of ${maxBytes} bytes`)
      }
      const end = r.pos + length
      if (end > buf.byteLength) {
        throw new truncated(`expected ${length} bytes, got ${buf.byteLength - r.pos}`)
      }
      return { body: buf.subarray(r.pos, end), bytes: end }
    },

    async readFrame (lp, what, options) {
      try {
        return await lp.read(options)
      } catch (err) {
        // a reset or closed stream stays what it is; only framing faults become protocol errors
        if (err instanceof Error && LP_STREAM_FRAMING_ERRORS.has(err.name)) throw toProtocolError(err, what)
        throw err
      }
    }
  }
}
