/**
 * The load generator's client: one libp2p identity on one TCP connection to
 * the relay, speaking just what a reserving or relaying peer speaks
 * (multistream-select, noise, yamux, circuit relay v2 HOP/STOP, ping echo).
 *
 * Why not a libp2p node per client: one js-libp2p node costs ~100 MiB of
 * heap-and-services and ~0.5 s to start, so one process cannot host 10,000
 * of them, and worker processes would each bring their own ~100 MiB runtime.
 * A client here is a key pair, a socket, a noise session and a yamux muxer
 * (tens of KiB), built from the same @libp2p/tcp, @libp2p/noise and
 * @libp2p/yamux modules a node uses, so the relay sees ordinary peers; many
 * share one process and its event loop. What a client does not run
 * (identify, autonat, DHT) it refuses with multistream-select's `na`, as a
 * peer without the protocol would.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { select, handle } from '@libp2p/multistream-select'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { byteStream, echo, lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { HopMessage, Status, StopMessage } from './pb/circuit.js'
import type { AbortOptions, MultiaddrConnection, PeerId, Stream, StreamMuxer, Upgrader, MessageStream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export const HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
export const STOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/stop'
export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
/** Bytes of one ping (libp2p's ping payload size). */
export const PING_BYTES = 32

/** The relay answered a HOP request with a status other than OK. */
export class RelayRefusedError extends Error {
  static override name = 'RelayRefusedError'
  override name = 'RelayRefusedError'
  constructor (readonly request: 'reserve' | 'connect', readonly status: Status | undefined) {
    super(`relay refused ${request}: ${status ?? 'no status'}`)
  }
}

/** The echo of a ping over a circuit did not match what was sent. */
export class PingMismatchError extends Error {
  static override name = 'PingMismatchError'
  override name = 'PingMismatchError'
}

const logger = defaultLogger()
const transport = tcp()({ logger })
const muxerFactory = yamux()()
/** tcp's `dial` hands its connection to `options.upgrader.upgradeOutbound`: this one returns it as is, for the client to upgrade. */
const rawUpgrader = { upgradeOutbound: async (maConn: MultiaddrConnection) => maConn } as unknown as Upgrader

/** A light client: see the module comment. */
export class BenchClient {
  readonly peerId: PeerId
  readonly #encrypter: ReturnType<ReturnType<typeof noise>>
  #maConn?: MultiaddrConnection
  #muxer?: StreamMuxer
  /** why the connection closed, once it did (the error's name and message, or 'closed') */
  closeReason?: string

  private constructor (peerId: PeerId, encrypter: ReturnType<ReturnType<typeof noise>>) {
    this.peerId = peerId
    this.#encrypter = encrypter
  }

  /** A client with a fresh Ed25519 identity (not connected). */
  static async create (): Promise<BenchClient> {
    const privateKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(privateKey)
    const upgrader = { getStreamMuxers: () => new Map() } as unknown as Upgrader
    return new BenchClient(peerId, noise()({ peerId, privateKey, logger, upgrader }))
  }

  /**
   * TCP (from `localAddress` when given: tcp's dial passes it on to
   * `net.connect`), multistream-select, noise (checking the relay's id),
   * multistream-select, yamux.
   */
  async connect (relay: Multiaddr, relayPeer: PeerId, options: Required<AbortOptions> & { localAddress?: string }): Promise<void> {
    // the connection keeps listening to the signal it was opened with (tcp, noise): a signal of
    // the handshake only, detached once it is done, or the request timeout would later abort it
    const handshake = new AbortController()
    const onAbort = (): void => { handshake.abort(options.signal.reason) }
    options.signal.addEventListener('abort', onAbort, { once: true })
    try {
      await this.#connect(relay, relayPeer, { signal: handshake.signal, localAddress: options.localAddress })
    } finally {
      options.signal.removeEventListener('abort', onAbort)
    }
  }

