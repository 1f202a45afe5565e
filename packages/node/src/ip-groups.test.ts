import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { ipGroups } from './ip-groups.js'

describe('ipGroups', () => {
  it('IPv4: the address and its /16', () => {
    expect(ipGroups(multiaddr('/ip4/127.1.0.7/tcp/4001'))).toEqual({ host: '127.1.0.7', network: '127.1.0.0/16' })
  })

  it('IPv6: its /64 and its /32, with :: expanded', () => {
    expect(ipGroups(multiaddr('/ip6/2001:db8:a:b:1:2:3:4/tcp/1'))).toEqual({ host: '2001:db8:a:b::/64', network: '2001:db8::/32' })
    expect(ipGroups(multiaddr('/ip6/2001:db8::1/tcp/1'))).toEqual({ host: '2001:db8:0:0::/64', network: '2001:db8::/32' })
    expect(ipGroups(multiaddr('/ip6/::1/tcp/1'))).toEqual({ host: '0:0:0:0::/64', network: '0:0::/32' })
  })

  it('no IP, or a relayed address: undefined', () => {
    expect(ipGroups(multiaddr('/ip4/127.0.0.1/tcp/1/p2p/12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6/p2p-circuit'))).toBeUndefined()
    expect(ipGroups(multiaddr('/dns4/example.invalid/tcp/1'))).toBeUndefined()
  })
})
