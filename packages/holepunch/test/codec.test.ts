import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import {
  MAX_MESSAGE_SIZE, MalformedMessageError, MessageTooLargeError, TruncatedMessageError, UnknownMessageTypeError,
  decodeFrame, decodeHolePunch, encodeFrame, encodeHolePunch
} from '../src/index.js'

describe('HolePunch codec', () => {
  const addrs = [multiaddr('/ip4/11.0.0.4/tcp/4001').bytes, multiaddr('/ip6/2001:db8::1/tcp/4002').bytes]

  it('round-trips CONNECT and SYNC through the length-prefixed frame', () => {
    const frame = encodeFrame({ type: 'CONNECT', obsAddrs: addrs })
    const { message, bytes } = decodeFrame(frame)
    expect(bytes).toBe(frame.byteLength)
    expect(message.type).toBe('CONNECT')
    expect(message.obsAddrs.map(a => multiaddr(a).toString())).toEqual(['/ip4/11.0.0.4/tcp/4001', '/ip6/2001:db8::1/tcp/4002'])
    expect(decodeFrame(encodeFrame({ type: 'SYNC', obsAddrs: [] })).message).toEqual({ type: 'SYNC', obsAddrs: [] })
  })

  it('produces the protobuf bytes go-libp2p expects', () => {
    // field 1 varint 100 = 08 64; field 2 bytes = 12 <len> <addr>
    expect([...encodeHolePunch({ type: 'CONNECT', obsAddrs: [] })]).toEqual([0x08, 0x64])
    // 300 = 0xac 0x02
    expect([...encodeHolePunch({ type: 'SYNC', obsAddrs: [] })]).toEqual([0x08, 0xac, 0x02])
    const a = new Uint8Array([4, 1, 2, 3, 4])
    expect([...encodeHolePunch({ type: 'CONNECT', obsAddrs: [a] })]).toEqual([0x08, 0x64, 0x12, 5, 4, 1, 2, 3, 4])
  })

  it('skips unknown fields and accepts fields in any order', () => {
    // unknown field 3 (varint 7), field 2 before field 1, unknown field 4 (bytes)
    const body = new Uint8Array([0x18, 0x07, 0x12, 0x01, 0xaa, 0x22, 0x02, 0x01, 0x02, 0x08, 0x64])
    expect(decodeHolePunch(body)).toEqual({ type: 'CONNECT', obsAddrs: [new Uint8Array([0xaa])] })
  })

  it('rejects a truncated length varint', () => {
    expect(() => decodeFrame(new Uint8Array([0x80]))).toThrow(TruncatedMessageError)
    expect(() => decodeFrame(new Uint8Array([]))).toThrow(TruncatedMessageError)
  })

  it('rejects a truncated body and a truncated field', () => {
    const frame = encodeFrame({ type: 'CONNECT', obsAddrs: addrs })
    expect(() => decodeFrame(frame.subarray(0, frame.byteLength - 3))).toThrow(TruncatedMessageError)
    expect(() => decodeHolePunch(new Uint8Array([0x08, 0x64, 0x12, 0x09, 0x01]))).toThrow(TruncatedMessageError)
    expect(() => decodeHolePunch(new Uint8Array([0x08, 0xac]))).toThrow(TruncatedMessageError)
  })

  it('rejects oversize messages on decode and on encode', () => {
    // declared length MAX + 1, no body needed to reject
    const big = MAX_MESSAGE_SIZE + 1
    expect(() => decodeFrame(new Uint8Array([(big & 0x7f) | 0x80, big >> 7]))).toThrow(MessageTooLargeError)
    expect(() => decodeHolePunch(new Uint8Array(big))).toThrow(MessageTooLargeError)
    const many = Array.from({ length: 500 }, () => multiaddr('/ip4/11.0.0.4/tcp/4001').bytes)
    expect(() => encodeHolePunch({ type: 'CONNECT', obsAddrs: many })).toThrow(MessageTooLargeError)
  })

  it('rejects unknown message types and a missing type', () => {
    expect(() => decodeHolePunch(new Uint8Array([0x08, 0x00]))).toThrow(UnknownMessageTypeError)
    expect(() => decodeHolePunch(new Uint8Array([0x08, 0xc8, 0x01]))).toThrow(UnknownMessageTypeError) // 200
    expect(() => decodeHolePunch(new Uint8Array([0x12, 0x00]))).toThrow(MalformedMessageError)
    expect(() => decodeHolePunch(new Uint8Array([0x0a, 0x00]))).toThrow(MalformedMessageError) // type as bytes
    expect(() => decodeHolePunch(new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(MalformedMessageError)
  })
})

describe('codec errors', () => {
  it('are ProtocolErrors of @libp2p/interface, named after their class even when minified', async () => {
    const { ProtocolError } = await import('@libp2p/interface')
    const err = (() => { try { decodeHolePunch(new Uint8Array([0x12, 0x00])) } catch (e) { return e } })()
    expect(err).toBeInstanceOf(MalformedMessageError)
    expect(err).toBeInstanceOf(ProtocolError)
    expect((err as Error).name).toBe('MalformedMessageError')
    expect(MalformedMessageError.name).toBe('MalformedMessageError')
  })
})
