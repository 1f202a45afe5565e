// File transfer throughput on loopback: @natkit/file-share over a libp2p
// connection (tcp + noise + yamux) against a raw TCP copy of the same file,
// both disk to disk. Bounded: BENCH_FILE_MIB (default 128, at most 1024) per
// transfer, BENCH_RUNS (default 3, at most 10) runs each, every transfer
// aborted after BENCH_TIMEOUT_S (default 120) seconds. Only 127.0.0.1.
// Writes reports/file-transfer.json. Run after `npm run build`:
//   npm run bench:files            (root)   or   npm run bench -w @natkit/file-share
import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { fileShare, hashFile } from '@natkit/file-share'
import { createLibp2p } from 'libp2p'

const bounded = (name, fallback, max) => {
  const v = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(v) || v <= 0 || v > max) throw new Error(`${name} must be an integer in 1..${max}, got ${process.env[name]}`)
  return v
}
const FILE_MIB = bounded('BENCH_FILE_MIB', 128, 1024)
const RUNS = bounded('BENCH_RUNS', 3, 10)
const TIMEOUT_MS = bounded('BENCH_TIMEOUT_S', 120, 600) * 1000
const BYTES = FILE_MIB * 1024 * 1024
const root = new URL('../../../', import.meta.url).pathname
const report = join(root, 'reports', 'file-transfer.json')

async function node () {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: (ma) => !ma.toString().startsWith('/ip4/127.') },
    services: { identify: identify(), ping: ping(), files: fileShare() }
  })
}

async function libp2pRun (src, dest) {
  const [s, c] = [await node(), await node()]
  try {
    const { cid } = await s.services.files.share(src)
    await c.dial(s.getMultiaddrs()[0])
    const start = process.hrtime.bigint()
    await c.services.files.get(cid, { from: s.peerId, dest, signal: AbortSignal.timeout(TIMEOUT_MS) })
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    if ((await hashFile(dest)).cid !== cid) throw new Error('libp2p copy does not match')
    return seconds
  } finally {
    await Promise.all([s.stop(), c.stop()])
  }
}

/** The same file over a bare libp2p stream (no chunk frames, hashes or credit): the ceiling of the connection. */
async function libp2pStreamRun (src, dest) {
  const [s, c] = [await node(), await node()]
  try {
    await s.handle('/natkit/bench/1.0.0', async (stream) => {
      for await (const buf of createReadStream(src, { highWaterMark: 64 * 1024 })) {
        if (!stream.send(buf)) await stream.onDrain({ signal: AbortSignal.timeout(TIMEOUT_MS) })
      }
      await stream.close()
    })
    await c.dial(s.getMultiaddrs()[0])
    const start = process.hrtime.bigint()
    const stream = await c.dialProtocol(s.peerId, '/natkit/bench/1.0.0')
    const out = createWriteStream(dest)
    const timer = setTimeout(() => stream.abort(new Error('libp2p stream run timed out')), TIMEOUT_MS)
    try {
      await pipeline(async function * () { for await (const buf of stream) yield buf.subarray() }, out)
    } finally {
      clearTimeout(timer)
    }
    const fh = await open(dest, 'r+')
    await fh.datasync()
    await fh.close()
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const [a, b] = await Promise.all([hashFile(src), hashFile(dest)])
    if (a.cid !== b.cid) throw new Error('libp2p stream copy does not match')
    return seconds
  } finally {
    await Promise.all([s.stop(), c.stop()])
  }
}

async function rawTcpRun (src, dest) {
  const server = createServer((socket) => {
    pipeline(createReadStream(src, { highWaterMark: 64 * 1024 }), socket).catch(() => socket.destroy())
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const start = process.hrtime.bigint()
    const socket = connect(server.address().port, '127.0.0.1')
    const timer = setTimeout(() => socket.destroy(new Error('raw TCP run timed out')), TIMEOUT_MS)
    try {
      await pipeline(socket, createWriteStream(dest))
    } finally {
      clearTimeout(timer)
    }
    // same durability as file-share, which syncs before it renames
    const fh = await open(dest, 'r+')
    await fh.datasync()
    await fh.close()
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const [a, b] = await Promise.all([hashFile(src), hashFile(dest)])
    if (a.cid !== b.cid) throw new Error('raw TCP copy does not match')
    return seconds
  } finally {
    server.close()
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const dir = await mkdtemp(join(tmpdir(), 'natkit-bench-files-'))
try {
  const src = join(dir, 'src.bin')
  const fh = await open(src, 'w')
  for (let i = 0; i < FILE_MIB; i++) await fh.write(randomBytes(1024 * 1024))
  await fh.close()
  const results = []
  for (const [name, run] of [['file-share over libp2p (tcp + noise + yamux)', libp2pRun], ['raw TCP', rawTcpRun], ['bare libp2p stream (tcp + noise + yamux, no file-share framing)', libp2pStreamRun]]) {
    const seconds = []
    for (let i = 0; i < RUNS; i++) {
      const dest = join(dir, `dest-${results.length}-${i}.bin`)
      seconds.push(await run(src, dest))
      await rm(dest)
    }
    const s = median(seconds)
    results.push({ name, runsSeconds: seconds.map(x => Number(x.toFixed(3))), medianSeconds: Number(s.toFixed(3)), mibPerSecond: Number((FILE_MIB / s).toFixed(1)) })
    console.log(`${name}: ${(FILE_MIB / s).toFixed(1)} MiB/s (median of ${RUNS}, ${FILE_MIB} MiB)`)
  }
  const out = {
    benchmark: 'file-transfer',
    description: 'disk-to-disk transfer of one random file on loopback (127.0.0.1): @natkit/file-share get (256 KiB chunks, per-chunk and whole-file sha-256, credit window) over a libp2p connection vs a raw TCP socket copy; a bare libp2p stream copy shows what the connection itself (noise + yamux in JS) allows',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    fileBytes: BYTES,
    runs: RUNS,
    results,
    libp2pToRawRatio: Number((results[0].mibPerSecond / results[1].mibPerSecond).toFixed(3))
  }
  await mkdir(join(root, 'reports'), { recursive: true })
  await writeFile(report, JSON.stringify(out, null, 2) + '\n')
  console.log(`libp2p / raw TCP = ${out.libp2pToRawRatio}; wrote ${report}`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
