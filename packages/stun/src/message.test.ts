import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  STUN_BINDING_ERROR_RESPONSE,
  STUN_BINDING_INDICATION,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS_RESPONSE,
  StunAttribute,
  StunClass,
  StunMethod
} from './constants.js'
import { StunDecodeError } from './errors.js'
import { bytesToIp, ipToBytes, unmapIPv4 } from './ip.js'
import {
  decodeErrorCode,
  decodeMessageType,
  decodeSoftware,
  decodeStunMessage,
  decodeUnknownAttributes,
  decodeXorMappedAddress,
  encodeErrorCode,
  encodeMessageType,
  encodeStunMessage,
  encodeUnknownAttributes,
  encodeXorMappedAddress,
  getAttribute,
  stunFingerprint
} from './message.js'

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'))
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** RFC 5769 §2: the short-term credential password of every sample. */
const RFC5769_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt'
const RFC5769_TRANSACTION_ID = hex('b7e7a701 bc34d686 fa87dfae')

/** RFC 5769 §2.1 Sample Request. */
const RFC5769_REQUEST = hex(`
  0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 0010 5354554e 20746573 7420636c 69656e74
  0024 0004 6e0001ff
  8029 0008 932ff9b1 51263b36
  0006 0009 6576746a 3a683676 59202020
  0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  8028 0004 e57a3bcf`)

/** RFC 5769 §2.2 Sample IPv4 Response: XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
const RFC5769_IPV4_RESPONSE = hex(`
  0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0008 0001a147 e112a643
  0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  8028 0004 c07d4c96`)

/** Checks MESSAGE-INTEGRITY the RFC 5769 way, to prove the vectors above are intact. */
function messageIntegrityMatches (message: Uint8Array): boolean {
  const fingerprintLength = 8
  const integrityLength = 24
  const integrityOffset = message.length - fingerprintLength - integrityLength
  const prefix = Buffer.from(message.subarray(0, integrityOffset))
  prefix.writeUInt16BE(integrityOffset - 20 + integrityLength, 2)
  const mac = createHmac('sha1', RFC5769_PASSWORD).update(prefix).digest('hex')

  return mac === toHex(message.subarray(integrityOffset + 4, integrityOffset + integrityLength))
}

function decodeReason (data: Uint8Array): string {
  try {
    decodeStunMessage(data)
  } catch (err) {
    expect(err).toBeInstanceOf(StunDecodeError)
    expect((err as Error).name).toBe('StunDecodeError')
    return (err as StunDecodeError).reason
  }

  throw new Error('expected decoding to fail')
}

describe('RFC 5769 test vectors', () => {
  it('the vectors are intact (MESSAGE-INTEGRITY matches)', () => {
    expect(messageIntegrityMatches(RFC5769_REQUEST)).toBe(true)
    expect(messageIntegrityMatches(RFC5769_IPV4_RESPONSE)).toBe(true)
  })

  it('decodes the §2.2 IPv4 response to XOR-MAPPED-ADDRESS 192.0.2.1:32853', () => {
    const message = decodeStunMessage(RFC5769_IPV4_RESPONSE)

    expect(message.method).toBe(StunMethod.Binding)
    expect(message.class).toBe(StunClass.SuccessResponse)
    expect(toHex(message.transactionId)).toBe(toHex(RFC5769_TRANSACTION_ID))
    expect(message.fingerprint).toBe(true)
    expect(message.attributes.map(a => a.type)).toEqual([
      StunAttribute.Software, StunAttribute.XorMappedAddress, StunAttribute.MessageIntegrity, StunAttribute.Fingerprint
    ])
    expect(decodeSoftware(getAttribute(message, StunAttribute.Software) ?? new Uint8Array())).toBe('test vector')

    const xor = getAttribute(message, StunAttribute.XorMappedAddress)
    expect(xor).toBeDefined()
    expect(decodeXorMappedAddress(xor ?? new Uint8Array(), message.transactionId)).toEqual({
      address: '192.0.2.1', port: 32853, family: 'IPv4'
    })
  })

  it('encodes 192.0.2.1:32853 to the XOR-MAPPED-ADDRESS bytes of §2.2', () => {
    expect(toHex(encodeXorMappedAddress({ address: '192.0.2.1', port: 32853 }, RFC5769_TRANSACTION_ID)))
      .toBe('0001a147e112a643')
  })

  it('IPv6 XOR-MAPPED-ADDRESS round trip matches §2.3 (2001:db8:1234:5678:11:2233:4455:6677 port 32853)', () => {
    // §2.3 uses the same transaction id; its XOR-MAPPED-ADDRESS value is:
    const expected = '0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9'.replace(/ /g, '')
    const value = encodeXorMappedAddress({ address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 }, RFC5769_TRANSACTION_ID)

    expect(toHex(value)).toBe(expected)
    expect(decodeXorMappedAddress(value, RFC5769_TRANSACTION_ID)).toEqual({
      address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853, family: 'IPv6'
    })
  })

  it('decodes the §2.1 request with its FINGERPRINT verified', () => {
    const message = decodeStunMessage(RFC5769_REQUEST)

    expect(message.method).toBe(StunMethod.Binding)
    expect(message.class).toBe(StunClass.Request)
    expect(message.fingerprint).toBe(true)
    expect(decodeSoftware(getAttribute(message, StunAttribute.Software) ?? new Uint8Array())).toBe('STUN test client')
    expect(decodeSoftware(getAttribute(message, StunAttribute.Username) ?? new Uint8Array())).toBe('evtj:h6vY')
  })

  it('re-encoding the §2.2 attributes with fingerprint reproduces the vector byte for byte', () => {
    const message = decodeStunMessage(RFC5769_IPV4_RESPONSE)
    const encoded = encodeStunMessage({
      method: message.method,
      class: message.class,
      transactionId: message.transactionId,
      // SOFTWARE has 11 bytes: the vector pads it with 0x20, we pad with zeros
      attributes: message.attributes.filter(a => a.type !== StunAttribute.Fingerprint && a.type !== StunAttribute.Software),
      fingerprint: true
    })
    const decoded = decodeStunMessage(encoded)

    expect(decoded.fingerprint).toBe(true)
    expect(toHex(encoded.subarray(20, 20 + 12 + 24))).toBe(toHex(RFC5769_IPV4_RESPONSE.subarray(36, 72)))
  })
})

