import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { INDEX_PRUNE_SLACK, ReservationGroupIndex } from './reservation-index.js'
import type { PeerId } from '@libp2p/interface'

const peer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const groups = (host: string): { host: string, network: string } => ({ host, network: `${host.split('.').slice(0, 2).join('.')}.0.0/16` })

describe('ReservationGroupIndex', () => {
  it('counts held reservations per host and network, dropping reservations the store no longer holds once they could refuse', async () => {
    const store = new Map<string, object>()
    const isHeld = (p: PeerId, r: object): boolean => store.get(p.toString()) === r
    const index = new ReservationGroupIndex<object>()
    const peers = await Promise.all([peer(), peer(), peer()])
    for (const [i, p] of peers.entries()) {
      const r = {}
      store.set(p.toString(), r)
      index.add(p, r, groups(`10.1.0.${i < 2 ? 1 : 2}`), isHeld, store.size)
    }
    expect(index.count('host', groups('10.1.0.1'), 2, isHeld)).toBe(2)
    expect(index.count('net', groups('10.1.0.9'), 3, isHeld)).toBe(3)
    expect(index.count('host', groups('10.2.0.1'), 1, isHeld)).toBe(0)
    // the store expires one reservation, and another peer's is replaced by a new object
    store.delete(peers[0].toString())
    store.set(peers[2].toString(), {})
    expect(index.count('host', groups('10.1.0.1'), 2, isHeld), 'at the limit, stale entries are dropped').toBe(1)
    expect(index.count('net', groups('10.1.0.1'), 3, isHeld)).toBe(1)
  })

  it('stays bounded when reservations churn (the whole index is pruned)', async () => {
    const store = new Map<string, object>()
    const isHeld = (p: PeerId, r: object): boolean => store.get(p.toString()) === r
    const index = new ReservationGroupIndex<object>()
    const ids = await Promise.all(Array.from({ length: 20 }, peer))
    for (let i = 0; i < INDEX_PRUNE_SLACK * 2; i++) {
      // every reservation is gone by the time the next one is made (expired), each from its own host
      const id = ids[i % ids.length]
      store.clear()
      const r = {}
      store.set(id.toString(), r)
      index.add(id, r, groups(`10.${i >> 8}.${i & 255}.1`), isHeld, store.size)
    }
    expect(index.size).toBeLessThanOrEqual(2 * 1 + INDEX_PRUNE_SLACK + 2)
    expect(index.count('host', groups('10.9.9.9'), 1, isHeld)).toBe(0)
  })
})
