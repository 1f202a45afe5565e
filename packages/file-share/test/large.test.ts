import { randomBytes } from 'node:crypto'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { ping } from '@libp2p/ping'
import { TS_HOOKS } from '@natkit/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { DEFAULT_CHUNK_SIZE, fileShare } from '../src/index.js'
import { createNode } from '@natkit/testkit/libp2p'
import type { FileShare } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

const FILE_BYTES = 64 * 1024 * 1024
/**
 * Peak RSS growth of the receiver allowed during the transfer: a quarter of
 * the file. In flight is at most the credit window (3 MiB), held in a few
 * copies (socket data, decrypted data, read buffer, the chunk being written),
 * plus garbage not yet collected; whole-file buffering would be 64 MiB.
 */
const MAX_RSS_GROWTH = FILE_BYTES / 4

const run = promisify(execFile)
const CHILD = new URL('./fixtures/transfer-rss.ts', import.meta.url).pathname

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'natkit-files-large-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

it('transfers a 64 MiB file on loopback, hash verified, with bounded receiver memory (peak RSS growth measured in a child process)', async () => {
  const src = join(dir, 'big.bin')
  const handle = await open(src, 'w')
  for (let i = 0; i < FILE_BYTES / (1024 * 1024); i++) await handle.write(randomBytes(1024 * 1024))
  await handle.close()
  const dest = join(dir, 'big-copy.bin')
  const provider = await createNode({ files: fileShare(), ping: ping() }) as Libp2p<{ files: FileShare }>
  let stdout: string
  let bytes: number
  try {
    const shared = await provider.services.files.share(src)
    bytes = shared.bytes
    await writeFile(join(dir, 'warm.bin'), randomBytes(4 * 1024 * 1024))
    const warm = await provider.services.files.share(join(dir, 'warm.bin'))
    // the receiver runs alone in a child (its memory is measured); a small young
    // generation, and gc exposed for the baseline and the live samples
    const child = await run(process.execPath, [
      '--no-warnings', '--experimental-transform-types', '--expose-gc', '--max-semi-space-size=2', '--conditions=source', '--import', TS_HOOKS,
      CHILD, provider.getMultiaddrs()[0].toString(), shared.cid, dest, warm.cid
    ], { encoding: 'utf8', timeout: 90_000 })
    stdout = child.stdout
  } finally {
    await provider.stop()
  }
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { received: number, verified: boolean, growth: number, liveGrowth: number, progressEvents: number }
  console.log(`64 MiB transfer: receiver's peak growth ${(report.growth / 1024 / 1024).toFixed(1)} MiB RSS, ${(report.liveGrowth / 1024 / 1024).toFixed(1)} MiB live (heap + external after gc; informative, V8 frees buffers lazily), ${report.progressEvents} progress events`)
  expect(bytes).toBe(FILE_BYTES)
  expect(report.received).toBe(FILE_BYTES)
  expect(report.verified).toBe(true)
  // 256 KiB chunks (DEFAULT_CHUNK_SIZE): 256 of them, plus the 0 report
  expect(report.progressEvents).toBe(FILE_BYTES / DEFAULT_CHUNK_SIZE + 1)
  expect(report.growth).toBeLessThan(MAX_RSS_GROWTH)
}, 120_000)
