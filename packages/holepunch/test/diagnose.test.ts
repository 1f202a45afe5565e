import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { HolePunchAbortedError, MalformedMessageError, ObservedAddresses, diagnose } from '../src/index.js'

describe('diagnose', () => {
  const base = { ownCandidates: 2, remoteCandidates: 1, symmetricNatSuspected: false }

  it('orders reasons from most to least specific', () => {
    expect(diagnose({ ...base, ownCandidates: 0, error: new MalformedMessageError('x') })).toBe('no-public-addresses')
    expect(diagnose({ ...base, error: new HolePunchAbortedError('x') })).toBe('aborted')
    expect(diagnose({ ...base, remoteCandidates: 0, error: new MalformedMessageError('x') })).toBe('protocol-error')
    expect(diagnose({ ...base, remoteCandidates: 0, remoteDenied: 2, error: new MalformedMessageError('x') })).toBe('protocol-error')
    expect(diagnose({ ...base, remoteCandidates: 0, remoteDenied: 2 })).toBe('gater-denied')
    expect(diagnose({ ...base, remoteCandidates: 0, remoteDenied: 0 })).toBe('remote-no-public-addresses')
    expect(diagnose({ ...base, remoteCandidates: 0 })).toBe('remote-no-public-addresses')
    const refused = Object.assign(new Error('connect ECONNREFUSED 11.0.0.4:1'), { code: 'ECONNREFUSED' })
    expect(diagnose({ ...base, symmetricNatSuspected: true, error: refused })).toBe('symmetric-nat-suspected')
    expect(diagnose({ ...base, error: new AggregateError([new Error('x', { cause: refused })]) })).toBe('peer-unreachable')
    expect(diagnose({ ...base, error: new DOMException('t', 'TimeoutError') })).toBe('timeout')
  })
})

describe('ObservedAddresses', () => {
  it('keeps a bounded, newest-first set of public TCP addresses without /p2p', () => {
    const obs = new ObservedAddresses({ maxAddrs: 2 })
    expect(obs.add(multiaddr('/ip4/127.0.0.1/tcp/1'), 'a')).toBeUndefined()
    expect(obs.add(multiaddr('/ip4/192.168.1.2/tcp/1'), 'a')).toBeUndefined()
    expect(obs.add(multiaddr('/ip4/11.0.0.4/udp/1/quic-v1'), 'a')).toBeUndefined()
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/1/p2p/12D3KooWLsSWaRsoCejZ6RMsGqdftpKbohczNqs3jvNfPgRwrMp2'), 'a')
    obs.add(multiaddr('/ip4/1.2.3.5/tcp/1'), 'b')
    obs.add(multiaddr('/ip4/1.2.3.6/tcp/1'), 'c')
    expect(obs.addrs().map(String)).toEqual(['/ip4/1.2.3.6/tcp/1', '/ip4/1.2.3.5/tcp/1'])
  })

  it('suspects a symmetric NAT only when different observers see different ports', () => {
    const obs = new ObservedAddresses()
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/4001'), 'a')
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/4001'), 'b')
    expect(obs.symmetricNatSuspected()).toBe(false)
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/5000'), 'a') // same observer again: latest wins
    expect(obs.symmetricNatSuspected()).toBe(true)
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/4001'), 'a')
    expect(obs.symmetricNatSuspected()).toBe(false)
  })
})
