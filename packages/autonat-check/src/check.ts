import { InvalidParametersError } from '@libp2p/interface'
import { isPrivate, lpStream } from '@libp2p/utils'
import { decodeAutoNATMessage, decodeDialBack, DIAL_BACK_STATUS, DIAL_STATUS, encodeAutoNATMessage, encodeDialBackResponse, RESPONSE_STATUS } from './codec.js'
import {
  DEFAULT_DIAL_BACK_GRACE,
  DEFAULT_DIAL_BACK_READ_TIMEOUT,
  DEFAULT_DIAL_DATA_CHUNK_SIZE,
  DEFAULT_MAX_ADDRESSES,
  DEFAULT_MAX_DIAL_DATA_BYTES,
  DEFAULT_MAX_PENDING_DIAL_BACKS,
  DEFAULT_TIMEOUT,
  DIAL_BACK_PROTOCOL,
  DIAL_REQUEST_PROTOCOL,
  MAX_DIAL_DATA_CHUNK_SIZE,
  MAX_MESSAGE_SIZE
} from './constants.js'
import {
  AutoNATCodecError,
  DialBackHandlerInUseError,
  ServerDialError,
  ServerProtocolUnsupportedError,
  TooManyPendingChecksError
} from './errors.js'
import type { DialResponse } from './codec.js'
import type { AbortOptions, ComponentLogger, Connection, Logger, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * What `checkReachability` needs from a node. A libp2p node made with
 * `createLibp2p` satisfies it as is (`dial`, `handle`, `unhandle`, `logger`);
 * inside a service use {@link nodeFromComponents}.
 */
export interface AutoNATCheckNode {
  /** Open (or reuse) a connection to the AutoNAT server. */
  dial(addr: Multiaddr, options?: AbortOptions): Promise<Connection>
  /** Register the temporary `/libp2p/autonat/2/dial-back` handler. */
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
  /** Remove it again. */
  unhandle(protocol: string, options?: AbortOptions): Promise<void>
  /** Optional; debug logs go to `natkit:autonat-check`. */
  logger?: ComponentLogger
}

/** The libp2p components {@link nodeFromComponents} adapts. */
export interface AutoNATCheckComponents {
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string, options?: AbortOptions): Promise<void>
  }
  connectionManager: {
    openConnection(peer: Multiaddr, options?: AbortOptions): Promise<Connection>
  }
  logger?: ComponentLogger
}

/** Verdict for one address. */
export type ReachabilityStatus = 'reachable' | 'unreachable' | 'unknown'

/** Result of asking the server about one address. */
export interface ReachabilityResult {
  /** The address as passed in (string form). */
  addr: string
  /**
   * - `reachable`: server reported `DialStatus.OK` and our dial-back handler
   *   received our nonce over a connection other than the request's.
   * - `unreachable`: server reported `DialStatus.E_DIAL_ERROR` (it could not connect).
   * - `unknown`: anything else (refusal, dial-back error, timeout, protocol error); see `detail`.
   */
  status: ReachabilityStatus
  /** Human readable explanation. */
  detail: string
  /** `DialResponse.status` name (or number if unknown), when a response arrived. */
  responseStatus?: string
  /** `DialResponse.dialStatus` name (or number if unknown), when a response arrived. */
  dialStatus?: string
  /** Anti-amplification bytes we sent for this address (0 when not asked). */
  dialDataBytes: number
  /** Remote address of the connection the dial-back arrived on, if it arrived. */
  dialBackFrom?: string
}

/** Options of {@link checkReachability}. */
export interface CheckReachabilityOptions extends AbortOptions {
  /**
   * Per-address budget in ms (dial-request stream, dial data, the server's
   * dial-back, `DialResponse`). Dialing the server uses the same budget.
   *
   * @default 30_000
   */
  timeout?: number
  /**
   * Most anti-amplification bytes to send for one address. Larger
   * `DialDataRequest`s are declined by resetting the stream (result `unknown`).
   *
   * @default 204_800
   */
  maxDialDataBytes?: number
  /**
   * `data` size of each `DialDataResponse`, at most 4096 (spec limit).
   *
   * @default 4096
   */
  dialDataChunkSize?: number
  /**
   * After a `DialStatus.OK` response, how long (ms) to wait for the dial-back
   * handler to have seen the nonce.
   *
   * @default 1_000
   */
  dialBackGrace?: number
  /**
   * How long (ms) the dial-back handler waits for the server's `DialBack`.
   * Fixed by the first concurrent check on a node.
   *
   * @default 10_000
   */
  dialBackReadTimeout?: number
  /**
   * Largest message accepted or sent, in bytes.
   *
   * @default 8192
   */
  maxMessageSize?: number
  /**
   * Most addresses accepted in one call.
   *
   * @default 32
   */
  maxAddresses?: number
  /**
   * Most nonces awaiting a dial-back at once on one node (across concurrent
   * calls). Fixed by the first concurrent check on a node.
   *
   * @default 64
   */
  maxPendingDialBacks?: number
}

