import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import { findPeerAddrs, peerRecordCid } from './discovery.js'

/**
 * A node whose DHT has a peer, whose FIND_NODE answers `fromPeerStore` and
 * whose provider lookup yields `providers`; counts the provider lookups.
 */
function fakeNode (fromPeerStore: string[], providers: Array<{ id: PeerId, addrs: string[] }>): { node: Libp2p, providerLookups: () => number } {
  let lookups = 0
  const node = {
    services: { dht: { routingTable: Object.assign(new EventTarget(), { size: 1 }) } },
    peerRouting: { findPeer: async (id: PeerId) => ({ id, multiaddrs: fromPeerStore.map(a => multiaddr(a)) }) },
    contentRouting: {
      findProviders: async function * () {
        lookups++
        for (const p of providers) yield { id: p.id, multiaddrs: p.addrs.map(a => multiaddr(a)) }
      }
    }
  }
  return { node: node as unknown as Libp2p, providerLookups: () => lookups }
}

const strs = (mas: Multiaddr[]): string[] => mas.map(String)

describe('findPeerAddrs', async () => {
  const target = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const circuit = `/ip4/11.0.0.21/tcp/4001/p2p/${relay.toString()}/p2p-circuit`

  it('asks the provider record too when FIND_NODE knows only loopback and private addresses (no relay address yet)', async () => {
    const { node, providerLookups } = fakeNode(['/ip4/127.0.0.1/tcp/4100', '/ip4/192.168.2.10/tcp/4100'],
      [{ id: other, addrs: ['/ip4/11.0.9.9/tcp/1'] }, { id: target, addrs: ['/ip4/192.168.2.10/tcp/4100', circuit] }])
    expect(strs(await findPeerAddrs(node, target))).toEqual(['/ip4/127.0.0.1/tcp/4100', '/ip4/192.168.2.10/tcp/4100', circuit])
    expect(providerLookups()).toBe(1)
  })

  it('returns the FIND_NODE answer alone when it holds a circuit or a public address', async () => {
    for (const addr of [circuit, '/ip4/11.0.1.10/tcp/4100']) {
      const { node, providerLookups } = fakeNode(['/ip4/192.168.2.10/tcp/4100', addr], [{ id: target, addrs: ['/ip4/11.0.0.99/tcp/1'] }])
      expect(strs(await findPeerAddrs(node, target))).toEqual(['/ip4/192.168.2.10/tcp/4100', addr])
      expect(providerLookups()).toBe(0)
    }
  })

  it('keeps the FIND_NODE answer when no provider record names the peer', async () => {
    const { node } = fakeNode(['/ip4/192.168.2.10/tcp/4100'], [{ id: other, addrs: [circuit] }])
    expect(strs(await findPeerAddrs(node, target))).toEqual(['/ip4/192.168.2.10/tcp/4100'])
  })
})

describe('peerRecordCid', async () => {
  const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const b = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

  it('is a key DHT servers accept: kad-dht sends the bare multihash and servers CID.decode it (a peer id\'s own CID is refused)', () => {
    // what @libp2p/kad-dht's ADD_PROVIDER / GET_PROVIDERS handlers do with the key
    expect(() => CID.decode(a.toCID().multihash.bytes)).toThrow()
    const key = peerRecordCid(a)
    expect(CID.decode(key.multihash.bytes).multihash.bytes).toEqual(key.multihash.bytes)
  })

  it('is the same for the same peer and differs between peers', () => {
    expect(peerRecordCid(a).equals(peerRecordCid(peerIdFromString(a.toString())))).toBe(true)
    expect(peerRecordCid(a).equals(peerRecordCid(b))).toBe(false)
  })
})
