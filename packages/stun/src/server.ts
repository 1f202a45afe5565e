import { createSocket } from 'node:dgram'
import { EventEmitter } from 'node:events'
import { isIP, isIPv6 } from 'node:net'
import {
  DEFAULT_MAX_DELAYED_RESPONSES,
  DEFAULT_MAX_RESPONSE_DELAY_MS,
  DEFAULT_SOFTWARE,
  DEFAULT_STUN_HOST,
  DEFAULT_STUN_PORT,
  MAX_SOFTWARE_LENGTH,
  MAX_STUN_MESSAGE_SIZE,
  STUN_ERROR_UNKNOWN_ATTRIBUTE,
  STUN_ERROR_UNKNOWN_ATTRIBUTE_REASON,
  StunAttribute,
  StunClass,
  StunMethod
} from './constants.js'
import { InvalidParametersError } from '@libp2p/interface'
import { StunDecodeError, StunServerAlreadyListeningError } from './errors.js'
import { unmapIPv4 } from './ip.js'
import {
  decodeChangeRequest,
  decodeResponseDelay,
  decodeStunMessage,
  encodeErrorCode,
  encodeMappedAddress,
  encodeSoftware,
  encodeStunMessage,
  encodeUnknownAttributes,
  encodeXorMappedAddress,
  getAttribute,
  isComprehensionRequired
} from './message.js'
import { SourceRateLimiter } from './rate-limit.js'
import type { StunDecodeErrorReason } from './errors.js'
import type { StunAddress, StunAttributeRecord, StunMessage } from './message.js'
import type { StunRateLimitInit } from './rate-limit.js'
import type { RemoteInfo, Socket } from 'node:dgram'

/** Debug logger; a libp2p `Logger` (e.g. `logger.forComponent('natkit:stun')`) fits. */
export type StunLogger = (formatter: string, ...args: unknown[]) => void

/**
 * Comprehension-required attributes the server accepts in a Binding request
 * without answering 420. Authentication and ICE attributes are accepted and
 * ignored: this server answers without credentials, as a public-style STUN
 * server does. CHANGE-REQUEST (RFC 5780) is absent: a server without an
 * `alternate` address answers it with the 420 that RFC 5780 §7.2 expects
 * from a server without that support; one with an `alternate` knows it.
 */
export const KNOWN_COMPREHENSION_REQUIRED_ATTRIBUTES: ReadonlySet<number> = new Set<number>([
  StunAttribute.MappedAddress,
  StunAttribute.Username,
  StunAttribute.MessageIntegrity,
  StunAttribute.ErrorCode,
  StunAttribute.UnknownAttributes,
  StunAttribute.Realm,
  StunAttribute.Nonce,
  StunAttribute.MessageIntegritySha256,
  StunAttribute.PasswordAlgorithm,
  StunAttribute.Userhash,
  StunAttribute.XorMappedAddress,
  StunAttribute.Priority,
  StunAttribute.UseCandidate
])

/** Options of {@link createStunServer}. */
export interface StunServerInit {
  /**
   * SOFTWARE attribute value added to every response; `''` omits it.
   *
   * @default DEFAULT_SOFTWARE
   */
  software?: string

  /**
   * Also send MAPPED-ADDRESS (RFC 3489-era clients only read that one).
   *
   * @default true
   */
  mappedAddress?: boolean

  /**
   * Datagrams longer than this are dropped unparsed (counted as malformed).
   *
   * @default MAX_STUN_MESSAGE_SIZE
   */
  maxMessageSize?: number

  /**
   * Per-source-IP rate limit, or `false` to disable it.
   *
   * @default {} (DEFAULT_RATE_LIMIT_* values)
   */
  rateLimit?: StunRateLimitInit | false

  /**
   * For IPv6 hosts: refuse IPv4 clients instead of serving them through a
   * dual-stack socket.
   *
   * @default false
   */
  ipv6Only?: boolean

  /**
   * The server's alternate address and port (RFC 5780 §4.1). When set, the
   * server binds four sockets — host:port, host:alternate.port,
   * alternate.address:port and alternate.address:alternate.port — answers
   * CHANGE-REQUEST from the socket it names, and adds RESPONSE-ORIGIN and
   * OTHER-ADDRESS to every success response. Responses still only ever go to
   * the source of the request (RESPONSE-PORT and any other target are not
   * supported: a 420). `listen()` then needs a specific host address, of
   * the same family as `alternate.address` and different from it.
   * `alternate.port` 0 picks a free port.
   *
   * @default undefined (no CHANGE-REQUEST support)
   */
  alternate?: { address: string, port: number }

