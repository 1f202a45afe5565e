import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { RELAY_RENDEZVOUS_PREFIX, relayRendezvousCid } from './discovery.js'

describe('the relay key (docs/relay-discovery.md)', () => {
  it('is CIDv1, raw codec, of the SHA-256 of /natkit/relay/<network>: one per network preset', () => {
    const lab = relayRendezvousCid('lab')
    expect(lab.version).toBe(1)
    expect(lab.code).toBe(0x55)
    expect(lab.multihash.code).toBe(0x12)
    expect(Buffer.from(lab.multihash.digest).toString('hex')).toBe(createHash('sha256').update(`${RELAY_RENDEZVOUS_PREFIX}lab`).digest('hex'))
    // the values documented in docs/relay-discovery.md
    expect(lab.toString()).toBe('bafkreicyog2zjtn6frp6xk566ssvphrod3yfowkp4dwxq4kid3hzrzkosy')
    expect(relayRendezvousCid('local').toString()).toBe('bafkreihb3wrweri2elycbaabpjmjtvlz32llz4kirplwq5n2nxu6s526rq')
    expect(relayRendezvousCid('public').equals(lab)).toBe(false)
  })
})