describe('message type', () => {
  it('encodes Binding types for every class', () => {
    expect(encodeMessageType(StunMethod.Binding, StunClass.Request)).toBe(STUN_BINDING_REQUEST)
    expect(encodeMessageType(StunMethod.Binding, StunClass.Indication)).toBe(STUN_BINDING_INDICATION)
    expect(encodeMessageType(StunMethod.Binding, StunClass.SuccessResponse)).toBe(STUN_BINDING_SUCCESS_RESPONSE)
    expect(encodeMessageType(StunMethod.Binding, StunClass.ErrorResponse)).toBe(STUN_BINDING_ERROR_RESPONSE)
  })

  it('round-trips every 12-bit method and class', () => {
    for (let method = 0; method < 0x1000; method += 0x0ab) {
      for (const cls of [0, 1, 2, 3] as const) {
        expect(decodeMessageType(encodeMessageType(method, cls))).toEqual({ method, class: cls })
      }
    }
  })
})

describe('decodeStunMessage validation', () => {
  const valid = (): Uint8Array => encodeStunMessage({
    method: StunMethod.Binding,
    class: StunClass.Request,
    transactionId: RFC5769_TRANSACTION_ID,
    attributes: [{ type: StunAttribute.Software, value: new TextEncoder().encode('abc') }],
    fingerprint: true
  })

  it('accepts the valid base message', () => {
    expect(decodeStunMessage(valid()).fingerprint).toBe(true)
  })

  it('rejects a short header', () => {
    expect(decodeReason(valid().subarray(0, 19))).toBe('too-short')
  })

  it('rejects oversize messages', () => {
    expect(() => decodeStunMessage(valid(), { maxMessageSize: 30 })).toThrow(StunDecodeError)
  })

  it('rejects non-zero leading bits', () => {
    const data = valid()
    data[0] |= 0x80
    expect(decodeReason(data)).toBe('not-stun')
  })

  it('rejects a bad magic cookie', () => {
    const data = valid()
    data[4] = 0x21 ^ 0xff
    expect(decodeReason(data)).toBe('bad-cookie')
  })

  it('rejects a length that does not match the datagram or is not a multiple of 4', () => {
    const data = valid()
    data[3] += 4
    expect(decodeReason(data)).toBe('bad-length')

    const unaligned = valid()
    expect(decodeReason(unaligned.subarray(0, unaligned.length - 2))).toBe('bad-length')
  })

  it('rejects an attribute running past the end', () => {
    const data = encodeStunMessage({ method: 1, class: 0, transactionId: RFC5769_TRANSACTION_ID, attributes: [{ type: StunAttribute.Software, value: new Uint8Array(8) }] })
    data[22] = 0
    data[23] = 9 // value length 9 → 12 padded, only 8 present
    expect(decodeReason(data)).toBe('truncated-attribute')
  })

  it('rejects a corrupted FINGERPRINT and attributes after FINGERPRINT', () => {
    const data = valid()
    data[data.length - 1] ^= 1
    expect(decodeReason(data)).toBe('bad-fingerprint')

    const extra = new Uint8Array(valid().length + 8)
    extra.set(valid())
    extra.set([0x80, 0x22, 0x00, 0x04, 0x61, 0x62, 0x63, 0x64], extra.length - 8)
    extra[3] += 8
    // recompute the CRC for the new length so only the position is wrong
    const fingerprintOffset = valid().length - 8
    new DataView(extra.buffer).setUint32(fingerprintOffset + 4, stunFingerprint(extra.subarray(0, fingerprintOffset)))
    expect(decodeReason(extra)).toBe('attribute-after-fingerprint')
  })
})

describe('attribute helpers', () => {
  it('ERROR-CODE round trip', () => {
    const value = encodeErrorCode(420, 'Unknown Attribute')
    expect(toHex(value.subarray(0, 4))).toBe('00000414')
    expect(decodeErrorCode(value)).toEqual({ code: 420, reason: 'Unknown Attribute' })
  })

  it('UNKNOWN-ATTRIBUTES round trip', () => {
    expect(decodeUnknownAttributes(encodeUnknownAttributes([0x7777, 0x0003, 0x1234]))).toEqual([0x7777, 0x0003, 0x1234])
  })
})

describe('ip helpers', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['::', '::'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['fe80::1%lo', 'fe80::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['1::', '1::']
  ])('%s → bytes → %s', (input, canonical) => {
    expect(bytesToIp(ipToBytes(input))).toBe(canonical)
  })

  it('unmaps IPv4-mapped IPv6 addresses only', () => {
    expect(unmapIPv4('::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(unmapIPv4('::ffff:7f00:1')).toBe('127.0.0.1')
    expect(unmapIPv4('::1')).toBe('::1')
    expect(unmapIPv4('10.0.0.1')).toBe('10.0.0.1')
  })

  it('rejects non-addresses', () => {
    expect(() => ipToBytes('example.com')).toThrow(expect.objectContaining({ name: 'InvalidIpAddressError' }))
  })
})