  /**
   * Honour NATKIT-RESPONSE-DELAY up to this many milliseconds (0: never).
   * A delayed response still goes only to the request's source.
   *
   * @default DEFAULT_MAX_RESPONSE_DELAY_MS
   */
  maxResponseDelayMs?: number

  /**
   * Most delayed responses held at once.
   *
   * @default DEFAULT_MAX_DELAYED_RESPONSES
   */
  maxDelayedResponses?: number

  /** Debug logger. */
  log?: StunLogger
}

/** Counters since the server was created. */
export interface StunServerStats {
  /** Well-formed Binding requests accepted for processing. */
  requests: number
  /** Responses sent (success and error). */
  responses: number
  /** Of `responses`, how many were error responses (420). */
  errorResponses: number
  /**
   * Datagrams dropped without an answer: undecodable or oversize, not of the
   * request class, or not the Binding method.
   */
  malformed: number
  /** Datagrams dropped by the per-source rate limit. */
  rateLimited: number
  /** Errors reported by the UDP socket after it was bound (incl. send errors). */
  socketErrors: number
  /** Of `responses`, how many were sent after a NATKIT-RESPONSE-DELAY. */
  delayedResponses: number
}

/** Why the server dropped a datagram. */
export type StunDropReason = StunDecodeErrorReason | 'not-a-request' | 'unsupported-method'

/** Events emitted by a {@link StunServer}; listeners must not throw (it is logged). */
export interface StunServerEvents {
  request: [{ source: StunAddress, transactionId: Uint8Array }]
  response: [{ destination: StunAddress, transactionId: Uint8Array, errorCode?: number }]
  malformed: [{ source: StunAddress, reason: StunDropReason }]
  'rate-limited': [{ source: StunAddress }]
  'socket-error': [Error]
}

/** A bound STUN server; one UDP socket (udp4, or udp6 — dual-stack unless `ipv6Only`). */
export interface StunServer extends EventEmitter<StunServerEvents> {
  /**
   * Binds the UDP socket. An IPv6 `host` (e.g. `'::'`) creates a udp6 socket,
   * anything else a udp4 one. Resolves with the bound address (useful with port 0).
   *
   * @throws {StunServerAlreadyListeningError} when already listening
   */
  listen(port?: number, host?: string): Promise<{ address: string, port: number }>

  /** Closes the socket; resolves when it is closed. Safe to call repeatedly. */
  close(): Promise<void>

  /** The bound address, or undefined when not listening. */
  address(): { address: string, port: number, family: string } | undefined

  /**
   * With an `alternate`: the alternate address and the alternate port as
   * bound (what OTHER-ADDRESS carries for requests to the primary socket);
   * undefined otherwise or when not listening.
   */
  otherAddress(): { address: string, port: number } | undefined

  /** A snapshot of the counters. */
  readonly stats: StunServerStats
}

function toAddress (rinfo: RemoteInfo): StunAddress {
  return { address: rinfo.address, port: rinfo.port, family: rinfo.family === 'IPv6' ? 'IPv6' : 'IPv4' }
}

function noop (): void {}

/** One of the server's sockets: which IP (primary 0 / alternate 1) and which port (0 / 1) it is bound on. */
interface BoundSocket {
  socket: Socket
  ip: 0 | 1
  port: 0 | 1
  address: { address: string, port: number }
}

function isWildcard (host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '::0'
}

class DefaultStunServer extends EventEmitter<StunServerEvents> implements StunServer {
  private readonly software: string
  private readonly mappedAddress: boolean
  private readonly maxMessageSize: number
  private readonly ipv6Only: boolean
  private readonly alternate?: { address: string, port: number }
  private readonly rateLimiter?: SourceRateLimiter
  private readonly log: StunLogger
  private readonly counters: StunServerStats = {
    requests: 0,
    responses: 0,
    errorResponses: 0,
    malformed: 0,
    rateLimited: 0,
    socketErrors: 0,
    delayedResponses: 0
  }

