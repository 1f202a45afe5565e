import { UsageError } from '@natkit/cli'
import { describe, expect, it } from 'vitest'
import { parseArgs } from './options.js'

describe('natkit-bootstrap parseArgs', () => {
  it('defaults to a local-preset DHT server with no public bootstrap peers', () => {
    const { options } = parseArgs([])
    expect(options.role).toBe('bootstrap')
    expect(options.network).toBe('local')
    expect(options.listen).toEqual(['/ip4/0.0.0.0/tcp/4011'])
    expect(options.bootstrap).toEqual([])
    expect(options.dhtProtocol).toBe('/natkit/kad/1.0.0')
  })

  it('the public preset switches the DHT protocol and bootstrap list only when asked', () => {
    const { options } = parseArgs(['--network', 'public'])
    expect(options.dhtProtocol).toBe('/ipfs/kad/1.0.0')
    expect(options.bootstrap.length).toBeGreaterThan(0)
    expect(parseArgs(['--network', 'lab']).options.bootstrap).toEqual([])
  })

  it('rejects a bootstrap address without a peer id and an unknown preset', () => {
    expect(() => parseArgs(['--bootstrap', '/ip4/11.0.0.4/tcp/4001'])).toThrow(/--bootstrap/)
    expect(() => parseArgs(['--network', 'moon'])).toThrow(/--network.*"moon"/)
    expect(() => parseArgs(['extra-arg'])).toThrow(UsageError)
  })
})
