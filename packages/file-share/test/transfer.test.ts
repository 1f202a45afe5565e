import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ping } from '@libp2p/ping'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  ChunkVerificationError, DestinationExistsError, DirectConnectionTimeoutError, FILE_PROTOCOL, FileVerificationError, InvalidContentIdError,
  RemoteFileNotFoundError, FileTransferTimeoutError, cidFromDigest, decodeCredit, decodeHeader, encodeRequest, decodeRequest, encodeChunk, encodeHeader, fileShare, hashFile
} from '../src/index.js'
import { createNode, createRelay, waitUntil } from '@natkit/testkit/libp2p'
import type { FileProgressEvent, FileShare, FileShareInit, FileWaitingEvent } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type FileNode = Libp2p<{ files: FileShare }>

/** The CID of empty content. */
const CID_OF_NOTHING = cidFromDigest(createHash('sha256').digest()).toString()

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'natkit-files-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

const nodes: Libp2p[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async n => n.stop()))
})

async function fileNode (init: FileShareInit = {}, listen?: string[], deny?: (ma: Multiaddr) => boolean): Promise<FileNode> {
  const node = await createNode({ files: fileShare({ downloadDir: dir, ...init }), ping: ping() }, listen, deny)
  nodes.push(node)
  return node
}

/** Deterministic pseudo-random content (so a test can compare bytes). */
function content (bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes)
  let x = seed
  for (let i = 0; i < bytes; i += 4) {
    x = (x * 1664525 + 1013904223) >>> 0
    out.writeUInt32LE(x, Math.min(i, bytes - 4))
  }
  return out
}

/** Retries `fn` (bounded) until it resolves: for a slot the other side frees asynchronously. */
async function waitUntilResolved<T> (fn: () => Promise<T>, attempts = 40): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn()
    } catch (err) {
      if (i >= attempts) throw err
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}

