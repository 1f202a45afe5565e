/**
 * One fuzz run: codec targets, then the relay's and the peer's protocol
 * handlers over real streams, then STUN over UDP; then honest clients and the
 * health checks. Deterministic inputs for a seed; bounded in count and time.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { NATKIT_DHT_PROTOCOL } from '@natkit/config'
import { createStunServer } from '@natkit/stun'
import { fuzzCodec, type CodecResult } from './codec.js'
import { CODEC_TARGETS } from './codec-targets.js'
import { describeError, type Finding } from './findings.js'
import { HealthWatch, DEFAULT_MAX_HEAP_GROWTH, DEFAULT_MAX_RSS_GROWTH, type HealthReport } from './health.js'
import { honestAutonat, honestDirectMessage, honestFileFetch, honestHolePunch, honestHolePunchRefused, honestKad, honestPing, honestReservation, honestStun } from './honest.js'
import { clientNode, peerServicesClientNode, relayedClientNode, startPeerServices, startAutonat, startBootstrap, startPeer, startRelay, type FuzzedRole, type RoleUnderTest } from './roles.js'
import { SHARED_FILE_NAME } from './messages.js'
import { Rng } from './rng.js'
import { connectionTo, fuzzStream, relayedConnectionFrom, type StreamContext, type StreamResult } from './stream.js'
import { STREAM_TARGETS } from './stream-targets.js'
import { fuzzStunUdp, type UdpResult } from './udp.js'
import type { HolePunchStats } from '@natkit/holepunch'
import type { NatkitNode } from '@natkit/node'

/**
 * Share of the inputs sent over real streams (the rest: codecs and UDP).
 *
 * @default 0.03
 */
export const DEFAULT_STREAM_SHARE = 0.03

/**
 * Share of the inputs sent to STUN servers over UDP.
 *
 * @default 0.15
 */
export const DEFAULT_UDP_SHARE = 0.15

/**
 * A run stops starting new inputs after this long (ms); a short run then
 * reports fewer inputs than asked.
 *
 * @default 600000
 */
export const DEFAULT_MAX_DURATION_MS = 600_000

/**
 * Size of the file the peer services node shares (two chunks of
 * `DEFAULT_CHUNK_SIZE`, so a fuzz transfer reads more than one credit).
 *
 * @default 327680
 */
export const SHARED_FILE_BYTES = 320 * 1024

/** The fuzzer's source address; honest clients use {@link HONEST_ADDRESS} (another requester for per-IP limits). */
export const FUZZER_ADDRESS = '127.0.0.1'
export const HONEST_ADDRESS = '127.0.0.2'

export interface SuiteInit {
  /** total inputs (codec + stream + UDP) */
  inputs: number
  seed: number
  /** @default DEFAULT_MAX_DURATION_MS */
  maxDurationMs?: number
  /** @default DEFAULT_STREAM_SHARE */
  streamShare?: number
  /** @default DEFAULT_UDP_SHARE */
  udpShare?: number
  /** @default DEFAULT_MAX_RSS_GROWTH */
  maxRssGrowth?: number
  /** @default DEFAULT_MAX_HEAP_GROWTH */
  maxHeapGrowth?: number
  /** progress lines */
  log?: (line: string) => void
}

export interface PhaseFigures { inputs: number, durationMs: number, inputsPerSecond: number }

export interface HonestResult { check: string, ok: boolean, detail: string }

/** What the peer's DCUtR service counted during the stream phase. */
export interface DcutrFigures {
  /** streams its responder read (each ends in a success or a failure event; `busy` not included) */
  handled: number
  /** streams reset unread: not on a relayed connection the peer dialed */
  refused: number
  /** streams reset because the punch table was full */
  busy: number
}

const handledBy = (s: HolePunchStats): number => s.successes + Object.entries(s.failures).reduce((n, [reason, count]) => reason === 'busy' ? n : n + count, 0)

export interface SuiteReport {
  seed: number
  inputsRequested: number
  inputs: number
  durationMs: number
  inputsPerSecond: number
  phases: { codec: PhaseFigures, stream: PhaseFigures, udp: PhaseFigures }
  codec: CodecResult[]
  stream: StreamResult[]
  udp: UdpResult[]
  honest: HonestResult[]
  /** the peer's DCUtR counters over the stream phase */
  dcutr: DcutrFigures
  health: HealthReport
  findings: Finding[]
  /** how many findings there were (the list keeps the first ones per target) */
  findingCount: number
}

