import { NatkitEvents } from '@natkit/events'
import { peerIdFromString } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { relayGater } from './relay-gater.js'

describe('relayGater', () => {
  it('caps circuits per source peer within the window; a denial is a warn', async () => {
    const events = new NatkitEvents()
    const seen: string[] = []
    events.on('warn', (e) => { seen.push(e.message) })
    const gater = relayGater({ events, maxCircuitsPerPeer: 2, windowMs: 60_000 })
    const a = peerIdFromString('12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6')
    const b = peerIdFromString('12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C')
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(true)
    expect(await gater.denyOutboundRelayedConnection?.(b, a)).toBe(false)
    expect(seen).toEqual([expect.stringMatching(/denied: more than 2 circuits within 60000 ms/)])
    // the gater is asked before the outcome is known: it grants reservations without reporting them
    expect(gater.denyInboundRelayReservation).toBeUndefined()
  })

  it('forgets the oldest peers beyond its bound', async () => {
    const events = new NatkitEvents()
    const gater = relayGater({ events, maxCircuitsPerPeer: 1, windowMs: 60_000, maxTrackedPeers: 1 })
    const a = peerIdFromString('12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6')
    const b = peerIdFromString('12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C')
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(b, a)).toBe(false)
    // a was evicted, so its count restarted
    expect(await gater.denyOutboundRelayedConnection?.(a, b)).toBe(false)
  })
})