async function exists (path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

describe('file transfer', () => {
  it('shares a file and another peer gets it by CID, verified, with progress', async () => {
    const [s, c] = await Promise.all([fileNode({ chunkSize: 1000 }), fileNode()])
    const src = join(dir, 'hello.bin')
    const data = content(25_500, 1)
    await writeFile(src, data)
    const shared = await s.services.files.share(src)
    expect(shared).toEqual({ ...(await hashFile(src)), name: 'hello.bin', path: src })
    expect(s.services.files.list()).toEqual([shared])
    await c.dial(s.getMultiaddrs()[0])
    const progress: FileProgressEvent[] = []
    c.services.files.addEventListener('file:progress', (evt) => { progress.push(evt.detail) })
    const dest = join(dir, 'hello-copy.bin')
    const result = await c.services.files.get(shared.cid, { from: s.peerId, dest })
    expect(result).toEqual({ cid: shared.cid, name: 'hello.bin', path: dest, bytes: 25_500, from: s.peerId.toString(), resumedFrom: 0, transferred: 25_500 })
    expect(Buffer.compare(await readFile(dest), data)).toBe(0)
    expect(await exists(dest + '.part')).toBe(false)
    // 26 chunks of at most 1000 bytes (the server's chunkSize reached the wire), plus the 0 report
    expect(progress).toHaveLength(27)
    expect(progress.at(-1)).toEqual({ cid: shared.cid, bytes: 25_500, total: 25_500 })
    expect(progress.every((p, i) => i === 0 || p.bytes > progress[i - 1].bytes)).toBe(true)
  })

  it('gets a file by name from a given peer, saving it under that name in downloadDir', async () => {
    const sub = await mkdtemp(join(dir, 'dl-'))
    const [s, c] = await Promise.all([fileNode(), fileNode({ downloadDir: sub })])
    await writeFile(join(dir, 'named.txt'), 'by name')
    const shared = await s.services.files.share(join(dir, 'named.txt'))
    await c.dial(s.getMultiaddrs()[0])
    const result = await c.services.files.get('named.txt', { from: s.peerId })
    expect(result.path).toBe(join(sub, 'named.txt'))
    expect(result.cid).toBe(shared.cid)
    expect(await readFile(result.path, 'utf8')).toBe('by name')
    // a directory as dest: saved inside it under the provider's name
    const into = await mkdtemp(join(dir, 'into-'))
    expect((await c.services.files.get(shared.cid, { from: s.peerId, dest: into })).path).toBe(join(into, 'named.txt'))
    await expect(c.services.files.get(shared.cid, { from: s.peerId, dest: into })).rejects.toThrow(DestinationExistsError)
    await expect(c.services.files.get('named.txt')).rejects.toThrow(InvalidContentIdError)
    await expect(c.services.files.get('missing.txt', { from: s.peerId })).rejects.toThrow(RemoteFileNotFoundError)
  })

  it('never overwrites an existing destination', async () => {
    const [s, c] = await Promise.all([fileNode(), fileNode()])
    await writeFile(join(dir, 'src.txt'), 'new content')
    const { cid } = await s.services.files.share(join(dir, 'src.txt'))
    const dest = join(dir, 'precious.txt')
    await writeFile(dest, 'keep me')
    await c.dial(s.getMultiaddrs()[0])
    await expect(c.services.files.get(cid, { from: s.peerId, dest })).rejects.toThrow(DestinationExistsError)
    expect(await readFile(dest, 'utf8')).toBe('keep me')
    expect(await exists(dest + '.part')).toBe(false)
  })

  it('bounds the files sent at once: a request beyond maxConcurrentUploads is answered busy', async () => {
    const [s, c] = await Promise.all([fileNode({ maxConcurrentUploads: 1 }), fileNode()])
    await writeFile(join(dir, 'busy.bin'), content(64 * 1024, 5))
    const { cid } = await s.services.files.share(join(dir, 'busy.bin'))
    await c.dial(s.getMultiaddrs()[0])
    // a raw client takes the only upload slot: request, header, and no credit yet
    const holder = await c.dialProtocol(s.peerId, FILE_PROTOCOL)
    const lp = lpStream(holder)
    await lp.write(encodeRequest({ cid }))
    expect(decodeHeader(await lp.read())).toMatchObject({ status: 'OK' })
    await expect(c.services.files.get(cid, { from: s.peerId, dest: join(dir, 'busy-1.bin') })).rejects.toThrow(/busy: already sending 1 files/)
    // the slot is given back when that transfer ends
    holder.abort(new Error('done holding'))
    const result = await waitUntilResolved(async () => c.services.files.get(cid, { from: s.peerId, dest: join(dir, 'busy-2.bin') }))
    expect(result.bytes).toBe(64 * 1024)
  })

  it('bounds the number of shared files', async () => {
    const s = await fileNode({ maxSharedFiles: 2 })
    for (const n of ['m1', 'm2', 'm3']) await writeFile(join(dir, n), n)
    await s.services.files.share(join(dir, 'm1'))
    await s.services.files.share(join(dir, 'm2'))
    // the same content again replaces its record
    await s.services.files.share(join(dir, 'm2'))
    await expect(s.services.files.share(join(dir, 'm3'))).rejects.toThrow(/already sharing 2 files/)
    expect(s.services.files.list().map(f => f.name)).toEqual(['m1', 'm2'])
  })
})

/**
 * A provider that speaks the protocol but lies: it serves `data` (claiming
 * `cid`) and passes each chunk through `tamper` before sending.
 */
async function maliciousProvider (cid: string, data: Buffer, chunkSize: number, tamper: (chunk: { offset: number, data: Uint8Array, sha256: Uint8Array }) => typeof chunk, name = 'evil.bin'): Promise<Libp2p> {
  const node = await createNode({})
  nodes.push(node)
  await node.handle(FILE_PROTOCOL, async (stream) => {
    const lp = lpStream(stream)
    decodeRequest(await lp.read())
    await lp.write(encodeHeader({ status: 'OK', cid, name, bytes: data.byteLength, chunkSize }))
    const { offset: start = 0 } = decodeCredit(await lp.read())
    // ignores credit: sends everything (the receiver must cope)
    for (let offset = start; offset < data.byteLength; offset += chunkSize) {
      const slice = data.subarray(offset, Math.min(offset + chunkSize, data.byteLength))
      const chunk = tamper({ offset, data: slice, sha256: createHash('sha256').update(slice).digest() })
      await lp.write(encodeChunk(chunk))
    }
    await stream.close()
  })
  return node
}

describe('verification against a malicious provider', () => {
  const chunkSize = 4096
  const data = content(10 * chunkSize + 100, 7)

  it('detects a chunk that does not match its hash; keeps only the verified prefix, no file at dest', async () => {
    const src = join(dir, 'good.bin')
    await writeFile(src, data)
    const { cid } = await hashFile(src)
    const evil = await maliciousProvider(cid, data, chunkSize, (c) => c.offset === 3 * chunkSize ? { ...c, data: Buffer.from(c.data).fill(0) } : c)
    const c = await fileNode()
    await c.dial(evil.getMultiaddrs()[0])
    const dest = join(dir, 'bad-chunk.bin')
    await expect(c.services.files.get(cid, { from: evil.peerId, dest })).rejects.toThrow(ChunkVerificationError)
    expect(await exists(dest)).toBe(false)
    // the part holds exactly the three verified chunks, byte for byte the real file
    const part = await readFile(dest + '.part')
    expect(part.byteLength).toBe(3 * chunkSize)
    expect(Buffer.compare(part, data.subarray(0, 3 * chunkSize))).toBe(0)
  })

  it('detects a consistent lie (every chunk hash right, the file wrong) by the whole-file hash and deletes the part', async () => {
    const src = join(dir, 'good2.bin')
    await writeFile(src, data)
    const { cid } = await hashFile(src)
    const evil = await maliciousProvider(cid, data, chunkSize, (c) => {
      if (c.offset !== 5 * chunkSize) return c
      const bad = Buffer.from(c.data).fill(1)
      return { offset: c.offset, data: bad, sha256: createHash('sha256').update(bad).digest() }
    })
    const c = await fileNode()
    await c.dial(evil.getMultiaddrs()[0])
    const dest = join(dir, 'lie.bin')
    await writeFile(join(dir, 'other-file.txt'), 'untouched')
    await expect(c.services.files.get(cid, { from: evil.peerId, dest })).rejects.toThrow(FileVerificationError)
    expect(await exists(dest)).toBe(false)
    expect(await exists(dest + '.part')).toBe(false)
    expect(await readFile(join(dir, 'other-file.txt'), 'utf8')).toBe('untouched')
  })

  it('saves under a plain file name in downloadDir whatever path the provider names', async () => {
    const sub = await mkdtemp(join(dir, 'names-'))
    const src = join(dir, 'good4.bin')
    await writeFile(src, data)
    const { cid } = await hashFile(src)
    const evil = await maliciousProvider(cid, data, chunkSize, c => c, '../../escape\nme.bin')
    const c = await fileNode({ downloadDir: sub })
    await c.dial(evil.getMultiaddrs()[0])
    const result = await c.services.files.get(cid, { from: evil.peerId })
    expect(result.path).toBe(join(sub, 'escape_me.bin'))
    expect(Buffer.compare(await readFile(result.path), data)).toBe(0)
  })

  it('refuses a chunk at an unexpected offset', async () => {
    const src = join(dir, 'good3.bin')
    await writeFile(src, data)
    const { cid } = await hashFile(src)
    const evil = await maliciousProvider(cid, data, chunkSize, (c) => c.offset === 2 * chunkSize ? { ...c, offset: 0 } : c)
    const c = await fileNode()
    await c.dial(evil.getMultiaddrs()[0])
    await expect(c.services.files.get(cid, { from: evil.peerId, dest: join(dir, 'offset.bin') })).rejects.toThrow(/chunk at offset 0, expected 8192/)
  })
})

describe('timeouts', () => {
  it('fails with FileTransferTimeoutError when the provider stalls after the header', async () => {
    const stalling = await createNode({})
    nodes.push(stalling)
    await stalling.handle(FILE_PROTOCOL, async (stream) => {
      const lp = lpStream(stream)
      decodeRequest(await lp.read())
      await lp.write(encodeHeader({ status: 'OK', cid: CID_OF_NOTHING, name: 'slow.bin', bytes: 1000, chunkSize: 100 }))
      // then nothing: no chunk ever comes
    })
    const c = await fileNode({ chunkTimeout: 300 })
    await c.dial(stalling.getMultiaddrs()[0])
    const dest = join(dir, 'stalled.bin')
    const started = Date.now()
    await expect(c.services.files.get(CID_OF_NOTHING, { from: stalling.peerId, dest })).rejects.toThrow(FileTransferTimeoutError)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(await exists(dest)).toBe(false)
  })
})

describe('resume', () => {
  it('continues an interrupted download from the verified part', async () => {
    const [s, c] = await Promise.all([fileNode(), fileNode()])
    const total = 8 * 1024 * 1024
    const data = content(total, 3)
    const src = join(dir, 'resume.bin')
    await writeFile(src, data)
    const { cid } = await s.services.files.share(src)
    await c.dial(s.getMultiaddrs()[0])
    const dest = join(dir, 'resume-copy.bin')
    const controller = new AbortController()
    await expect(c.services.files.get(cid, {
      from: s.peerId,
      dest,
      signal: controller.signal,
      onProgress: (bytes) => { if (bytes >= 3 * 1024 * 1024) controller.abort() }
    })).rejects.toThrow()
    expect(await exists(dest)).toBe(false)
    const partBytes = (await stat(dest + '.part')).size
    expect(partBytes).toBeGreaterThanOrEqual(3 * 1024 * 1024)
    expect(partBytes).toBeLessThan(total)
    const result = await c.services.files.get(cid, { from: s.peerId, dest })
    expect(result.resumedFrom).toBe(partBytes)
    expect(result.transferred).toBe(total - partBytes)
    expect(Buffer.compare(await readFile(dest), data)).toBe(0)
    expect(await exists(dest + '.part')).toBe(false)
  })
})

describe('relayed (limited) connections', () => {
  /**
   * s reachable from c only through a relay: c's gater refuses s's own
   * addresses (as s's NAT would) while `natBlocks.on`. libp2p itself tries a
   * direct dial when only a limited connection exists; this makes it fail.
   */
  async function relayedPair (init: FileShareInit): Promise<{ s: FileNode, c: FileNode, cid: string, natBlocks: { on: boolean } }> {
    const relay = await createRelay()
    nodes.push(relay)
    const s = await fileNode({}, ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'])
    const direct = new Set(s.getMultiaddrs().filter(ma => !ma.toString().includes('/p2p-circuit')).map(ma => ma.toString().split('/p2p/')[0]))
    const natBlocks = { on: true }
    const c = await fileNode(init, undefined, (ma) => natBlocks.on && !ma.toString().includes('/p2p-circuit') && direct.has(ma.toString().split('/p2p/')[0]))
    await writeFile(join(dir, 'relayed.bin'), content(300_000, 9))
    const { cid } = await s.services.files.share(join(dir, 'relayed.bin'))
    await s.dial(relay.getMultiaddrs()[0])
    const circuit = await waitUntil(() => s.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit')), 10_000, 'relay reservation')
    await c.dial(multiaddr(circuit.toString()))
    expect(c.getConnections(s.peerId).every(conn => conn.limits != null)).toBe(true)
    return { s, c, cid, natBlocks }
  }

  it('says it is waiting for a direct connection and fails clearly when none comes', async () => {
    const { s, c, cid } = await relayedPair({ directConnectionTimeout: 500 })
    const waiting: FileWaitingEvent[] = []
    c.services.files.addEventListener('file:waiting', (evt) => { waiting.push(evt.detail) })
    const dest = join(dir, 'never.bin')
    await expect(c.services.files.get(cid, { from: s.peerId, dest })).rejects.toThrow(DirectConnectionTimeoutError)
    // the relay's default data limit (128 KiB), less what identify used
    expect(waiting).toEqual([{ cid, peer: s.peerId.toString(), message: expect.stringMatching(new RegExp(`^waiting for a direct connection to ${s.peerId.toString()}; relayed limit is 12\\d KiB$`)) }])
    expect(await exists(dest)).toBe(false)
  })

  it('starts the transfer once a direct connection opens', async () => {
    const { s, c, cid, natBlocks } = await relayedPair({})
    const waiting: FileWaitingEvent[] = []
    c.services.files.addEventListener('file:waiting', (evt) => {
      waiting.push(evt.detail)
      // stands in for DCUtR: the direct connection arrives while the transfer waits
      natBlocks.on = false
      c.dial(s.getMultiaddrs().filter(ma => !ma.toString().includes('/p2p-circuit'))[0]).catch(() => {})
    }, { once: true })
    const result = await c.services.files.get(cid, { from: s.peerId, dest: join(dir, 'direct-later.bin') })
    expect(waiting).toHaveLength(1)
    expect(result.bytes).toBe(300_000)
    expect(Buffer.compare(await readFile(result.path), content(300_000, 9))).toBe(0)
    expect(c.getConnections(s.peerId).some(conn => conn.limits == null)).toBe(true)
  })
})
