import { randomBytes } from 'node:crypto'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { TS_HOOKS } from '@natkit/testkit'
import { DEFAULT_CHUNK_SIZE } from '../src/index.js'
import { afterAll, beforeAll, expect, it } from 'vitest'

const FILE_BYTES = 64 * 1024 * 1024
/** Peak RSS growth allowed during the transfer: a quarter of the file. */
const MAX_RSS_GROWTH = FILE_BYTES / 4

const CHILD = new URL('./fixtures/transfer-rss.ts', import.meta.url).pathname

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'natkit-files-large-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

it('transfers a 64 MiB file on loopback, hash verified, with bounded memory (peak RSS growth measured in a child process)', async () => {
  const src = join(dir, 'big.bin')
  const handle = await open(src, 'w')
  for (let i = 0; i < FILE_BYTES / (1024 * 1024); i++) await handle.write(randomBytes(1024 * 1024))
  await handle.close()
  const dest = join(dir, 'big-copy.bin')
  // a small young generation and a gc before the baseline: what is left is what the transfer keeps
  const { stdout, stderr, status } = spawnSync(process.execPath, [
    '--no-warnings', '--experimental-transform-types', '--expose-gc', '--max-semi-space-size=2', '--conditions=source', '--import', TS_HOOKS, CHILD, src, dest
  ], { encoding: 'utf8', timeout: 90_000 })
  expect(status, stderr).toBe(0)
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { bytes: number, received: number, verified: boolean, growth: number, progressEvents: number }
  console.log(`64 MiB transfer: peak RSS growth ${(report.growth / 1024 / 1024).toFixed(1)} MiB, ${report.progressEvents} progress events`)
  expect(report.bytes).toBe(FILE_BYTES)
  expect(report.received).toBe(FILE_BYTES)
  expect(report.verified).toBe(true)
  // 256 KiB chunks (DEFAULT_CHUNK_SIZE): 256 of them, plus the 0 report
  expect(report.progressEvents).toBe(FILE_BYTES / DEFAULT_CHUNK_SIZE + 1)
  expect(report.growth).toBeLessThan(MAX_RSS_GROWTH)
}, 120_000)
