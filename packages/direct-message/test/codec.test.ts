import { writer } from 'protons-runtime'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_TEXT_BYTES, DirectMessageMalformedError, DirectMessageTooLargeError, DirectMessageTruncatedError,
  decodeAck, decodeDirectMessage, decodeFrame, encodeAck, encodeDirectMessage, encodeFrame, maxFrameBytes
} from '../src/index.js'

describe('direct message codec', () => {
  it('round-trips a text, unicode included', () => {
    const text = 'héllo 👋 wörld'
    expect(decodeDirectMessage(encodeDirectMessage(text))).toBe(text)
    const { body, bytes } = decodeFrame(encodeFrame(encodeDirectMessage(text)))
    expect(decodeDirectMessage(body)).toBe(text)
    expect(bytes).toBe(encodeFrame(encodeDirectMessage(text)).byteLength)
  })

  it('accepts a text of exactly the bound and refuses one byte more (UTF-8 bytes, not characters)', () => {
    expect(decodeDirectMessage(encodeDirectMessage('a'.repeat(DEFAULT_MAX_TEXT_BYTES)))).toHaveLength(DEFAULT_MAX_TEXT_BYTES)
    expect(() => encodeDirectMessage('a'.repeat(DEFAULT_MAX_TEXT_BYTES + 1))).toThrow(DirectMessageTooLargeError)
    // 2-byte characters: half as many fit
    expect(() => encodeDirectMessage('é'.repeat(DEFAULT_MAX_TEXT_BYTES / 2 + 1))).toThrow(DirectMessageTooLargeError)
    expect(() => encodeDirectMessage('hi', 1)).toThrow(/2 bytes exceeds the maximum of 1/)
  })

  it('refuses an oversized text the sender did not check', () => {
    const body = encodeDirectMessage('x'.repeat(100))
    expect(() => decodeDirectMessage(body, 50)).toThrow(DirectMessageTooLargeError)
  })

  it('refuses an oversized declared frame length before reading the body', () => {
    const header = writer()
    header.uint32(maxFrameBytes() + 1)
    expect(() => decodeFrame(header.finish())).toThrow(DirectMessageTooLargeError)
  })

  it('reports truncated frames and bodies', () => {
    const frame = encodeFrame(encodeDirectMessage('hello'))
    expect(() => decodeFrame(frame.subarray(0, frame.byteLength - 2))).toThrow(DirectMessageTruncatedError)
    expect(() => decodeFrame(new Uint8Array([0x80]))).toThrow(DirectMessageTruncatedError)
    const body = encodeDirectMessage('hello')
    expect(() => decodeDirectMessage(body.subarray(0, body.byteLength - 1))).toThrow(DirectMessageTruncatedError)
  })

  it('reports malformed bodies: bad wire type, missing text', () => {
    // field 1 with wire type 7 (invalid)
    expect(() => decodeDirectMessage(new Uint8Array([0x0f, 0x00]))).toThrow(DirectMessageMalformedError)
    expect(() => decodeDirectMessage(new Uint8Array([]))).toThrow(/required field "text" is missing/)
  })

  it('decodes acks and refuses ones without a known status', () => {
    expect(decodeAck(encodeAck({ status: 'OK' }))).toEqual({ status: 'OK' })
    expect(decodeAck(encodeAck({ status: 'TOO_LARGE', error: 'big' }))).toEqual({ status: 'TOO_LARGE', error: 'big' })
    expect(() => decodeAck(new Uint8Array([]))).toThrow(DirectMessageMalformedError)
    // status 99: not a known value
    expect(() => decodeAck(new Uint8Array([0x08, 99]))).toThrow(DirectMessageMalformedError)
    expect(() => decodeAck(new Uint8Array([0x08]))).toThrow(DirectMessageTruncatedError)
  })

  it('never throws anything but a typed error on random input', () => {
    let seed = 12345
    const rand = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
    for (let i = 0; i < 2000; i++) {
      const buf = new Uint8Array(rand() % 40)
      for (let j = 0; j < buf.byteLength; j++) buf[j] = rand() & 0xff
      for (const decode of [() => decodeDirectMessage(buf), () => decodeAck(buf), () => decodeFrame(buf)]) {
        try {
          decode()
        } catch (err) {
          expect((err as Error).name).toMatch(/^DirectMessage(Malformed|Truncated|TooLarge)Error$/)
        }
      }
    }
  })
})
