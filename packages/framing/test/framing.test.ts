import { lpStream, streamPair } from '@libp2p/utils'
import { writer } from 'protons-runtime'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { encodeFrame, framing, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from '../src/index.js'

class TestProtocolError extends Error {
  static override name = 'TestProtocolError'
  override name = 'TestProtocolError'
}
class TestTooLargeError extends TestProtocolError {
  static override name = 'TestTooLargeError'
  override name = 'TestTooLargeError'
}
class TestTruncatedError extends TestProtocolError {
  static override name = 'TestTruncatedError'
  override name = 'TestTruncatedError'
}
class TestMalformedError extends TestProtocolError {
  static override name = 'TestMalformedError'
  override name = 'TestMalformedError'
}

const frames = framing({ base: TestProtocolError, truncated: TestTruncatedError, tooLarge: TestTooLargeError, malformed: TestMalformedError })

describe('framing', () => {
  it('decodeFrame splits one frame off the input: its body and the bytes it used', () => {
    const body = Uint8Array.from([1, 2, 3, 4, 5])
    const frame = encodeFrame(body)
    expect([...frame]).toEqual([5, 1, 2, 3, 4, 5])
    const trailing = new Uint8ArrayList(frame.subarray(0, 2), frame.subarray(2), Uint8Array.from([9, 9]))
    const { body: got, bytes } = frames.decodeFrame(trailing, 5)
    expect([...got]).toEqual([...body])
    expect(bytes).toBe(6)
    expect(frames.decodeFrame(encodeFrame(new Uint8Array(0)), 0)).toMatchObject({ bytes: 1 })
  })

  it('decodeFrame refuses a declared length over the bound before the body arrives, naming the unit', () => {
    const prefix = writer().uint32(301).finish()
    expect(() => frames.decodeFrame(prefix, 300)).toThrow(TestTooLargeError)
    expect(() => frames.decodeFrame(prefix, 300)).toThrow('declared frame length 301 exceeds the maximum of 300 bytes')
    const messages = framing({ base: TestProtocolError, truncated: TestTruncatedError, tooLarge: TestTooLargeError, malformed: TestMalformedError, unit: 'message' })
    expect(() => messages.decodeFrame(prefix, 300)).toThrow('declared message length 301')
  })

  it('decodeFrame: a cut varint, no input or a short body is truncated', () => {
    expect(() => frames.decodeFrame(Uint8Array.from([0x80]), 10)).toThrow(TestTruncatedError)
    expect(() => frames.decodeFrame(new Uint8Array(0), 10)).toThrow(/truncated length prefix/)
    expect(() => frames.decodeFrame(Uint8Array.from([4, 1, 2]), 10)).toThrow(new TestTruncatedError('expected 4 bytes, got 2'))
  })

  it('checkWireTypes refuses field 0 and a known field of the wrong wire type, and skips unknown fields', () => {
    const types = { 1: WIRE_VARINT, 2: WIRE_LENGTH_DELIMITED }
    frames.checkWireTypes(writer().uint32(8).uint32(7).uint32(18).bytes(Uint8Array.from([1])).uint32(24).uint32(1).finish(), types)
    expect(() => { frames.checkWireTypes(writer().uint32(10).bytes(Uint8Array.from([1])).finish(), types) }).toThrow(new TestMalformedError('field 1 has invalid wire type 2'))
    expect(() => { frames.checkWireTypes(Uint8Array.from([0x00, 0x01]), types) }).toThrow(TestMalformedError)
    // an unknown field with an invalid wire type cannot be skipped
    expect(() => { frames.checkWireTypes(Uint8Array.from([0x1f]), types) }).toThrow()
  })

  it('toProtocolError keeps the protocol\'s errors and maps the others by kind, with the cause', () => {
    const own = new TestTooLargeError('mine')
    expect(frames.toProtocolError(own, 'x')).toBe(own)
    const range = new RangeError('index out of range')
    const truncated = frames.toProtocolError(range, 'thing')
    expect(truncated).toBeInstanceOf(TestTruncatedError)
    expect(truncated.message).toBe('truncated thing: index out of range')
    expect(truncated.cause).toBe(range)
    const tooLong = Object.assign(new Error('too long'), { name: 'InvalidDataLengthError' })
    expect(frames.toProtocolError(tooLong, 'thing')).toBeInstanceOf(TestTooLargeError)
    expect(frames.toProtocolError('odd', 'thing')).toEqual(new TestMalformedError('invalid thing: odd'))
  })

  it('readFrame: lpStream framing faults become the protocol\'s errors; a good frame is read', async () => {
    const [a, b] = await streamPair()
    const lp = lpStream(b, { maxDataLength: 4 })
    a.send(encodeFrame(Uint8Array.from([1, 2, 3])))
    expect((await frames.readFrame(lp, 'frame')).subarray()).toEqual(Uint8Array.from([1, 2, 3]))
    a.send(encodeFrame(Uint8Array.from([1, 2, 3, 4, 5])))
    await expect(frames.readFrame(lp, 'frame')).rejects.toThrow(TestTooLargeError)
    const [c, d] = await streamPair()
    const lp2 = lpStream(d)
    c.send(Uint8Array.from([5, 1, 2]))
    await c.close()
    await expect(frames.readFrame(lp2, 'frame')).rejects.toThrow(TestTruncatedError)
  })
})