interface DialBackSeen {
  connectionId: string
  remoteAddr: string
}

interface Waiter {
  seen?: DialBackSeen
  arrived: Promise<void>
  notify(): void
}

const SILENT_LOGGER: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: () => SILENT_LOGGER
})

function nameOf (table: Record<string, number>, value: number): string {
  for (const [name, v] of Object.entries(table)) {
    if (v === value) {
      return name
    }
  }
  return String(value)
}

function positiveInteger (value: number | undefined, fallback: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v <= 0 || v > max) {
    throw new InvalidParametersError(`${name} must be an integer between 1 and ${max}, got ${v}`)
  }
  return v
}

/**
 * Shares one `/libp2p/autonat/2/dial-back` handler between all concurrent
 * checks on a node; it is registered by the first and removed by the last.
 */
class DialBackRegistry {
  private readonly waiters = new Map<bigint, Waiter>()
  private users = 0
  private transition: Promise<void> = Promise.resolve()
  private readonly node: AutoNATCheckNode
  private readonly log: Logger
  private readonly readTimeout: number
  private readonly maxMessageSize: number
  private readonly maxPending: number

  constructor (node: AutoNATCheckNode, log: Logger, readTimeout: number, maxMessageSize: number, maxPending: number) {
    this.node = node
    this.log = log
    this.readTimeout = readTimeout
    this.maxMessageSize = maxMessageSize
    this.maxPending = maxPending
    this.handleStream = this.handleStream.bind(this)
  }

  /** Serialises handle/unhandle so concurrent checks never race them. */
  private serial (fn: () => Promise<void>): Promise<void> {
    const run = this.transition.then(fn)
    this.transition = run.catch(() => {})
    return run
  }

  async acquire (): Promise<void> {
    await this.serial(async () => {
      if (this.users === 0) {
        try {
          await this.node.handle(DIAL_BACK_PROTOCOL, this.handleStream, { maxInboundStreams: 2, maxOutboundStreams: 1 })
        } catch (err) {
          if ((err as Error).name === 'DuplicateProtocolHandlerError') {
            throw new DialBackHandlerInUseError(`${DIAL_BACK_PROTOCOL} is already handled on this node (is the autoNATv2 service running?)`)
          }
          throw err
        }
      }
      this.users++
    })
  }

  async release (): Promise<void> {
    await this.serial(async () => {
      this.users--
      if (this.users === 0) {
        await this.node.unhandle(DIAL_BACK_PROTOCOL)
      }
    })
  }

  /** Creates a fresh random nonce and starts waiting for it. */
  expect (): { nonce: bigint, waiter: Waiter } {
    if (this.waiters.size >= this.maxPending) {
      throw new TooManyPendingChecksError(`already ${this.waiters.size} dial-backs pending on this node`)
    }
    let nonce = 0n
    // a collision of two random 64-bit values is practically impossible, bound the retry anyway
    for (let i = 0; i < 8 && (nonce === 0n || this.waiters.has(nonce)); i++) {
      nonce = crypto.getRandomValues(new BigUint64Array(1))[0]
    }
    if (nonce === 0n || this.waiters.has(nonce)) {
      throw new Error('could not pick a unique nonce')
    }
    let notify = (): void => {}
    const arrived = new Promise<void>(resolve => { notify = resolve })
    const waiter: Waiter = { arrived, notify }
    this.waiters.set(nonce, waiter)
    return { nonce, waiter }
  }

  forget (nonce: bigint): void {
    this.waiters.delete(nonce)
  }