  private readonly maxResponseDelayMs: number
  private readonly maxDelayedResponses: number
  private readonly delayed = new Set<ReturnType<typeof setTimeout>>()

  private socket?: Socket
  private bound: BoundSocket[] = []

  constructor (init: StunServerInit) {
    super()
    this.software = init.software ?? DEFAULT_SOFTWARE
    this.mappedAddress = init.mappedAddress ?? true
    this.maxMessageSize = init.maxMessageSize ?? MAX_STUN_MESSAGE_SIZE
    this.ipv6Only = init.ipv6Only ?? false
    this.log = init.log ?? noop
    this.alternate = init.alternate
    this.maxResponseDelayMs = init.maxResponseDelayMs ?? DEFAULT_MAX_RESPONSE_DELAY_MS
    this.maxDelayedResponses = init.maxDelayedResponses ?? DEFAULT_MAX_DELAYED_RESPONSES

    if (!Number.isInteger(this.maxResponseDelayMs) || this.maxResponseDelayMs < 0) {
      throw new InvalidParametersError(`maxResponseDelayMs must be a non-negative integer, got ${this.maxResponseDelayMs}`)
    }
    if (!Number.isInteger(this.maxDelayedResponses) || this.maxDelayedResponses < 0) {
      throw new InvalidParametersError(`maxDelayedResponses must be a non-negative integer, got ${this.maxDelayedResponses}`)
    }

    if (this.alternate != null) {
      const { address, port } = this.alternate
      if (typeof address !== 'string' || isIP(address) === 0 || isWildcard(address)) {
        throw new InvalidParametersError(`alternate.address must be a specific IP address, got "${String(address)}"`)
      }
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        throw new InvalidParametersError(`alternate.port must be an integer in 0-65535, got ${port}`)
      }
    }

    if ([...this.software].length > MAX_SOFTWARE_LENGTH) {
      throw new InvalidParametersError(`software must be at most ${MAX_SOFTWARE_LENGTH} characters`)
    }

    if (!Number.isInteger(this.maxMessageSize) || this.maxMessageSize < 20 || this.maxMessageSize > 65_535) {
      throw new InvalidParametersError(`maxMessageSize must be an integer in 20-65535, got ${this.maxMessageSize}`)
    }

