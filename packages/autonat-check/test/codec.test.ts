import { multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
// the stock js-libp2p implementation, used only as a wire-compatibility oracle: its protobuf module is not
// in the package's exports, so it is located next to the entry point of the declared devDependency
const stock = await import(new URL('pb/index.js', import.meta.resolve('@libp2p/autonat-v2')).href)
import {
  decodeAutoNATMessage,
  decodeDialBack,
  decodeDialBackResponse,
  DIAL_BACK_STATUS,
  DIAL_STATUS,
  encodeAutoNATMessage,
  encodeDialBack,
  encodeDialBackResponse,
  RESPONSE_STATUS
} from '../src/codec.js'
import { MAX_MESSAGE_SIZE } from '../src/constants.js'
import type { AutoNATMessage } from '../src/codec.js'

const addrA = multiaddr('/ip4/11.0.9.2/tcp/4001').bytes
const addrB = multiaddr('/ip6/2001:db8::1/udp/4001/quic-v1').bytes
const MAX_U64 = (1n << 64n) - 1n

describe('Message round trips', () => {
  const cases: Array<[string, AutoNATMessage]> = [
    ['dialRequest', { dialRequest: { addrs: [addrA, addrB], nonce: MAX_U64 } }],
    ['dialRequest with zero nonce and no addrs', { dialRequest: { addrs: [], nonce: 0n } }],
    ['dialResponse', { dialResponse: { status: RESPONSE_STATUS.OK, addrIdx: 1, dialStatus: DIAL_STATUS.E_DIAL_BACK_ERROR } }],
    ['dialResponse all defaults', { dialResponse: { status: RESPONSE_STATUS.E_INTERNAL_ERROR, addrIdx: 0, dialStatus: DIAL_STATUS.UNUSED } }],
    ['dialDataRequest', { dialDataRequest: { addrIdx: 3, numBytes: 100_000n } }],
    ['dialDataResponse', { dialDataResponse: { data: new Uint8Array(4096).fill(7) } }]
  ]
  for (const [name, msg] of cases) {
    it(name, () => {
      expect(decodeAutoNATMessage(encodeAutoNATMessage(msg))).toEqual(msg)
    })
  }

  it('decodes from a Uint8ArrayList', () => {
    const bytes = encodeAutoNATMessage({ dialDataRequest: { addrIdx: 0, numBytes: 30_000n } })
    const list = new Uint8ArrayList(bytes.subarray(0, 2), bytes.subarray(2))
    expect(decodeAutoNATMessage(list)).toEqual({ dialDataRequest: { addrIdx: 0, numBytes: 30_000n } })
  })

  it('DialBack and DialBackResponse round trip', () => {
    expect(decodeDialBack(encodeDialBack({ nonce: 0x0123456789abcdefn }))).toEqual({ nonce: 0x0123456789abcdefn })
    expect(encodeDialBackResponse({ status: DIAL_BACK_STATUS.OK }).byteLength).toBe(0)
    expect(decodeDialBackResponse(new Uint8Array(0))).toEqual({ status: DIAL_BACK_STATUS.OK })
    expect(decodeDialBackResponse(encodeDialBackResponse({ status: 5 }))).toEqual({ status: 5 })
  })

  it('keeps unknown enum values (open proto3 enums)', () => {
    const msg: AutoNATMessage = { dialResponse: { status: 42, addrIdx: 0, dialStatus: 77 } }
    expect(decodeAutoNATMessage(encodeAutoNATMessage(msg))).toEqual(msg)
  })

  it('skips unknown fields', () => {
    const known = encodeAutoNATMessage({ dialDataRequest: { addrIdx: 1, numBytes: 9n } })
    // field 9, varint 1; then field 10, length-delimited 2 bytes
    const withUnknown = new Uint8Array([...known, 0x48, 0x01, 0x52, 0x02, 0xaa, 0xbb])
    expect(decodeAutoNATMessage(withUnknown)).toEqual({ dialDataRequest: { addrIdx: 1, numBytes: 9n } })
  })

  it('last oneof variant wins', () => {
    const a = encodeAutoNATMessage({ dialDataRequest: { addrIdx: 1, numBytes: 9n } })
    const b = encodeAutoNATMessage({ dialResponse: { status: RESPONSE_STATUS.OK, addrIdx: 0, dialStatus: DIAL_STATUS.OK } })
    expect(decodeAutoNATMessage(new Uint8Array([...a, ...b]))).toEqual({ dialResponse: { status: 200, addrIdx: 0, dialStatus: 200 } })
  })
})

describe('wire compatibility with @libp2p/autonat-v2', () => {
  it('stock decoder reads our DialRequest and DialDataResponse', () => {
    const ours = decodeAutoNATMessage(encodeAutoNATMessage({ dialRequest: { addrs: [addrA], nonce: 0xfedcba9876543210n } }))
    const theirs = stock.Message.decode(encodeAutoNATMessage({ dialRequest: { addrs: [addrA], nonce: 0xfedcba9876543210n } }))
    // the stock reader yields fixed64 as signed; the bits (what it echoes in DialBack) are the same
    expect(BigInt.asUintN(64, theirs.dialRequest?.nonce ?? 0n)).toBe(ours.dialRequest?.nonce)
    expect(decodeDialBack(stock.DialBack.encode({ nonce: theirs.dialRequest?.nonce ?? 0n })).nonce).toBe(0xfedcba9876543210n)
    expect(theirs.dialRequest?.addrs.map((a: Uint8Array) => multiaddr(a).toString())).toEqual(['/ip4/11.0.9.2/tcp/4001'])

    const data = stock.Message.decode(encodeAutoNATMessage({ dialDataResponse: { data: new Uint8Array(4096) } }))
    expect(data.dialDataResponse?.data.byteLength).toBe(4096)
  })

  it('we read the stock DialResponse, DialDataRequest and DialBack', () => {
    const response = stock.Message.encode({
      dialResponse: { status: stock.DialResponse.ResponseStatus.OK, addrIdx: 2, dialStatus: stock.DialStatus.E_DIAL_ERROR }
    })
    expect(decodeAutoNATMessage(response)).toEqual({ dialResponse: { status: RESPONSE_STATUS.OK, addrIdx: 2, dialStatus: DIAL_STATUS.E_DIAL_ERROR } })

    const refused = stock.Message.encode({
      dialResponse: { status: stock.DialResponse.ResponseStatus.E_DIAL_REFUSED, addrIdx: 0, dialStatus: stock.DialStatus.UNUSED }
    })
    expect(decodeAutoNATMessage(refused)).toEqual({ dialResponse: { status: RESPONSE_STATUS.E_DIAL_REFUSED, addrIdx: 0, dialStatus: DIAL_STATUS.UNUSED } })

    const dataRequest = stock.Message.encode({ dialDataRequest: { addrIdx: 0, numBytes: 77_777n } })
    expect(decodeAutoNATMessage(dataRequest)).toEqual({ dialDataRequest: { addrIdx: 0, numBytes: 77_777n } })

    expect(decodeDialBack(stock.DialBack.encode({ nonce: MAX_U64 }))).toEqual({ nonce: MAX_U64 })
  })

  it('stock decoder accepts our DialBackResponse', () => {
    expect(stock.DialBackResponse.decode(encodeDialBackResponse({ status: DIAL_BACK_STATUS.OK })).status).toBe(stock.DialBackResponse.DialBackStatus.OK)
  })
})

describe('malformed input', () => {
  it('rejects an empty Message', () => {
    expect(() => decodeAutoNATMessage(new Uint8Array(0))).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
  })

  it('rejects a truncated Message', () => {
    const bytes = encodeAutoNATMessage({ dialRequest: { addrs: [addrA], nonce: 5n } })
    for (const cut of [1, 3, bytes.byteLength - 1]) {
      expect(() => decodeAutoNATMessage(bytes.subarray(0, cut))).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    }
  })

  it('rejects a truncated fixed64 nonce', () => {
    // DialBack: tag (1, fixed64) followed by only 4 bytes
    expect(() => decodeDialBack(new Uint8Array([0x09, 1, 2, 3, 4]))).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
  })

  it('rejects a known field with the wrong wire type', () => {
    // Message field 2 (dialResponse) sent as a varint
    expect(() => decodeAutoNATMessage(new Uint8Array([0x10, 0x01]))).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    // DialBack nonce sent as a varint instead of fixed64
    expect(() => decodeDialBack(new Uint8Array([0x08, 0x01]))).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
  })

  it('rejects invalid wire types and field number 0', () => {
    expect(() => decodeAutoNATMessage(new Uint8Array([0x4f, 0x00]))).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    expect(() => decodeAutoNATMessage(new Uint8Array([0x00, 0x00]))).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
  })

  it('rejects messages above the size limit', () => {
    const big = new Uint8Array(MAX_MESSAGE_SIZE + 1)
    expect(() => decodeAutoNATMessage(big)).toThrow(expect.objectContaining({ name: 'MessageTooLargeError' }))
    expect(() => encodeAutoNATMessage({ dialDataResponse: { data: new Uint8Array(MAX_MESSAGE_SIZE) } })).toThrow(expect.objectContaining({ name: 'MessageTooLargeError' }))
    expect(() => encodeAutoNATMessage({ dialDataResponse: { data: new Uint8Array(100) } }, 50)).toThrow(expect.objectContaining({ name: 'MessageTooLargeError' }))
  })

  it('rejects out-of-range numbers and ambiguous envelopes when encoding', () => {
    expect(() => encodeDialBack({ nonce: -1n })).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    expect(() => encodeDialBack({ nonce: 1n << 64n })).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    expect(() => encodeAutoNATMessage({ dialDataRequest: { addrIdx: -1, numBytes: 1n } })).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    expect(() => encodeAutoNATMessage({} as unknown as AutoNATMessage)).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
    expect(() => encodeAutoNATMessage({ dialDataResponse: { data: new Uint8Array(1) }, dialDataRequest: { addrIdx: 0, numBytes: 1n } } as unknown as AutoNATMessage))
      .toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
  })

  it('bounds the number of addresses in a DialRequest', () => {
    const many = Array.from({ length: 65 }, () => addrA)
    const bytes = encodeAutoNATMessage({ dialRequest: { addrs: many, nonce: 1n } })
    expect(() => decodeAutoNATMessage(bytes)).toThrow(expect.objectContaining({ name: 'MalformedMessageError' }))
  })
})

describe('codec errors', () => {
  it('are InvalidMessageErrors of @libp2p/interface with their own static and instance name', async () => {
    const { InvalidMessageError } = await import('@libp2p/interface')
    const { MalformedMessageError } = await import('../src/errors.js')
    const err = (() => { try { decodeDialBack(new Uint8Array([0x09, 1])) } catch (e) { return e } })()
    expect(err).toBeInstanceOf(MalformedMessageError)
    expect(err).toBeInstanceOf(InvalidMessageError)
    expect((err as Error).name).toBe('MalformedMessageError')
    expect(MalformedMessageError.name).toBe('MalformedMessageError')
  })
})