const figures = (inputs: number, start: number): PhaseFigures => {
  const durationMs = Date.now() - start
  return { inputs, durationMs, inputsPerSecond: Math.round(inputs / Math.max(durationMs, 1) * 1000) }
}

/** Resolves once `done()` holds, or after `timeout` ms (polled every 20 ms). */
async function waitFor (done: () => boolean, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout
  while (!done() && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
}

/** Splits `total` into `parts` near-equal integers. */
const split = (total: number, parts: number): number[] => Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0))

/** Runs the whole suite; never throws for a finding (they are in the report). */
export async function runSuite (init: SuiteInit): Promise<SuiteReport> {
  const log = init.log ?? (() => {})
  const start = Date.now()
  const deadline = start + (init.maxDurationMs ?? DEFAULT_MAX_DURATION_MS)
  const rng = new Rng(init.seed)
  const streamInputs = Math.round(init.inputs * (init.streamShare ?? DEFAULT_STREAM_SHARE))
  const udpInputs = Math.round(init.inputs * (init.udpShare ?? DEFAULT_UDP_SHARE))
  const codecInputs = init.inputs - streamInputs - udpInputs
  const health = new HealthWatch(init.maxRssGrowth ?? DEFAULT_MAX_RSS_GROWTH, init.maxHeapGrowth ?? DEFAULT_MAX_HEAP_GROWTH)
  const findings: Finding[] = []
  const honest: HonestResult[] = []
  const cleanups: Array<() => Promise<void>> = []

  const stream: StreamResult[] = []
  const udp: UdpResult[] = []
  let codec: CodecResult[] = []
  let codecFigures: PhaseFigures = { inputs: 0, durationMs: 0, inputsPerSecond: 0 }
  let streamFigures: PhaseFigures = { inputs: 0, durationMs: 0, inputsPerSecond: 0 }
  let udpFigures: PhaseFigures = { inputs: 0, durationMs: 0, inputsPerSecond: 0 }
  const dcutr: DcutrFigures = { handled: 0, refused: 0, busy: 0 }
  try {
    // --- the roles, the fuzzer and a standalone STUN server (no rate limit, so every datagram is parsed) ---
    const relay = await startRelay()
    cleanups.push(async () => { await relay.runner.stop() })
    const peer = await startPeer()
    cleanups.push(async () => { await peer.runner.stop() })
    const bootstrap = await startBootstrap()
    cleanups.push(async () => { await bootstrap.runner.stop() })
    const autonat = await startAutonat()
    cleanups.push(async () => { await autonat.runner.stop() })
    const stun = createStunServer({ rateLimit: false })
    const stunAddr = await stun.listen(0, '127.0.0.1')
    cleanups.push(async () => { await stun.close() })
    const fuzzer = await clientNode(FUZZER_ADDRESS)
    cleanups.push(async () => { await fuzzer.stop() })
    // DCUtR's A answers only on a relayed connection it dialed: this fuzzer has
    // a reservation on the relay (and no listener), and the peer dials it there
    const relayedFuzzer = await relayedClientNode(FUZZER_ADDRESS, relay)
    cleanups.push(async () => { await relayedFuzzer.node.stop() })
    // the peer app's direct messages and file sharing, sharing one small file
    const dir = await mkdtemp(join(tmpdir(), 'natkit-fuzz-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const peerServices = await startPeerServices(join(dir, 'downloads'))
    cleanups.push(async () => { await peerServices.runner.stop() })
    const sharedBytes = new Rng(init.seed).bytes(SHARED_FILE_BYTES)
    await writeFile(join(dir, SHARED_FILE_NAME), sharedBytes)
    const shared = await peerServices.runner.node.services.files.share(join(dir, SHARED_FILE_NAME))
    const roles: Record<FuzzedRole, RoleUnderTest> = { relay, peer, bootstrap, autonat, 'peer-services': peerServices }

    // memory growth is measured from here: the nodes are up
    health.rebase()

    // --- codecs ---
    let t = Date.now()
    const perCodec = split(codecInputs, CODEC_TARGETS.length)
    codec = CODEC_TARGETS.map((target, i) => fuzzCodec(target, rng.fork(i), perCodec[i], deadline))
    codecFigures = figures(codec.reduce((n, r) => n + r.inputs, 0), t)
    for (const r of codec) findings.push(...r.findings)
    log(`codec: ${codecFigures.inputs} inputs in ${codecFigures.durationMs} ms (${codecFigures.inputsPerSecond}/s), ${codec.reduce((n, r) => n + r.findingCount, 0)} findings`)

    // --- streams: every target at once, each with its own bounded concurrency ---
    t = Date.now()
    const ctx = (role: RoleUnderTest, attacker: NatkitNode): StreamContext => ({
      attackerId: attacker.peerId.toMultihash().bytes,
      attackerPublicKey: attacker.peerId.publicKey != null ? publicKeyToProtobuf(attacker.peerId.publicKey) : new Uint8Array(0),
      targetId: role.runner.node.peerId.toMultihash().bytes
    })
    const connections = {
      relay: connectionTo(async (a) => await fuzzer.dial(a), relay.addr),
      peer: connectionTo(async (a) => await fuzzer.dial(a), peer.addr),
      bootstrap: connectionTo(async (a) => await fuzzer.dial(a), bootstrap.addr),
      autonat: connectionTo(async (a) => await fuzzer.dial(a), autonat.addr),
      'peer-services': connectionTo(async (a) => await fuzzer.dial(a), peerServices.addr)
    }
    const relayedFrom = { peer: relayedConnectionFrom(peer.runner.node, relayedFuzzer.node, relayedFuzzer.circuit) }
    const holePunchStats = (): HolePunchStats => {
      const service = (peer.runner.node.services as { holepunch?: { getStats: () => HolePunchStats } }).holepunch
      if (service == null) throw new Error('the peer runs no hole punch service')
      return service.getStats()
    }
    const before = holePunchStats()
    const perTarget = split(streamInputs, STREAM_TARGETS.length)
    const results: StreamResult[] = []
    // every target at once, each on its role's one connection (see DEFAULT_STREAM_CONCURRENCY)
    await Promise.all(STREAM_TARGETS.map(async (target, i) => {
      if (target.via === 'relayed' && target.role !== 'peer') throw new Error(`no relayed connection from the ${target.role}`)
      results[i] = target.via === 'relayed'
        ? await fuzzStream(target, rng.fork(100 + i), ctx(peer, relayedFuzzer.node), relayedFrom.peer, perTarget[i], deadline)
        : await fuzzStream(target, rng.fork(100 + i), ctx(roles[target.role], fuzzer), connections[target.role], perTarget[i], deadline)
      log(`  ${results[i].target}: ${results[i].inputs} inputs ${JSON.stringify(results[i].outcomes)}`)
    }))
    stream.push(...results)
    const after = holePunchStats()
    dcutr.handled = handledBy(after) - handledBy(before)
    dcutr.refused = after.refused - before.refused
    dcutr.busy = after.failures.busy - before.failures.busy
    log(`  peer dcutr: ${dcutr.handled} streams handled, ${dcutr.refused} refused, ${dcutr.busy} busy`)
    streamFigures = figures(stream.reduce((n, r) => n + r.inputs, 0), t)
    for (const r of stream) {
      if (r.inputs > 0 && r.outcomes.refused === r.inputs) findings.push({ target: `stream ${r.target}`, problem: `the protocol was never negotiated: ${r.lastRefusal ?? 'no stream opened'}` })
    }
    log(`stream: ${streamFigures.inputs} inputs in ${streamFigures.durationMs} ms (${streamFigures.inputsPerSecond}/s)`)

    // --- UDP: most to the standalone server, the rest to the relay's (rate-limited per source, as deployed) ---
    t = Date.now()
    const relayStunPort = relay.stunPort
    if (relayStunPort == null) throw new Error('the relay reported no STUN server')
    const toRelay = Math.floor(udpInputs / 5)
    udp.push(await fuzzStunUdp('stun (no rate limit)', '127.0.0.1', stunAddr.port, rng.fork(200), udpInputs - toRelay, deadline, FUZZER_ADDRESS))
    udp.push(await fuzzStunUdp('relay stun', '127.0.0.1', relayStunPort, rng.fork(201), toRelay, deadline, FUZZER_ADDRESS))
    udpFigures = figures(udp.reduce((n, r) => n + r.inputs, 0), t)
    log(`udp: ${udpFigures.inputs} inputs in ${udpFigures.durationMs} ms (${udpFigures.inputsPerSecond}/s)`)

    // --- honest clients, from another address ---
    const client = await peerServicesClientNode(HONEST_ADDRESS, join(dir, 'honest'))
    cleanups.push(async () => { await client.stop() })
    const check = async (name: string, run: () => Promise<unknown>): Promise<void> => {
      try {
        const detail = await run()
        honest.push({ check: name, ok: true, detail: detail == null ? 'served' : String(detail) })
      } catch (err) {
        honest.push({ check: name, ok: false, detail: describeError(err) })
        findings.push({ target: `honest ${name}`, problem: `not served after fuzzing: ${describeError(err)}` })
      }
    }
    const conn = async (node: NatkitNode, role: RoleUnderTest): ReturnType<NatkitNode['dial']> => await node.dial(role.addr, { signal: AbortSignal.timeout(10_000) })
    for (const role of [relay, peer, bootstrap, autonat, peerServices]) {
      await check(`${role.name} running`, async () => { if (role.runner.node.status !== 'started') throw new Error(`status ${role.runner.node.status}`) })
      await check(`${role.name} ping`, async () => `rtt ${await honestPing(await conn(client, role))} ms`)
    }
    for (const role of [relay, peer, autonat]) await check(`${role.name} autonat`, async () => `status ${await honestAutonat(await conn(client, role))}`)
    await check('relay reservation', async () => { await honestReservation(await conn(client, relay)) })
    const honestRelayed = await relayedClientNode(HONEST_ADDRESS, relay)
    cleanups.push(async () => { await honestRelayed.node.stop() })
    await check('peer dcutr', async () => { await honestHolePunch(await relayedConnectionFrom(peer.runner.node, honestRelayed.node, honestRelayed.circuit)()) })
    await check('peer dcutr on a direct connection refused', async () => await honestHolePunchRefused(await conn(client, peer)))
    await check('bootstrap dht', async () => { await honestKad(await conn(client, bootstrap), NATKIT_DHT_PROTOCOL, client.peerId.toMultihash().bytes) })
    await check('peer-services dm', async () => { await conn(client, peerServices); return await honestDirectMessage(client, peerServices.runner.node) })
    await check('peer-services file', async () => await honestFileFetch(client, peerServices.runner.node, shared.cid, join(dir, 'fetched'), sharedBytes))
    await check('stun binding', async () => { await honestStun('127.0.0.1', stunAddr.port, HONEST_ADDRESS) })
    await check('relay stun binding', async () => { await honestStun('127.0.0.1', relayStunPort, HONEST_ADDRESS) })
    // what the nodes still hold after the run, before they stop (the clients'
    // connections closed: what they held for open connections is not a leak)
    await client.stop()
    await fuzzer.stop()
    await relayedFuzzer.node.stop()
    await honestRelayed.node.stop()
    // the peer's own connection to the relay (it dialed the fuzzers through it)
    await peer.runner.node.hangUp(relay.runner.node.peerId)
    await Promise.all([relay, peer, bootstrap, autonat, peerServices].map(async (role) => { await waitFor(() => role.runner.node.getConnections().length === 0, 5_000) }))
    health.measureEnd()
  } catch (err) {
    findings.push({ target: 'suite', problem: `the run failed: ${describeError(err)}` })
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => { findings.push({ target: 'suite', problem: `cleanup failed: ${describeError(err)}` }) })
  }

  const watched = health.stop()
  findings.push(...watched.findings)
  const inputs = codecFigures.inputs + streamFigures.inputs + udpFigures.inputs
  const durationMs = Date.now() - start
  return {
    seed: init.seed,
    inputsRequested: init.inputs,
    inputs,
    durationMs,
    inputsPerSecond: Math.round(inputs / Math.max(durationMs, 1) * 1000),
    phases: { codec: codecFigures, stream: streamFigures, udp: udpFigures },
    codec,
    stream,
    udp,
    honest,
    dcutr,
    health: watched.report,
    findings,
    findingCount: findings.length - codec.reduce((n, r) => n + r.findings.length, 0) + codec.reduce((n, r) => n + r.findingCount, 0)
  }
}