    if (init.rateLimit !== false) {
      this.rateLimiter = new SourceRateLimiter(init.rateLimit ?? {})
    }
  }

  get stats (): StunServerStats {
    return { ...this.counters }
  }

  address (): { address: string, port: number, family: string } | undefined {
    if (this.socket == null) {
      return undefined
    }

    const { address, port, family } = this.socket.address()
    return { address, port, family }
  }

  async listen (port: number = DEFAULT_STUN_PORT, host: string = DEFAULT_STUN_HOST): Promise<{ address: string, port: number }> {
    if (this.socket != null) {
      throw new StunServerAlreadyListeningError('the STUN server is already listening')
    }

    const alternate = this.alternate
    if (alternate != null && (isWildcard(host) || isIPv6(host) !== isIPv6(alternate.address) || host === alternate.address)) {
      throw new InvalidParametersError(`with an alternate address the STUN server needs a specific ${isIPv6(alternate.address) ? 'IPv6' : 'IPv4'} host other than ${alternate.address}, got "${host}"`)
    }

    const type = isIPv6(host) ? 'udp6' : 'udp4'
    const socket = await this.bindSocket(type, host, port)
    this.socket = socket
    const primaryPort = socket.address().port
    this.bound = [{ socket, ip: 0, port: 0, address: { address: host, port: primaryPort } }]

    if (alternate != null) {
      try {
        const portSocket = await this.bindSocket(type, host, alternate.port)
        const alternatePort = portSocket.address().port
        this.bound.push({ socket: portSocket, ip: 0, port: 1, address: { address: host, port: alternatePort } })
        this.bound.push({ socket: await this.bindSocket(type, alternate.address, primaryPort), ip: 1, port: 0, address: { address: alternate.address, port: primaryPort } })
        this.bound.push({ socket: await this.bindSocket(type, alternate.address, alternatePort), ip: 1, port: 1, address: { address: alternate.address, port: alternatePort } })
      } catch (err) {
        await this.close()
        throw err
      }
    }

    for (const entry of this.bound) {
      this.serve(entry)
    }

    const bound = socket.address()
    this.log('listening on %s:%d/%s%s', bound.address, bound.port, type, alternate == null ? '' : ` (alternate ${this.bound[3]?.address.address}:${this.bound[3]?.address.port})`)

    return { address: bound.address, port: bound.port }
  }

  otherAddress (): { address: string, port: number } | undefined {
    return this.bound[3]?.address
  }

  private async bindSocket (type: 'udp4' | 'udp6', host: string, port: number): Promise<Socket> {
    const socket = createSocket({ type, ipv6Only: type === 'udp6' && this.ipv6Only })

    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind({ port, address: host }, () => {
          socket.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      socket.close()
      throw err
    }

    return socket
  }

  private serve (entry: BoundSocket): void {
    const socket = entry.socket
    socket.on('error', (err) => {
      this.counters.socketErrors++
      this.log('socket error %s', err.message)
      this.safeEmit('socket-error', err)
    })
    socket.on('message', (data, rinfo) => {
      try {
        this.onMessage(entry, data, rinfo)
      } catch (err) {
        // never let one datagram take the process down
        this.counters.malformed++
        this.log('unexpected error handling datagram from %s:%d - %s', rinfo.address, rinfo.port, err instanceof Error ? err.message : String(err))
      }
    })
  }

  async close (): Promise<void> {
    const sockets = this.bound.length > 0 ? this.bound.map(entry => entry.socket) : this.socket == null ? [] : [this.socket]
    this.socket = undefined
    this.bound = []
    for (const timer of this.delayed) clearTimeout(timer)
    this.delayed.clear()

    await Promise.all(sockets.map(async socket => {
      await new Promise<void>((resolve) => {
        try {
          socket.close(() => { resolve() })
        } catch {
          resolve()
        }
      })
    }))
  }

  private safeEmit<E extends keyof StunServerEvents> (event: E, ...args: StunServerEvents[E]): void {
    // widened to the untyped emitter: the generic spread is correct but tsc cannot prove it
    const emitter = this as EventEmitter

    try {
      emitter.emit(event, ...args)
    } catch (err) {
      this.log('%s listener threw %s', event, err instanceof Error ? err.message : String(err))
    }
  }

  /** The NATKIT-RESPONSE-DELAY to honour: 0 when absent, malformed, too long or when too many are pending. */
  private responseDelay (message: StunMessage): number {
    const value = getAttribute(message, StunAttribute.NatkitResponseDelay)
    if (value == null) return 0
    let ms: number
    try {
      ms = decodeResponseDelay(value)
    } catch {
      return 0
    }
    return ms <= this.maxResponseDelayMs && this.delayed.size < this.maxDelayedResponses ? ms : 0
  }

  private socketFor (ip: number, port: number): BoundSocket | undefined {
    return this.bound.find(entry => entry.ip === ip && entry.port === port)
  }

  private drop (source: StunAddress, reason: StunDropReason): void {
    this.counters.malformed++
    this.log('dropped datagram from %s:%d: %s', source.address, source.port, reason)
    this.safeEmit('malformed', { source, reason })
  }

  private onMessage (received: BoundSocket, data: Buffer, rinfo: RemoteInfo): void {
    const source = toAddress(rinfo)

    // the oversize check happens before anything else looks at the datagram
    if (data.length > this.maxMessageSize) {
      this.drop(source, 'too-long')
      return
    }

    if (this.rateLimiter != null && !this.rateLimiter.allow(rinfo.address)) {
      this.counters.rateLimited++
      this.safeEmit('rate-limited', { source })
      return
    }

    let message: StunMessage
    try {
      message = decodeStunMessage(data, { maxMessageSize: this.maxMessageSize })
    } catch (err) {
      if (err instanceof StunDecodeError) {
        this.drop(source, err.reason)
        return
      }

      throw err
    }

    if (message.class !== StunClass.Request) {
      this.drop(source, 'not-a-request')
      return
    }

    if (message.method !== StunMethod.Binding) {
      this.drop(source, 'unsupported-method')
      return
    }

    this.counters.requests++
    this.safeEmit('request', { source, transactionId: message.transactionId })

    const unknown = unknownComprehensionRequired(message, this.alternate != null)
    const attributes: StunAttributeRecord[] = []
    let errorCode: number | undefined
    let from = received

    if (unknown.length > 0) {
      errorCode = STUN_ERROR_UNKNOWN_ATTRIBUTE
      attributes.push(
        { type: StunAttribute.ErrorCode, value: encodeErrorCode(STUN_ERROR_UNKNOWN_ATTRIBUTE, STUN_ERROR_UNKNOWN_ATTRIBUTE_REASON) },
        { type: StunAttribute.UnknownAttributes, value: encodeUnknownAttributes(unknown) }
      )
    } else {
      // an IPv4 client reaching a dual-stack socket shows up as ::ffff:a.b.c.d
      const mapped = { address: unmapIPv4(rinfo.address), port: rinfo.port }
      attributes.push({ type: StunAttribute.XorMappedAddress, value: encodeXorMappedAddress(mapped, message.transactionId) })

      if (this.mappedAddress) {
        attributes.push({ type: StunAttribute.MappedAddress, value: encodeMappedAddress(mapped) })
      }

      if (this.alternate != null) {
        const changeValue = getAttribute(message, StunAttribute.ChangeRequest)
        let change = { ip: false, port: false }
        if (changeValue != null) {
          try {
            change = decodeChangeRequest(changeValue)
          } catch {
            this.drop(source, 'bad-attribute')
            return
          }
        }

        from = this.socketFor(received.ip ^ (change.ip ? 1 : 0), received.port ^ (change.port ? 1 : 0)) ?? received
        const other = this.socketFor(received.ip ^ 1, received.port ^ 1) ?? received
        attributes.push(
          { type: StunAttribute.ResponseOrigin, value: encodeMappedAddress(from.address) },
          { type: StunAttribute.OtherAddress, value: encodeMappedAddress(other.address) }
        )
      }
    }

    if (this.software !== '') {
      attributes.push({ type: StunAttribute.Software, value: encodeSoftware(this.software) })
    }

    const response = encodeStunMessage({
      method: StunMethod.Binding,
      class: errorCode == null ? StunClass.SuccessResponse : StunClass.ErrorResponse,
      transactionId: message.transactionId,
      attributes,
      // mirror the client: FINGERPRINT only when the request carried one
      fingerprint: message.fingerprint
    })

    const send = (): void => {
      this.counters.responses++
      if (errorCode != null) {
        this.counters.errorResponses++
      }

      // the only destination ever: the source of the request
      from.socket.send(response, rinfo.port, rinfo.address, (err) => {
        if (err != null) {
          this.counters.socketErrors++
          this.log('could not send to %s:%d - %s', rinfo.address, rinfo.port, err.message)
        }
      })
      this.safeEmit('response', { destination: source, transactionId: message.transactionId, errorCode })
    }

    const delay = errorCode == null ? this.responseDelay(message) : 0
    if (delay === 0) {
      send()
      return
    }

    const timer = setTimeout(() => {
      this.delayed.delete(timer)
      this.counters.delayedResponses++
      send()
    }, delay)
    this.delayed.add(timer)
  }
}

