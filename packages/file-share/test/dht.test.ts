import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { NoProvidersError, cidFromDigest, fileShare } from '../src/index.js'
import { createNode, waitUntil } from '@natkit/testkit/libp2p'
import type { FileProvideEvent, FileShare } from '../src/index.js'
import type { KadDHT, RoutingTable } from '@libp2p/kad-dht'
import type { Libp2p } from '@libp2p/interface'

type DhtNode = Libp2p<{ files: FileShare, dht: KadDHT }>

/** Peers in a node's DHT routing table (kad-dht exposes it at run time; its public type does not). */
function tableSize (node: DhtNode): number {
  return (node.services.dht as unknown as { routingTable: RoutingTable }).routingTable.size
}

let dir: string
const nodes: Libp2p[] = []
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'natkit-files-dht-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => n.stop())) })

async function dhtNode (): Promise<DhtNode> {
  const node = await createNode({
    // loopback addresses are private: keep them in provider records and the routing table
    dht: kadDHT({ clientMode: false, peerInfoMapper: passthroughMapper, initialQuerySelfInterval: 0 }),
    ping: ping(),
    files: fileShare({ downloadDir: dir, findProvidersTimeout: 10_000 })
  }) as DhtNode
  nodes.push(node)
  return node
}

it('a third peer finds the provider of a CID through the DHT and gets the file from it', async () => {
  // d is the only peer both others are told about (c may meet s as a DHT peer, never as the file's provider)
  const [d, s, c] = await Promise.all([dhtNode(), dhtNode(), dhtNode()])
  await s.dial(d.getMultiaddrs()[0])
  await c.dial(d.getMultiaddrs()[0])
  await waitUntil(() => tableSize(s) > 0 && tableSize(c) > 0 && tableSize(d) > 1, 10_000, 'routing tables')
  // record what c's content routing answers: the provider must come from there
  const found: string[] = []
  const findProviders = c.contentRouting.findProviders.bind(c.contentRouting)
  c.contentRouting.findProviders = async function * (cid, options) {
    for await (const provider of findProviders(cid, options)) {
      found.push(provider.id.toString())
      yield provider
    }
  }

  await writeFile(join(dir, 'dht.txt'), 'found through the DHT')
  const provided = new Promise<FileProvideEvent>((resolve) => {
    s.services.files.addEventListener('file:provided', (evt) => { resolve(evt.detail) }, { once: true })
  })
  const { cid } = await s.services.files.share(join(dir, 'dht.txt'))
  expect(await provided).toEqual({ cid })

  const result = await c.services.files.get(cid, { dest: join(dir, 'dht-copy.txt') })
  expect(result.from).toBe(s.peerId.toString())
  expect(found).toContain(s.peerId.toString())
  expect(await readFile(result.path, 'utf8')).toBe('found through the DHT')
}, 60_000)

it('reports NoProvidersError when nobody provides the CID', async () => {
  const [d, c] = await Promise.all([dhtNode(), dhtNode()])
  await c.dial(d.getMultiaddrs()[0])
  await waitUntil(() => tableSize(c) > 0, 10_000, 'routing table')
  // sha2-256 of "nobody has this", as a raw CIDv1
  const cid = cidFromDigest(createHash('sha256').update('nobody has this').digest()).toString()
  await expect(c.services.files.get(cid, { dest: join(dir, 'nobody.txt') })).rejects.toThrow(NoProvidersError)
}, 60_000)