  async #connect (relay: Multiaddr, relayPeer: PeerId, options: Required<AbortOptions> & { localAddress?: string }): Promise<void> {
    const dialOptions = { upgrader: rawUpgrader, signal: options.signal, localAddress: options.localAddress }
    const maConn = await transport.dial(relay, dialOptions) as unknown as MultiaddrConnection
    this.#maConn = maConn
    maConn.addEventListener('close', (evt) => {
      this.closeReason ??= evt.error != null ? `${evt.error.name}: ${evt.error.message}`.split('\n')[0] : 'closed'
    }, { once: true })
    try {
      await select(maConn, '/noise', options)
      const secured = await this.#encrypter.secureOutbound(maConn, { ...options, remotePeer: relayPeer, skipStreamMuxerNegotiation: true })
      await select(secured.connection, muxerFactory.protocol, options)
      const muxer = muxerFactory.createStreamMuxer(secured.connection)
      muxer.addEventListener('stream', (evt) => { void this.#onStream(evt.detail) })
      this.#muxer = muxer
    } catch (err) {
      maConn.abort(err as Error)
      throw err
    }
  }

  /** One HOP RESERVE; resolves when the relay grants it. */
  async reserve (options: Required<AbortOptions>): Promise<void> {
    const stream = await this.#hop(options)
    const lp = lpStream(stream)
    await lp.write(HopMessage.encode({ type: HopMessage.Type.RESERVE }), options)
    const reply = HopMessage.decode(await lp.read(options))
    await stream.close(options).catch(() => {})
    if (reply.status !== Status.OK) throw new RelayRefusedError('reserve', reply.status)
  }

  /** HOP CONNECT to `target` through the relay: the circuit's stream, or throws. */
  async connectVia (target: PeerId, options: Required<AbortOptions>): Promise<Stream> {
    const stream = await this.#hop(options)
    const lp = lpStream(stream)
    await lp.write(HopMessage.encode({ type: HopMessage.Type.CONNECT, peer: { id: target.toMultihash().bytes, addrs: [] } }), options)
    const reply = HopMessage.decode(await lp.read(options))
    if (reply.status !== Status.OK) {
      stream.abort(new RelayRefusedError('connect', reply.status))
      throw new RelayRefusedError('connect', reply.status)
    }
    return lp.unwrap()
  }

  /** The connection to the relay is still open (the relay did not close it). */
  get connected (): boolean {
    return this.#maConn?.status === 'open'
  }

  close (): void {
    this.#maConn?.abort(new Error('bench client closed'))
  }

  async #hop (options: Required<AbortOptions>): Promise<Stream> {
    if (this.#muxer == null) throw new Error('bench client is not connected')
    const stream = await this.#muxer.createStream(options)
    await select(stream, HOP_PROTOCOL, options)
    return stream
  }

  /** Inbound streams: ping is echoed; a STOP CONNECT is accepted and the circuit echoed; anything else gets `na`. */
  async #onStream (stream: Stream): Promise<void> {
    const signal = AbortSignal.timeout(INBOUND_NEGOTIATION_TIMEOUT_MS)
    try {
      const protocol = await handle(stream, [PING_PROTOCOL, STOP_PROTOCOL], { signal })
      if (protocol === PING_PROTOCOL) {
        await echo(stream)
        return
      }
      const lp = lpStream(stream)
      const request = StopMessage.decode(await lp.read({ signal }))
      if (request.type !== StopMessage.Type.CONNECT) throw new Error('unexpected STOP message')
      await lp.write(StopMessage.encode({ type: StopMessage.Type.STATUS, status: Status.OK }), { signal })
      await echo(lp.unwrap())
    } catch (err) {
      stream.abort(err as Error)
    }
  }
}

/**
 * A distinct loopback source address per client (127.1.0.2 … 127.250.249.251):
 * the relay sees many hosts, as it would on the internet, instead of one host
 * whose per-IP limits (libp2p's 5 inbound connections per second per host,
 * natkit's pending-handshake and reservation caps per IP) the load would hit.
 */
export function loopbackSource (i: number): string {
  return `127.${1 + Math.floor(i / 62_500) % 250}.${Math.floor(i / 250) % 250}.${2 + i % 250}`
}

/** Bound on an inbound stream's protocol negotiation and STOP request (ms). */
const INBOUND_NEGOTIATION_TIMEOUT_MS = 10_000

/** Writes {@link PING_BYTES} random bytes on `stream` and waits for their echo: the round trip in ms. */
export async function pingOverStream (stream: MessageStream, options: Required<AbortOptions>): Promise<number> {
  const payload = crypto.getRandomValues(new Uint8Array(PING_BYTES))
  const bytes = byteStream(stream)
  const t0 = performance.now()
  await bytes.write(payload, options)
  const back = (await bytes.read({ ...options, bytes: PING_BYTES })).subarray()
  const rtt = performance.now() - t0
  if (!back.every((b, i) => b === payload[i])) throw new PingMismatchError('ping echo differs from what was sent')
  return rtt
}
