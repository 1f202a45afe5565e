/** The bootstrap node's option rows through @natkit/config (moved from packages/config with the rows, issue 9). */
import { COMMON_SPECS, ROLE_OPTION_KEYS, describeOptions, resolveOptions } from '@natkit/config'
import { describe, expect, it } from 'vitest'
import { BOOTSTRAP_ROLE } from './options.js'

describe('bootstrap options', () => {
  it('the common rows, then the bootstrap node\'s; ROLE_OPTION_KEYS.bootstrap names exactly its own', () => {
    expect(BOOTSTRAP_ROLE.specs.map(s => s.key)).toEqual([...COMMON_SPECS.map(s => s.key), ...ROLE_OPTION_KEYS.bootstrap])
  })

  it('has the documented defaults and bounds', () => {
    const o = resolveOptions(BOOTSTRAP_ROLE, {})
    expect(o.listen).toEqual(['/ip4/0.0.0.0/tcp/4011'])
    expect(o.kBucketSize).toBe(20)
    expect(o.dhtProtocol).toBe('/natkit/kad/1.0.0')
    expect(() => resolveOptions(BOOTSTRAP_ROLE, { flags: { kBucketSize: '1001' } })).toThrow(/--k-bucket-size \(flag\): "1001" must be an integer <= 1000/)
    expect(() => resolveOptions(BOOTSTRAP_ROLE, { flags: { dhtProtocol: 'kad' } })).toThrow(/--dht-protocol \(flag\): "kad" must start with "\/"/)
    expect(describeOptions(BOOTSTRAP_ROLE)).toMatch(/--k-bucket-size <n>\s+NATKIT_K_BUCKET_SIZE\s+20\s+Kademlia k-bucket size/)
  })
})
