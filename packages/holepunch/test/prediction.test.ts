import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { FIELD_NATKIT_MAPPING, ObservedAddresses, decodeHolePunch, encodeHolePunch, mergeEvidence, mergeMapping } from '../src/index.js'
/** The generated stock codec, as a peer without the extension decodes the message. */
import { HolePunch as HolePunchPb } from '../src/pb/message.js'
import type { MappingHint } from '../src/index.js'

describe('natkit mapping extension of the DCUtR message', () => {
  const addr = multiaddr('/ip4/11.0.1.1/tcp/20000').bytes

  it('round-trips the mapping hint and leaves the stock fields as they were', () => {
    const hints: MappingHint[] = [
      { mapping: 'endpoint-dependent', allocation: 'sequential', stride: -2, port: 20007 },
      { mapping: 'endpoint-dependent', allocation: 'unknown', port: 20000 },
      { mapping: 'endpoint-independent', allocation: 'unknown', port: 4100 }
    ]
    for (const mapping of hints) {
      const bytes = encodeHolePunch({ type: 'CONNECT', obsAddrs: [addr], mapping })
      expect(decodeHolePunch(bytes)).toEqual({ type: 'CONNECT', obsAddrs: [addr], mapping })
      // a stock decoder (the generated protons codec) skips the field: same type and addresses
      const stock = HolePunchPb.decode(bytes)
      expect(stock.obsAddrs).toEqual([addr])
      expect(bytes.subarray(0, encodeHolePunch({ type: 'CONNECT', obsAddrs: [addr] }).byteLength)).toEqual(encodeHolePunch({ type: 'CONNECT', obsAddrs: [addr] }))
    }
    // without a hint the bytes are exactly stock DCUtR
    expect([...encodeHolePunch({ type: 'SYNC', obsAddrs: [] })]).toEqual([0x08, 0xac, 0x02])
  })

  it('ignores a malformed or out-of-range extension instead of failing the message', () => {
    const tag = [(FIELD_NATKIT_MAPPING << 3 | 2) & 0x7f | 0x80, (FIELD_NATKIT_MAPPING << 3 | 2) >>> 7]
    const msg = (body: number[]): Uint8Array => new Uint8Array([0x08, 0x64, ...tag, body.length, ...body])
    // port 0, a wrong wire type, a body over the size bound, no mapping field
    for (const body of [[0x08, 0x02, 0x20, 0x00], [0x0a, 0x01, 0x00, 0x20, 0x01], new Array(40).fill(0x08), [0x20, 0x01]]) {
      const decoded = decodeHolePunch(msg(body))
      expect(decoded.type).toBe('CONNECT')
      expect(decoded.mapping).toBeUndefined()
    }
    // sequential without a stride is taken as unknown allocation
    expect(decodeHolePunch(msg([0x08, 0x02, 0x10, 0x01, 0x20, 0x90, 0x4e])).mapping).toEqual({ mapping: 'endpoint-dependent', allocation: 'unknown', port: 10000 })
  })
})

describe('ObservedAddresses.mappingHint', () => {
  const reused = { port: 4100, reused: true }

  it('says endpoint-independent when every observer saw the listen port, nothing without port-reuse observations', () => {
    const obs = new ObservedAddresses()
    obs.add(multiaddr('/ip4/11.0.2.1/tcp/4100'), 'x')
    expect(obs.mappingHint()).toBeUndefined()
    obs.add(multiaddr('/ip4/11.0.2.1/tcp/4100'), 'a', reused)
    expect(obs.mappingHint()).toEqual({ mapping: 'endpoint-independent', allocation: 'unknown', port: 4100 })
  })

  it('reads the allocation from the order ports were seen: unknown, sequential with its stride, random', () => {
    const obs = new ObservedAddresses()
    obs.add(multiaddr('/ip4/11.0.1.1/tcp/20000'), 'a', reused)
    expect(obs.mappingHint()).toEqual({ mapping: 'endpoint-dependent', allocation: 'unknown', port: 20000 })
    obs.add(multiaddr('/ip4/11.0.1.1/tcp/20002'), 'b', reused)
    obs.add(multiaddr('/ip4/11.0.1.1/tcp/20004'), 'c', reused)
    expect(obs.mappingHint()).toEqual({ mapping: 'endpoint-dependent', allocation: 'sequential', stride: 2, port: 20004 })
    obs.add(multiaddr('/ip4/11.0.1.1/tcp/31337'), 'd', reused)
    expect(obs.mappingHint()).toEqual({ mapping: 'endpoint-dependent', allocation: 'random', port: 31337 })
  })
})

describe('mergeMapping / mergeEvidence: identify observations corrected by NAT discovery', () => {
  const observedHard: MappingHint = { mapping: 'endpoint-dependent', allocation: 'unknown', port: 20003 }
  const notKept = { kind: 'port-not-kept' as const, message: 'one observer saw another port' }

  it('discovery supplies what one observer cannot: the allocation, and its mapping overrules identify\'s', () => {
    expect(mergeMapping(observedHard, { mapping: 'unknown', allocation: 'sequential', stride: 1 })).toEqual({ mapping: 'endpoint-dependent', allocation: 'sequential', stride: 1, port: 20003 })
    expect(mergeMapping(observedHard, { mapping: 'unknown', allocation: 'random' })).toEqual({ mapping: 'endpoint-dependent', allocation: 'random', port: 20003 })
    // a cone NAT that changed the port once: discovery says endpoint-independent
    expect(mergeMapping(observedHard, { mapping: 'endpoint-independent', allocation: 'preserving' })).toEqual({ mapping: 'endpoint-independent', allocation: 'unknown', port: 20003 })
    expect(mergeMapping(undefined, { mapping: 'address-and-port-dependent', allocation: 'random' })).toEqual({ mapping: 'endpoint-dependent', allocation: 'random' })
    expect(mergeMapping(undefined, { mapping: 'unknown', allocation: 'random' })).toBeUndefined()
    // identify's own TCP allocation (three observers) wins over discovery's
    expect(mergeMapping({ ...observedHard, allocation: 'sequential', stride: 2 }, { mapping: 'unknown', allocation: 'random' })).toMatchObject({ allocation: 'sequential', stride: 2 })
    expect(mergeMapping(observedHard, undefined)).toEqual(observedHard)
  })

  it('discovery overrules identify\'s weak guess both ways, never two observers\' different ports', () => {
    expect(mergeEvidence(notKept, { mapping: 'endpoint-independent', allocation: 'preserving' })).toBeUndefined()
    expect(mergeEvidence(undefined, { mapping: 'address-and-port-dependent', allocation: 'sequential', stride: 1 })).toMatchObject({ kind: 'discovered', message: expect.stringContaining('address-and-port-dependent (sequential ports, stride 1)') })
    const strong = { kind: 'different-ports' as const, message: 'two observers' }
    expect(mergeEvidence(strong, { mapping: 'endpoint-independent', allocation: 'preserving' })).toBe(strong)
    expect(mergeEvidence(notKept, { mapping: 'unknown', allocation: 'random' })).toBe(notKept)
    expect(mergeEvidence(notKept, undefined)).toBe(notKept)
  })
})
