/**
 * Throughput on loopback (issue 14): the same number of bytes over a raw TCP
 * socket, over a direct libp2p connection (tcp + noise + yamux) and over a
 * libp2p connection relayed by the relay under test, between two js-libp2p
 * nodes in the bench's process. Each run: the sender writes the bytes on a
 * stream (respecting backpressure), the receiver counts them and answers one
 * byte when all arrived; the time is first write → answer. The relay's CPU
 * while it relays is read from /proc (not reported by the relay).
 */
import { createServer, connect, type Server } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode } from '@natkit/testkit/libp2p'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { quantile } from './load.js'
import type { ProcStat } from '@natkit/testkit/proc'

/** The bench's own protocol: bytes one way, one byte back when all arrived. */
export const THROUGHPUT_PROTOCOL = '/natkit/bench/throughput/1.0.0'
/**
 * MiB moved per run (`--throughput`; 0 skips the phase).
 *
 * @default 32
 */
export const DEFAULT_THROUGHPUT_MIB = 32
/**
 * Runs of each path; the median is reported (`--throughput-runs`).
 *
 * @default 3
 */
export const DEFAULT_THROUGHPUT_RUNS = 3
/**
 * Bound on one run, connection set-up included.
 *
 * @default 60000
 */
export const DEFAULT_THROUGHPUT_TIMEOUT_MS = 60_000
/** Bytes per write. */
const CHUNK = 64 * 1024
const MiB = 1024 * 1024

export class ThroughputError extends Error {
  static override name = 'ThroughputError'
  override name = 'ThroughputError'
}

export interface PathFigures {
  /** median MiB/s over the runs */
  mibPerS: number
  runsSeconds: number[]
}

export interface ThroughputFigures {
  bytesPerRun: number
  runs: number
  rawTcp: PathFigures
  direct: PathFigures
  relayed: PathFigures
  /** relayed MiB/s over direct MiB/s */
  relayedToDirect: number
  /** direct MiB/s over raw TCP MiB/s */
  directToRawTcp: number
  /** relay CPU time (user + system) per MiB relayed, from /proc */
  relayCpuMsPerMiB: number
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

/** The receiving side: counts the bytes of each stream and answers one byte once `bytes` arrived. */
function receive (node: Libp2p, bytes: number): void {
  void node.handle(THROUGHPUT_PROTOCOL, (stream: Stream) => {
    let got = 0
    stream.addEventListener('message', (evt) => {
      got += evt.data.byteLength
      if (got >= bytes) stream.send(Uint8Array.of(got === bytes ? 1 : 0))
    })
  }, { runOnLimitedConnection: true })
}

/** Sends `bytes` over a new stream on `conn`; resolves with the seconds until the receiver's answer. */
async function send (conn: Connection, bytes: number, signal: AbortSignal): Promise<number> {
  const stream = await conn.newStream(THROUGHPUT_PROTOCOL, { signal, runOnLimitedConnection: true })
  const answered = new Promise<number>((resolve, reject) => {
    stream.addEventListener('message', (evt) => { resolve(evt.data.subarray()[0]) }, { once: true })
    stream.addEventListener('close', (evt) => { reject(evt.error ?? new ThroughputError('stream closed before the answer')) }, { once: true })
    signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
  })
  // observed here too: a send loop that fails first must not leave `answered` to reject unhandled
  answered.catch(() => {})
  const chunk = new Uint8Array(CHUNK).fill(7)
  const start = performance.now()
  try {
    for (let sent = 0; sent < bytes; sent += CHUNK) {
      // a stream the relay resets (e.g. at its data limit) ends the wait for drain at once
      if (!stream.send(chunk.subarray(0, Math.min(CHUNK, bytes - sent)))) await Promise.race([stream.onDrain({ signal }), answered])
    }
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
  const ok = await answered
  const seconds = (performance.now() - start) / 1000
  if (ok !== 1) throw new ThroughputError('the receiver counted more bytes than were sent')
  await stream.close({ signal }).catch(() => {})
  return seconds
}

/** One run over a libp2p connection: a fresh pair of nodes, `connect` gives the sender's connection to the receiver. */
async function libp2pRun (bytes: number, timeoutMs: number, listen: string[], connect: (sender: Libp2p, receiver: Libp2p) => Promise<Connection>): Promise<number> {
  const signal = AbortSignal.timeout(timeoutMs)
  const receiver = await createNode({}, listen)
  const sender = await createNode({})
  try {
    receive(receiver, bytes)
    return await send(await connect(sender, receiver), bytes, signal)
  } finally {
    await Promise.all([sender.stop(), receiver.stop()])
  }
}

/** Resolves once `node` announces an address that `match` accepts (its reservation on the relay), bounded. */
async function addressMatching (node: Libp2p, match: (a: string) => boolean, timeoutMs: number): Promise<string> {
  const find = (): string | undefined => node.getMultiaddrs().map(String).find(match)
  const found = find()
  if (found != null) return found
  return await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { done(); reject(new ThroughputError(`no relayed address within ${timeoutMs} ms (the reservation failed)`)) }, timeoutMs)
    const onUpdate = (): void => { const a = find(); if (a != null) { done(); resolve(a) } }
    const done = (): void => { clearTimeout(timer); node.removeEventListener('self:peer:update', onUpdate) }
    node.addEventListener('self:peer:update', onUpdate)
  })
}