/**
 * Comprehension-required attribute types the server does not know, in order,
 * without duplicates. Attributes after MESSAGE-INTEGRITY(-SHA256) are ignored
 * (RFC 8489 §14.5/§14.6).
 */
function unknownComprehensionRequired (message: StunMessage, changeRequest: boolean): number[] {
  const unknown = new Set<number>()

  for (const attribute of message.attributes) {
    if (isComprehensionRequired(attribute.type) && !KNOWN_COMPREHENSION_REQUIRED_ATTRIBUTES.has(attribute.type) && !(changeRequest && attribute.type === StunAttribute.ChangeRequest)) {
      unknown.add(attribute.type)
    }

    if (attribute.type === StunAttribute.MessageIntegrity || attribute.type === StunAttribute.MessageIntegritySha256) {
      break
    }
  }

  return [...unknown]
}

/**
 * Creates a STUN server that answers Binding requests (RFC 8489) over UDP with
 * the client's server-reflexive address.
 *
 * @example
 * ```ts
 * const server = createStunServer({ log: logger.forComponent('natkit:stun') })
 * await server.listen(3478, '0.0.0.0')
 * // ...
 * await server.close()
 * ```
 */
export function createStunServer (init: StunServerInit = {}): StunServer {
  return new DefaultStunServer(init)
}
