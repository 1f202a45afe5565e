import { TypedEventEmitter } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { decodeAck, decodeDirectMessage, encodeAck, encodeDirectMessage, maxFrameBytes, readFrame } from './codec.js'
import { DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS, DEFAULT_MAX_TEXT_BYTES, DEFAULT_TIMEOUT, DIRECT_MESSAGE_PROTOCOL } from './constants.js'
import { DirectMessageProtocolError, DirectMessageRejectedError, DirectMessageTimeoutError } from './errors.js'
import type { AckStatus } from './codec.js'
import type { AbortOptions, ComponentLogger, Connection, Logger, PeerId, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/** Options of {@link directMessages}. Every bound has a named default. */
export interface DirectMessagesInit {
  /** @default '/natkit/dm/1.0.0' ({@link DIRECT_MESSAGE_PROTOCOL}) */
  protocol?: string
  /** Largest text in UTF-8 bytes. @default 4096 ({@link DEFAULT_MAX_TEXT_BYTES}) */
  maxTextBytes?: number
  /** Time budget (ms) of one send, and of a receiver waiting for the message. @default 10000 ({@link DEFAULT_TIMEOUT}) */
  timeout?: number
  /** @default 4 ({@link DEFAULT_MAX_INBOUND_STREAMS}) */
  maxInboundStreams?: number
  /** @default 4 ({@link DEFAULT_MAX_OUTBOUND_STREAMS}) */
  maxOutboundStreams?: number
  /**
   * Send and accept messages over limited (relayed) connections. Messages are
   * tiny, far below a relay's data limit.
   *
   * @default true
   */
  runOnLimitedConnection?: boolean
}

/** What the libp2p node gives the service. */
export interface DirectMessagesComponents {
  connectionManager: ConnectionManager
  registrar: Registrar
  logger: ComponentLogger
}

/** Detail of the `message` event: a direct message another peer sent us. */
export interface DirectMessageEvent {
  /** The sender: the authenticated remote peer of the connection it came on. */
  from: string
  text: string
}

export interface DirectMessagesEvents {
  message: CustomEvent<DirectMessageEvent>
}

/** The `directMessages()` service: `send` texts to peers, `message` events for received ones. */
export interface DirectMessages extends TypedEventTarget<DirectMessagesEvents> {
  readonly protocol: string
  /**
   * Sends `text` to `peer` (dialling it if needed) and resolves once the peer
   * acknowledged it. Rejects with `DirectMessageTooLargeError` for a text over
   * the bound (nothing is sent), `DirectMessageTimeoutError` after the
   * timeout, `DirectMessageRejectedError` when the peer refused it, or the
   * dial/stream error.
   */
  send(peer: PeerId, text: string, options?: AbortOptions): Promise<void>
}

const ACK_FOR: Record<string, AckStatus> = {
  DirectMessageTooLargeError: 'TOO_LARGE'
}

export class DirectMessagesService extends TypedEventEmitter<DirectMessagesEvents> implements DirectMessages, Startable {
  readonly [Symbol.toStringTag] = '@natkit/direct-message'
  readonly protocol: string
  readonly #components: DirectMessagesComponents
  readonly #log: Logger
  readonly #maxTextBytes: number
  readonly #timeout: number
  readonly #maxInboundStreams: number
  readonly #maxOutboundStreams: number
  readonly #runOnLimitedConnection: boolean
  #started = false

  constructor (components: DirectMessagesComponents, init: DirectMessagesInit = {}) {
    super()
    this.#components = components
    this.#log = components.logger.forComponent('natkit:direct-message')
    this.protocol = init.protocol ?? DIRECT_MESSAGE_PROTOCOL
    this.#maxTextBytes = positive(init.maxTextBytes, DEFAULT_MAX_TEXT_BYTES, 'maxTextBytes')
    this.#timeout = positive(init.timeout, DEFAULT_TIMEOUT, 'timeout')
    this.#maxInboundStreams = positive(init.maxInboundStreams, DEFAULT_MAX_INBOUND_STREAMS, 'maxInboundStreams')
    this.#maxOutboundStreams = positive(init.maxOutboundStreams, DEFAULT_MAX_OUTBOUND_STREAMS, 'maxOutboundStreams')
    this.#runOnLimitedConnection = init.runOnLimitedConnection ?? true
  }

  isStarted (): boolean {
    return this.#started
  }

  async start (): Promise<void> {
    if (this.#started) return
    await this.#components.registrar.handle(this.protocol, (stream, connection) => {
      this.#receive(stream, connection).catch(err => {
        this.#log.error('direct message from %p failed - %e', connection.remotePeer, err)
      })
    }, {
      runOnLimitedConnection: this.#runOnLimitedConnection,
      maxInboundStreams: this.#maxInboundStreams,
      maxOutboundStreams: this.#maxOutboundStreams
    })
    this.#started = true
  }

  async stop (): Promise<void> {
    await this.#components.registrar.unhandle(this.protocol)
    this.#started = false
  }

  async send (peer: PeerId, text: string, options: AbortOptions = {}): Promise<void> {
    // refuse a bad text before dialling anyone
    const body = encodeDirectMessage(text, this.#maxTextBytes)
    const timeout = AbortSignal.timeout(this.#timeout)
    const signal = options.signal != null ? AbortSignal.any([timeout, options.signal]) : timeout
    let stream: Stream | undefined
    try {
      stream = await this.#components.connectionManager.openStream(peer, this.protocol, {
        signal,
        runOnLimitedConnection: this.#runOnLimitedConnection
      })
      const lp = lpStream(stream, { maxDataLength: maxFrameBytes(this.#maxTextBytes) })
      await lp.write(body, { signal })
      const ack = decodeAck(await readFrame(lp, 'ack', { signal }))
      if (ack.status !== 'OK') {
        throw new DirectMessageRejectedError(`${peer.toString()} refused the message: ${ack.status}${ack.error != null ? ` (${ack.error})` : ''}`)
      }
      await stream.close({ signal })
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      if (timeout.aborted && options.signal?.aborted !== true) {
        throw new DirectMessageTimeoutError(`sending a direct message to ${peer.toString()} timed out after ${this.#timeout} ms`)
      }
      throw err
    }
  }

  async #receive (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.#timeout)
    const lp = lpStream(stream, { maxDataLength: maxFrameBytes(this.#maxTextBytes) })
    let text: string
    try {
      text = decodeDirectMessage(await readFrame(lp, 'direct message', { signal }), this.#maxTextBytes)
    } catch (err) {
      if (err instanceof DirectMessageProtocolError) {
        // tell the sender why, best effort, then drop the stream
        this.#log('bad direct message from %p - %s', connection.remotePeer, err.message)
        await lp.write(encodeAck({ status: ACK_FOR[err.name] ?? 'MALFORMED', error: err.message.slice(0, 200) }), { signal })
          .then(async () => stream.close({ signal }))
          .catch(() => { stream.abort(err) })
        return
      }
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
    this.safeDispatchEvent('message', { detail: { from: connection.remotePeer.toString(), text } })
    try {
      await lp.write(encodeAck({ status: 'OK' }), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }
}

function positive (value: number | undefined, fallback: number, name: string): number {
  if (value == null) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`)
  return value
}