/** One run over raw TCP on 127.0.0.1: the same bytes, one byte back. */
async function rawTcpRun (bytes: number, timeoutMs: number): Promise<number> {
  const server: Server = createServer((socket) => {
    let got = 0
    socket.on('data', (d: Buffer) => { got += d.byteLength; if (got >= bytes) socket.end(Uint8Array.of(got === bytes ? 1 : 0)) })
    socket.on('error', () => { socket.destroy() })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    const address = server.address()
    if (address == null || typeof address === 'string') throw new ThroughputError('raw TCP server has no port')
    const socket = connect(address.port, '127.0.0.1')
    const timer = setTimeout(() => { socket.destroy(new ThroughputError(`raw TCP run took longer than ${timeoutMs} ms`)) }, timeoutMs)
    try {
      await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
      const answered = new Promise<number>((resolve, reject) => { socket.once('data', (d: Buffer) => { resolve(d[0]) }); socket.once('error', reject) })
      const chunk = Buffer.alloc(CHUNK, 7)
      const start = performance.now()
      for (let sent = 0; sent < bytes; sent += CHUNK) {
        if (!socket.write(chunk.subarray(0, Math.min(CHUNK, bytes - sent)))) await new Promise(resolve => socket.once('drain', resolve))
      }
      const ok = await answered
      const seconds = (performance.now() - start) / 1000
      if (ok !== 1) throw new ThroughputError('the raw TCP receiver counted more bytes than were sent')
      return seconds
    } finally {
      clearTimeout(timer)
      socket.destroy()
    }
  } finally {
    server.close()
  }
}

function path (bytes: number, seconds: number[]): PathFigures {
  return { mibPerS: round(bytes / MiB / (quantile(seconds, 0.5) ?? NaN), 1), runsSeconds: seconds.map(s => round(s, 3)) }
}

/**
 * Runs the three paths `runs` times each (alternating, so they share the machine's load) with the relay at
 * `relay` (TCP address and peer id); `stat` reads the relay's /proc figures.
 */
export async function measureThroughput (relay: { addr: string, peerId: string }, stat: () => ProcStat, mib: number, runs: number, timeoutMs = DEFAULT_THROUGHPUT_TIMEOUT_MS): Promise<ThroughputFigures> {
  const bytes = mib * MiB
  const relayAddr = `${relay.addr}/p2p/${relay.peerId}`
  const seconds = { rawTcp: [] as number[], direct: [] as number[], relayed: [] as number[] }
  let relayCpuMs = 0
  for (let i = 0; i < runs; i++) {
    seconds.rawTcp.push(await rawTcpRun(bytes, timeoutMs))
    seconds.direct.push(await libp2pRun(bytes, timeoutMs, ['/ip4/127.0.0.1/tcp/0'], async (sender, receiver) => {
      const tcp = receiver.getMultiaddrs().find(a => !a.toString().includes('p2p-circuit'))
      if (tcp == null) throw new ThroughputError('the receiving node has no TCP address')
      return await sender.dial(tcp, { signal: AbortSignal.timeout(timeoutMs) })
    }))
    let before: ProcStat | undefined
    seconds.relayed.push(await libp2pRun(bytes, timeoutMs, [`${relayAddr}/p2p-circuit`], async (sender, receiver) => {
      const circuit = await addressMatching(receiver, a => a.includes('/p2p-circuit'), timeoutMs)
      const conn = await sender.dial(multiaddr(circuit), { signal: AbortSignal.timeout(timeoutMs) })
      if (conn.limits == null && !conn.remoteAddr.toString().includes('/p2p-circuit')) throw new ThroughputError(`the sender's connection is not relayed: ${conn.remoteAddr.toString()}`)
      before = stat()
      return conn
    }))
    if (before != null) relayCpuMs += stat().cpuMs - before.cpuMs
  }
  const figures = { rawTcp: path(bytes, seconds.rawTcp), direct: path(bytes, seconds.direct), relayed: path(bytes, seconds.relayed) }
  return {
    bytesPerRun: bytes,
    runs,
    ...figures,
    relayedToDirect: round(figures.relayed.mibPerS / figures.direct.mibPerS),
    directToRawTcp: round(figures.direct.mibPerS / figures.rawTcp.mibPerS),
    relayCpuMsPerMiB: round(relayCpuMs / (mib * runs))
  }
}
