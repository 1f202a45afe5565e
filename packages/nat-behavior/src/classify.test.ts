import { describe, expect, it } from 'vitest'
import { classifyAllocation, classifyNat } from './classify.js'
import type { Endpoint, MappingSample, NatObservations } from './classify.js'

const A1P1 = { address: '11.0.0.12', port: 3478 }
const A2P1 = { address: '11.0.0.13', port: 3478 }
const A2P2 = { address: '11.0.0.13', port: 3479 }
const A1P2 = { address: '11.0.0.12', port: 3479 }
/** The RFC 5780 order the prober uses: I, II, III, then the primary address's other port. */
const SERVERS = [A1P1, A2P1, A2P2, A1P2]
const LOCAL = { address: '0.0.0.0', port: 40000 }
const WAN = '11.0.1.1'
const LAN = ['192.168.1.10', '127.0.0.1']

const at = (port: number): Endpoint => ({ address: WAN, port })
/** Samples from the main socket to the four servers, mapped to `ports`, then from fresh sockets to A1P1. */
function samples (ports: number[], fresh: Array<[number, number]> = []): MappingSample[] {
  return [
    ...SERVERS.map((server, i) => ({ server, local: LOCAL, mapped: at(ports[i] as number) })),
    ...fresh.map(([local, mapped]) => ({ server: A1P1, local: { address: '0.0.0.0', port: local }, mapped: at(mapped) }))
  ]
}
const obs = (s: MappingSample[], extra: Partial<NatObservations> = {}): NatObservations => ({ localAddresses: LAN, samples: s, ...extra })

