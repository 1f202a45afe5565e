import { encodeAutoNATMessage } from '@natkit/autonat-check'
import { encodeFrame } from '@natkit/holepunch'
import { describe, expect, it } from 'vitest'
import { concat, fuzzCodec, FuzzUsageError, lengthPrefixed, parseCli, Rng, STREAM_TARGETS, type CodecTarget } from '../src/index.js'

const dcutr = STREAM_TARGETS.find(t => t.protocol === '/libp2p/dcutr')
const autonat = STREAM_TARGETS.find(t => t.protocol === '/libp2p/autonat/2/dial-request')

describe('stream inputs never complete a request that dials out', () => {
  const connect = encodeFrame({ type: 'CONNECT', obsAddrs: [] })
  const sync = encodeFrame({ type: 'SYNC', obsAddrs: [] })

  it('DCUtR: CONNECT then SYNC is cut after CONNECT; CONNECT then garbage is kept', () => {
    expect(dcutr?.sanitize?.(concat(connect, sync))).toEqual(connect)
    const garbage = Uint8Array.from([0x05, 0xff, 0xff, 0x01])
    expect(dcutr?.sanitize?.(concat(connect, garbage))).toEqual(concat(connect, garbage))
  })

  it('AutoNAT: DialRequest then dial data is cut after the DialRequest', () => {
    const request = lengthPrefixed(encodeAutoNATMessage({ dialRequest: { addrs: [], nonce: 1n } }))
    const data = lengthPrefixed(encodeAutoNATMessage({ dialDataResponse: { data: new Uint8Array(100) } }))
    expect(autonat?.sanitize?.(concat(request, data, data))).toEqual(request)
  })
})

describe('natkit-fuzz command line', () => {
  it('takes --inputs, --seed and --report', () => {
    expect(parseCli(['--inputs', '1000000', '--seed', '9', '--report', 'x.json'])).toMatchObject({ inputs: 1_000_000, seed: 9, report: 'x.json' })
  })

  it('refuses a bad count or an unknown flag with one line', () => {
    expect(() => parseCli(['--inputs', '1e9'])).toThrow(FuzzUsageError)
    expect(() => parseCli(['--inputs', '0'])).toThrow(/^--inputs must be an integer in 1-100000000, got "0"$/)
    expect(() => parseCli(['--bogus'])).toThrow(FuzzUsageError)
  })
})

describe('findings', () => {
  it('a decoder that throws an untyped error, or rejects valid input, is reported with the input', () => {
    class TypedError extends Error {}
    const target: CodecTarget = {
      name: 'decoy',
      valid: () => Uint8Array.from([1, 2, 3]),
      maxSize: 16,
      expected: (err) => err instanceof TypedError,
      decode: (b) => {
        if (b.length > 3) throw new TypeError('cannot read properties of undefined')
        if (b.length === 3) throw new TypedError('refused')
        return b
      }
    }
    const r = fuzzCodec(target, new Rng(1), 200)
    expect(r.findingCount).toBeGreaterThan(0)
    expect(r.findings.some(f => f.problem === 'unexpected TypeError: cannot read properties of undefined' && f.input != null)).toBe(true)
    expect(r.findings.some(f => f.strategy === 'valid' && f.problem.startsWith('valid input rejected'))).toBe(true)
  })
})