  async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.readTimeout)
    try {
      const messages = lpStream(stream, { maxDataLength: this.maxMessageSize })
      const { nonce } = decodeDialBack(await messages.read({ signal }), this.maxMessageSize)
      const waiter = this.waiters.get(nonce)
      if (waiter == null) {
        // spec: the client MUST discard dial-backs with a nonce it did not send
        throw new Error('dial-back carried a nonce we are not waiting for')
      }
      waiter.seen = { connectionId: connection.id, remoteAddr: connection.remoteAddr.toString() }
      waiter.notify()
      this.log('dial-back with our nonce from %a', connection.remoteAddr)
      await messages.write(encodeDialBackResponse({ status: DIAL_BACK_STATUS.OK }), { signal })
      await stream.close({ signal })
    } catch (err) {
      this.log.error('rejected dial-back stream from %a - %e', connection.remoteAddr, err)
      stream.abort(err as Error)
    }
  }
}

const registries = new WeakMap<AutoNATCheckNode, DialBackRegistry>()

function registryFor (node: AutoNATCheckNode, log: Logger, readTimeout: number, maxMessageSize: number, maxPending: number): DialBackRegistry {
  let registry = registries.get(node)
  if (registry == null) {
    registry = new DialBackRegistry(node, log, readTimeout, maxMessageSize, maxPending)
    registries.set(node, registry)
  }
  return registry
}

/**
 * Adapts libp2p service components (`registrar`, `connectionManager`) to
 * {@link AutoNATCheckNode}. Cache the result: concurrent checks share their
 * dial-back handler per node object.
 */
export function nodeFromComponents (components: AutoNATCheckComponents): AutoNATCheckNode {
  return {
    dial: async (addr, options) => components.connectionManager.openConnection(addr, options),
    handle: async (protocol, handler, options) => { await components.registrar.handle(protocol, handler, options) },
    unhandle: async (protocol, options) => { await components.registrar.unhandle(protocol, options) },
    logger: components.logger
  }
}

interface CheckSettings {
  timeout: number
  maxDialDataBytes: number
  dialDataChunkSize: number
  dialBackGrace: number
  maxMessageSize: number
}

function unknown (addr: Multiaddr, detail: string, dialDataBytes: number, extra: Partial<ReachabilityResult> = {}): ReachabilityResult {
  return { addr: addr.toString(), status: 'unknown', detail, dialDataBytes, ...extra }
}

async function waitFor (promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([promise, new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })])
  } finally {
    clearTimeout(timer)
  }
}

async function evaluate (addr: Multiaddr, response: DialResponse, waiter: Waiter, requestConnection: Connection, dialDataBytes: number, settings: CheckSettings): Promise<ReachabilityResult> {
  const responseStatus = nameOf(RESPONSE_STATUS, response.status)
  const dialStatus = nameOf(DIAL_STATUS, response.dialStatus)
  const extra = { responseStatus, dialStatus }
  switch (response.status) {
    case RESPONSE_STATUS.OK:
      break
    case RESPONSE_STATUS.E_DIAL_REFUSED:
      return unknown(addr, 'server refused to dial the address (no transport for it, denied by its connection gater, or unwilling)', dialDataBytes, extra)
    case RESPONSE_STATUS.E_REQUEST_REJECTED:
      return unknown(addr, 'server rejected the request (rate limit, resource limit or block list)', dialDataBytes, extra)
    case RESPONSE_STATUS.E_INTERNAL_ERROR:
      return unknown(addr, 'server reported an internal error', dialDataBytes, extra)
    default:
      return unknown(addr, `server sent unknown response status ${response.status}; discarded as the spec requires`, dialDataBytes, extra)
  }
  if (response.addrIdx !== 0) {
    return unknown(addr, `server answered for address index ${response.addrIdx} but we sent a single address`, dialDataBytes, extra)
  }
  switch (response.dialStatus) {
    case DIAL_STATUS.OK: {
      if (waiter.seen == null) {
        await waitFor(waiter.arrived, settings.dialBackGrace)
      }
      const seen = waiter.seen
      if (seen == null) {
        return unknown(addr, 'server reported a successful dial-back but our nonce never arrived', dialDataBytes, extra)
      }
      if (seen.connectionId === requestConnection.id) {
        return unknown(addr, 'the dial-back arrived over the dial-request connection, which proves nothing about the address', dialDataBytes, { ...extra, dialBackFrom: seen.remoteAddr })
      }
      return { addr: addr.toString(), status: 'reachable', detail: `server dialed the address and delivered our nonce over a new connection from ${seen.remoteAddr}`, dialDataBytes, ...extra, dialBackFrom: seen.remoteAddr }
    }
    case DIAL_STATUS.E_DIAL_ERROR:
      return { addr: addr.toString(), status: 'unreachable', detail: 'server could not connect to the address', dialDataBytes, ...extra }
    case DIAL_STATUS.E_DIAL_BACK_ERROR:
      return unknown(addr, `server connected but the dial-back exchange failed${waiter.seen != null ? ' after our nonce arrived' : ' (another node may be listening there, or it does not handle ' + DIAL_BACK_PROTOCOL + ')'}`, dialDataBytes, { ...extra, dialBackFrom: waiter.seen?.remoteAddr })
    default:
      return unknown(addr, `server sent response OK with dial status ${dialStatus}`, dialDataBytes, extra)
  }
}