describe('classifyNat', () => {
  it('no NAT: observers see our own address and port; allocation preserving; the connect back connects', () => {
    const s = SERVERS.map(server => ({ server, local: LOCAL, mapped: { address: '11.0.1.10', port: 40000 } }))
    const c = classifyNat({ localAddresses: ['11.0.1.10'], samples: s, filtering: { changeIpAndPort: true, changePort: true }, tcp: { observed: { address: '11.0.1.10', port: 40001 }, target: { address: '11.0.1.10', port: 40002 }, result: 'connected' } })
    expect(c).toMatchObject({ natted: false, mapping: 'none', filtering: 'endpoint-independent', allocation: 'preserving', inbound: 'open', publicAddress: '11.0.1.10' })
  })

  it('full cone: endpoint-independent mapping and filtering, port preserved', () => {
    const c = classifyNat(obs(samples([40000, 40000, 40000, 40000], [[40100, 40100], [40200, 40200]]), { filtering: { changeIpAndPort: true, changePort: true } }))
    expect(c).toMatchObject({ natted: true, publicAddress: WAN, mapping: 'endpoint-independent', filtering: 'endpoint-independent', allocation: 'preserving', inbound: 'unknown' })
    expect(c.stride).toBeUndefined()
  })

  it('address-restricted: endpoint-independent mapping, address-dependent filtering', () => {
    const c = classifyNat(obs(samples([40000, 40000, 40000, 40000]), { filtering: { changeIpAndPort: false, changePort: true } }))
    expect(c).toMatchObject({ mapping: 'endpoint-independent', filtering: 'address-dependent' })
  })

  it('port-restricted: address-and-port-dependent filtering; unsolicited SYNs dropped', () => {
    const c = classifyNat(obs(samples([40000, 40000, 40000, 40000]), { filtering: { changeIpAndPort: false, changePort: false }, tcp: { observed: at(40001), target: at(40002), result: 'timeout' } }))
    expect(c).toMatchObject({ mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', inbound: 'drop' })
  })

  it('symmetric with random ports: address-and-port-dependent mapping, random allocation; reset/reject inbound', () => {
    const c = classifyNat(obs(samples([51234, 2201, 60007, 33333], [[40100, 17001]]), { filtering: { changeIpAndPort: false, changePort: false }, tcp: { observed: at(9), target: at(40002), result: 'reset' } }))
    expect(c).toMatchObject({ mapping: 'address-and-port-dependent', allocation: 'random', inbound: 'reset' })
    expect(classifyNat(obs(samples([1, 2, 3, 5]), { tcp: { observed: at(9), target: at(4), result: 'unreachable' } }))).toMatchObject({ allocation: 'random', inbound: 'reject' })
  })

  it('symmetric with sequential ports: the stride, also negative, byte-swapped (256) and across the 65535 wrap', () => {
    expect(classifyNat(obs(samples([30000, 30001, 30002, 30003], [[40100, 30004]])))).toMatchObject({ mapping: 'address-and-port-dependent', allocation: 'sequential', stride: 1 })
    expect(classifyNat(obs(samples([12405, 12661, 12917, 13173])))).toMatchObject({ allocation: 'sequential', stride: 256 })
    expect(classifyNat(obs(samples([30000, 29998, 29996, 29994])))).toMatchObject({ allocation: 'sequential', stride: -2 })
    expect(classifyNat(obs(samples([65534, 65535, 0, 1])))).toMatchObject({ allocation: 'sequential', stride: 1 })
  })

  it('address-dependent mapping: a new port per remote address, the same for both ports of one address', () => {
    const c = classifyNat(obs(samples([40000, 40001, 40001, 40000])))
    expect(c).toMatchObject({ mapping: 'address-dependent', filtering: 'unknown' })
  })

  it('endpoint-dependent when no two observers share an address; unknown with one observer or no answer', () => {
    const two = [{ server: A1P1, local: LOCAL, mapped: at(1000) }, { server: A2P1, local: LOCAL, mapped: at(2000) }]
    expect(classifyNat(obs(two)).mapping).toBe('endpoint-dependent')
    const c = classifyNat(obs([{ server: A1P1, local: LOCAL, mapped: at(41000) }]))
    expect(c).toMatchObject({ mapping: 'unknown', allocation: 'unknown' })
    expect(classifyNat(obs([{ server: A1P1, local: LOCAL, mapped: at(40000) }])).allocation).toBe('preserving')
    expect(c.natted).toBeUndefined()
    const none = classifyNat(obs([{ server: A1P1, local: LOCAL }]))
    expect(none).toMatchObject({ mapping: 'unknown', allocation: 'unknown', filtering: 'unknown' })
    expect(none.evidence).toEqual(['11.0.0.12:3478 did not answer (from local port 40000)'])
  })

  it('evidence names each observer, the filtering tests, hairpinning, TCP and lifetime', () => {
    const c = classifyNat(obs(samples([40000, 40000, 40000, 40000]), { filtering: { changeIpAndPort: false, changePort: true }, hairpin: false, tcp: { observed: at(40001), target: at(40002), result: 'timeout' }, lifetime: { aliveMs: 2000 } }))
    expect(c.evidence).toEqual([
      '11.0.0.12:3478 saw 11.0.1.1:40000 (from local port 40000)',
      '11.0.0.13:3478 saw 11.0.1.1:40000 (from local port 40000)',
      '11.0.0.13:3479 saw 11.0.1.1:40000 (from local port 40000)',
      '11.0.0.12:3479 saw 11.0.1.1:40000 (from local port 40000)',
      'answer from the other address and port did not arrive; from the other port arrived',
      'a datagram to our own mapped address did not come back',
      'TCP: observer saw 11.0.1.1:40001; its connect back to 11.0.1.1:40002 from another address: timeout',
      'mapping lifetime: alive after 2000 ms idle'
    ])
    expect(c).toMatchObject({ hairpin: false, lifetime: { minMs: 2000 } })
  })
})

describe('classifyAllocation', () => {
  it('needs MIN_ALLOCATION_SAMPLES distinct new mappings for a verdict', () => {
    const two = [{ server: A1P1, local: LOCAL, mapped: at(30000) }, { server: A2P1, local: LOCAL, mapped: at(30001) }]
    expect(classifyAllocation(two)).toEqual({ allocation: 'unknown' })
    // a reused mapping is not a new allocation
    expect(classifyAllocation([...two, { server: A2P2, local: LOCAL, mapped: at(30001) }])).toEqual({ allocation: 'unknown' })
    expect(classifyAllocation([...two, { server: A2P2, local: LOCAL, mapped: at(30002) }])).toEqual({ allocation: 'sequential', stride: 1 })
  })
})
