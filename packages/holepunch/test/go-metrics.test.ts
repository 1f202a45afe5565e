import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { goIpVersion, goNumAttempts, goOutcomeLabels, goTransport } from '../src/index.js'
import type { HolePunchOutcomeEvent } from '../src/index.js'

const base: HolePunchOutcomeEvent = {
  remotePeer: 'p',
  role: 'initiator',
  attempt: 2,
  remoteAddrs: ['/ip4/11.0.1.1/tcp/4100/p2p/12D3KooWLsSWaRsoCejZ6RMsGqdftpKbohczNqs3jvNfPgRwrMp2'],
  ownAddrs: ['/ip4/11.0.2.1/tcp/4100', '/ip6/2001:db8::1/tcp/4100']
}

describe('go-libp2p compatible hole punch metric labels', () => {
  it('names transports and IP versions as go-libp2p does', () => {
    expect(goTransport(multiaddr('/ip4/11.0.0.1/tcp/1'))).toBe('tcp')
    expect(goTransport(multiaddr('/ip4/11.0.0.1/udp/1/quic-v1'))).toBe('quic-v1')
    expect(goTransport(multiaddr('/ip4/11.0.0.1/udp/1/quic-v1/webtransport'))).toBe('webtransport')
    expect(goTransport(multiaddr('/ip4/11.0.0.1/tcp/1/ws'))).toBe('ws')
    expect(goTransport(multiaddr('/ip4/11.0.0.1/tcp/1/p2p/12D3KooWLsSWaRsoCejZ6RMsGqdftpKbohczNqs3jvNfPgRwrMp2/p2p-circuit/webrtc'))).toBe('p2p-circuit')
    expect(goTransport(multiaddr('/ip4/11.0.0.1/udp/1'))).toBe('other')
    expect(goIpVersion(multiaddr('/ip6/::1/tcp/1'))).toBe('ip6')
    expect(goIpVersion(multiaddr('/dns4/example.test/tcp/1'))).toBe('unknown')
    expect([0, 1, 5, 6].map(goNumAttempts)).toEqual(['0', '1', '5', '> 5'])
  })

  it('success: the matching address succeeded, the unmatched one had no suitable address', () => {
    const l = goOutcomeLabels({ ...base, directAddr: '/ip4/11.0.1.1/tcp/4100/p2p/12D3KooWLsSWaRsoCejZ6RMsGqdftpKbohczNqs3jvNfPgRwrMp2' })
    expect(l.outcome).toEqual({ side: 'initiator', num_attempts: '2', outcome: 'success' })
    expect(l.addresses).toEqual([
      { side: 'initiator', num_attempts: '2', ipv: 'ip4', transport: 'tcp', outcome: 'success' },
      { side: 'initiator', num_attempts: '2', ipv: 'ip6', transport: 'tcp', outcome: 'no_suitable_address' }
    ])
  })

  it('failed when a matching address existed but no direct connection came; receiver side for A', () => {
    const l = goOutcomeLabels({ ...base, role: 'responder', attempt: 1 })
    expect(l.outcome).toEqual({ side: 'receiver', num_attempts: '1', outcome: 'failed' })
    expect(l.addresses.map(a => a.outcome)).toEqual(['failed', 'no_suitable_address'])
  })

  it('cancelled for a matching address when the direct connection used another transport', () => {
    const l = goOutcomeLabels({ ...base, directAddr: '/ip4/11.0.1.1/udp/1/webrtc-direct' })
    expect(l.outcome.outcome).toBe('success')
    expect(l.addresses.map(a => a.outcome)).toEqual(['cancelled', 'no_suitable_address'])
  })

  it('no_suitable_address overall when the peer offered nothing matching', () => {
    const l = goOutcomeLabels({ ...base, remoteAddrs: ['/ip4/11.0.1.1/udp/1/quic-v1'] })
    expect(l.outcome.outcome).toBe('no_suitable_address')
    expect(l.addresses.map(a => a.outcome)).toEqual(['no_suitable_address', 'no_suitable_address'])
  })
})