function describeFailure (err: Error, addr: Multiaddr, timedOut: boolean, timeout: number): string {
  if (timedOut) {
    return `no answer within ${timeout} ms`
  }
  if (err.name === 'UnexpectedEOFError') {
    const hint = isPrivate(addr) ? ' (js-libp2p servers silently skip private/loopback addresses)' : ' (js-libp2p servers do this for addresses without an IP or when dialing threw)'
    return `server closed the stream without a DialResponse${hint}`
  }
  if (err instanceof AutoNATCodecError) {
    return `server sent an invalid message: ${err.message}`
  }
  return `${err.name}: ${err.message}`
}

async function checkOne (registry: DialBackRegistry, connection: Connection, addr: Multiaddr, settings: CheckSettings, log: Logger, userSignal?: AbortSignal): Promise<ReachabilityResult> {
  const timeoutSignal = AbortSignal.timeout(settings.timeout)
  const signal = userSignal == null ? timeoutSignal : AbortSignal.any([userSignal, timeoutSignal])
  let dialDataBytes = 0

  let stream: Stream
  try {
    stream = await connection.newStream(DIAL_REQUEST_PROTOCOL, { signal })
  } catch (err) {
    userSignal?.throwIfAborted()
    if ((err as Error).name === 'UnsupportedProtocolError') {
      throw new ServerProtocolUnsupportedError(`server does not support ${DIAL_REQUEST_PROTOCOL}`)
    }
    return unknown(addr, `could not open ${DIAL_REQUEST_PROTOCOL} stream: ${describeFailure(err as Error, addr, timeoutSignal.aborted, settings.timeout)}`, 0)
  }

  const { nonce, waiter } = registry.expect()
  let aborted = false
  try {
    const messages = lpStream(stream, { maxDataLength: settings.maxMessageSize })
    await messages.write(encodeAutoNATMessage({ dialRequest: { addrs: [addr.bytes], nonce } }, settings.maxMessageSize), { signal })

    // at most one DialDataRequest, then the DialResponse
    for (let round = 0; round < 2; round++) {
      const message = decodeAutoNATMessage(await messages.read({ signal }), settings.maxMessageSize)
      if (message.dialResponse != null) {
        return await evaluate(addr, message.dialResponse, waiter, connection, dialDataBytes, settings)
      }
      if (message.dialDataRequest == null) {
        return unknown(addr, 'server sent an unexpected message instead of DialResponse/DialDataRequest', dialDataBytes)
      }
      if (round > 0) {
        return unknown(addr, 'server sent a second DialDataRequest', dialDataBytes)
      }
      const { addrIdx, numBytes } = message.dialDataRequest
      if (addrIdx !== 0) {
        return unknown(addr, `server asked for dial data for address index ${addrIdx} but we sent a single address`, dialDataBytes)
      }
      if (numBytes > BigInt(settings.maxDialDataBytes)) {
        // spec: a client declining the cost resets the stream
        aborted = true
        stream.abort(new Error('dial data request too large'))
        return unknown(addr, `server asked for ${numBytes} bytes of dial data, more than our limit of ${settings.maxDialDataBytes}; declined`, dialDataBytes)
      }
      log('sending %s bytes of dial data for %a', numBytes, addr)
      const chunk = encodeAutoNATMessage({ dialDataResponse: { data: new Uint8Array(settings.dialDataChunkSize) } }, settings.maxMessageSize)
      const chunks = Math.ceil(Number(numBytes) / settings.dialDataChunkSize)
      for (let i = 0; i < chunks; i++) {
        await messages.write(chunk, { signal })
        dialDataBytes += settings.dialDataChunkSize
      }
    }
    return unknown(addr, 'server sent no DialResponse', dialDataBytes)
  } catch (err) {
    userSignal?.throwIfAborted()
    aborted = true
    stream.abort(err as Error)
    return unknown(addr, describeFailure(err as Error, addr, timeoutSignal.aborted, settings.timeout), dialDataBytes)
  } finally {
    registry.forget(nonce)
    if (!aborted) {
      try {
        await stream.close({ signal })
      } catch (err) {
        stream.abort(err as Error)
      }
    }
  }
}

/**
 * Asks AutoNAT v2 server `server` to dial back each of `addrs` and reports a
 * verdict per address (in input order), without the stock client's
 * multi-server confirmation thresholds.
 *
 * For each address a fresh random 64-bit nonce is sent in a single-address
 * `DialRequest` on a new `/libp2p/autonat/2/dial-request` stream (sequentially,
 * one stream per address). A temporary `/libp2p/autonat/2/dial-back` handler
 * answers the server's dial-back only when it carries a nonce we are waiting
 * for. `DialDataRequest`s (sent by servers when the address's IP differs from
 * the IP they see us connect from) are answered up to `maxDialDataBytes`.
 *
 * The node must itself be listening on the address for `reachable`: the
 * server dials the bare address and only our dial-back handler knows the
 * nonce.
 *
 * @throws {InvalidParametersError} no addresses, too many, or bad options
 * @throws {DialBackHandlerInUseError} the dial-back protocol is handled by something else (e.g. the `autoNATv2()` service)
 * @throws {ServerDialError} the server could not be dialed
 * @throws {ServerProtocolUnsupportedError} the server does not run an AutoNAT v2 server
 * @throws the `signal`'s reason when `signal` aborts
 */
export async function checkReachability (node: AutoNATCheckNode, server: Multiaddr, addrs: Multiaddr[], options: CheckReachabilityOptions = {}): Promise<ReachabilityResult[]> {
  const maxAddresses = positiveInteger(options.maxAddresses, DEFAULT_MAX_ADDRESSES, 'maxAddresses')
  if (addrs.length === 0 || addrs.length > maxAddresses) {
    throw new InvalidParametersError(`expected between 1 and ${maxAddresses} addresses, got ${addrs.length}`)
  }
  const settings: CheckSettings = {
    timeout: positiveInteger(options.timeout, DEFAULT_TIMEOUT, 'timeout'),
    maxDialDataBytes: positiveInteger(options.maxDialDataBytes, DEFAULT_MAX_DIAL_DATA_BYTES, 'maxDialDataBytes'),
    dialDataChunkSize: positiveInteger(options.dialDataChunkSize, DEFAULT_DIAL_DATA_CHUNK_SIZE, 'dialDataChunkSize', MAX_DIAL_DATA_CHUNK_SIZE),
    dialBackGrace: positiveInteger(options.dialBackGrace, DEFAULT_DIAL_BACK_GRACE, 'dialBackGrace'),
    maxMessageSize: positiveInteger(options.maxMessageSize, MAX_MESSAGE_SIZE, 'maxMessageSize')
  }
  const log = node.logger?.forComponent('natkit:autonat-check') ?? SILENT_LOGGER
  const registry = registryFor(
    node,
    log,
    positiveInteger(options.dialBackReadTimeout, DEFAULT_DIAL_BACK_READ_TIMEOUT, 'dialBackReadTimeout'),
    settings.maxMessageSize,
    positiveInteger(options.maxPendingDialBacks, DEFAULT_MAX_PENDING_DIAL_BACKS, 'maxPendingDialBacks')
  )
  options.signal?.throwIfAborted()

  await registry.acquire()
  try {
    let connection: Connection
    const dialTimeout = AbortSignal.timeout(settings.timeout)
    try {
      connection = await node.dial(server, { signal: options.signal == null ? dialTimeout : AbortSignal.any([options.signal, dialTimeout]) })
    } catch (err) {
      options.signal?.throwIfAborted()
      throw new ServerDialError(`could not connect to AutoNAT server ${server}: ${(err as Error).message}`, { cause: err })
    }

    const results: ReachabilityResult[] = []
    for (const addr of addrs) {
      options.signal?.throwIfAborted()
      if (connection.status !== 'open') {
        try {
          const redialTimeout = AbortSignal.timeout(settings.timeout)
          connection = await node.dial(server, { signal: options.signal == null ? redialTimeout : AbortSignal.any([options.signal, redialTimeout]) })
        } catch (err) {
          options.signal?.throwIfAborted()
          throw new ServerDialError(`lost the connection to AutoNAT server ${server}: ${(err as Error).message}`, { cause: err })
        }
      }
      const result = await checkOne(registry, connection, addr, settings, log, options.signal)
      log('%a: %s - %s', addr, result.status, result.detail)
      results.push(result)
    }
    return results
  } finally {
    await registry.release()
  }
}
