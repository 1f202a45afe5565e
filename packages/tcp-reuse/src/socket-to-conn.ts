// Derived from @libp2p/tcp 11.0.28 (src/socket-to-conn.ts), https://github.com/libp2p/js-libp2p,
// copyright (c) Protocol Labs, Inc. and contributors, licensed Apache-2.0 OR MIT;
// used under MIT. See ../NOTICE for the license text and what changed.
import { InvalidParametersError, TimeoutError } from '@libp2p/interface'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { OptimisticSelectError } from './errors.js'
import { onceEvent, socketAddressToMultiaddr } from './utils.js'
import type { AbortOptions, CounterGroup, Logger, MessageStreamDirection, MultiaddrConnection } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Socket } from 'node:net'

/** Close the socket if there is no activity for this long (ms) */
export const DEFAULT_SOCKET_INACTIVITY_TIMEOUT = 2 * 60_000

type SendBuffers = Parameters<AbstractMultiaddrConnection['sendData']>[0]

export interface SocketToConnInit {
  socket: Socket
  direction: MessageStreamDirection
  log: Logger
  /** The dialed address for outbound connections (keeps any /p2p/ suffix) */
  remoteAddr?: Multiaddr
  localAddr?: Multiaddr
  /** @default DEFAULT_SOCKET_INACTIVITY_TIMEOUT */
  inactivityTimeout?: number
  metrics?: CounterGroup
  metricPrefix?: string
  /**
   * Outbound only: a protocol the remote is known to speak (e.g. `/noise`,
   * proven by an earlier connection to the same peer). When the upgrader's
   * first write is multistream-select's header and this protocol, the echo the
   * remote will send is handed to the upgrader at once, so the security
   * handshake's first message leaves in the same flight (go-libp2p's lazy
   * negotiation), one round trip sooner; the remote's real echo is checked and
   * dropped when it arrives, and anything else (`na`) aborts the connection
   * with OptimisticSelectError. Any other first write turns it off.
   */
  optimisticSelect?: string
}

const MULTISTREAM_HEADER = '/multistream/1.0.0'

/** multistream-select's header and one protocol, each a varint-length-prefixed line, as a selecting side writes them and a willing remote echoes them. */
export function multistreamSelectLines (protocol: string): Uint8Array {
  const lines = [MULTISTREAM_HEADER, protocol].map(line => new TextEncoder().encode(`${line}\n`))
  const out: number[] = []
  for (const line of lines) {
    // every line here is shorter than 128 bytes: a one-byte varint
    if (line.byteLength > 127) throw new InvalidParametersError(`protocol name too long for optimistic select: ${protocol}`)
    out.push(line.byteLength, ...line)
  }
  return Uint8Array.from(out)
}

/** Where an optimistic select stands (see `SocketToConnInit.optimisticSelect`). */
type Optimism = { state: 'await-request', lines: Uint8Array, protocol: string } | { state: 'stripping', lines: Uint8Array, protocol: string, matched: number } | { state: 'off' }

function startsWith (data: Uint8Array, prefix: Uint8Array): boolean {
  if (data.byteLength < prefix.byteLength) return false
  for (let i = 0; i < prefix.byteLength; i++) if (data[i] !== prefix[i]) return false
  return true
}

/**
 * A MultiaddrConnection backed by a connected `net.Socket`, as the libp2p 3
 * upgrader expects: data flows through `onData`/`sendData`, and the socket's
 * lifecycle events are mapped onto `onTransportClosed`/`abort`.
 */
class SocketMultiaddrConnection extends AbstractMultiaddrConnection {
  private readonly socket: Socket
  private optimism: Optimism

  constructor (init: SocketToConnInit) {
    let remoteAddr = init.remoteAddr

    if (remoteAddr == null) {
      const { remoteAddress, remotePort } = init.socket

      if (remoteAddress == null || remotePort == null) {
        // the socket was already destroyed (e.g. the peer disconnected)
        throw new InvalidParametersError('Could not determine remote address or port of socket')
      }

      remoteAddr = socketAddressToMultiaddr(remoteAddress, remotePort)
    }

    super({
      ...init,
      remoteAddr
    })

    const socket = this.socket = init.socket
    const addr = remoteAddr.toString()
    this.optimism = init.optimisticSelect != null && init.direction === 'outbound'
      ? { state: 'await-request', lines: multistreamSelectLines(init.optimisticSelect), protocol: init.optimisticSelect }
      : { state: 'off' }

    socket.on('data', (buf: Buffer) => {
      const rest = this.stripEcho(buf)
      if (rest != null && rest.byteLength > 0) this.onData(rest)
    })

    socket.on('error', (err: Error) => {
      this.log('socket error %s - %e', addr, err)
      this.abort(err)
    })

    socket.setTimeout(init.inactivityTimeout ?? DEFAULT_SOCKET_INACTIVITY_TIMEOUT)
    socket.once('timeout', () => {
      // node only reports inactivity, closing is up to us
      this.log('socket inactivity timeout %s', addr)
      this.abort(new TimeoutError(`Socket to ${addr} was inactive for too long`))
    })

    socket.once('end', () => {
      // remote sent FIN; with allowHalfOpen=false node replies with FIN and
      // then emits 'close'
      this.log('socket end %s', addr)
      this.onTransportClosed()
    })

    socket.once('close', (hadError: boolean) => {
      this.log('socket close %s', addr)

      if (hadError) {
        this.abort(new Error(`TCP transmission error on ${addr}`))
        return
      }

      this.onTransportClosed()
    })

    socket.on('drain', () => {
      this.safeDispatchEvent('drain')
    })
  }

  /**
   * The part of `buf` after the remote's echo of an optimistic select (the
   * whole of it when there is none), or undefined once the echo turned out
   * to be something else (the connection is aborted then).
   */
  private stripEcho (buf: Uint8Array): Uint8Array | undefined {
    const o = this.optimism
    if (o.state === 'await-request') {
      // the remote spoke first: not the exchange we expected, stay out of it
      this.optimism = { state: 'off' }
      return buf
    }
    if (o.state !== 'stripping') return buf
    const want = o.lines.subarray(o.matched)
    const n = Math.min(want.byteLength, buf.byteLength)
    if (!startsWith(want, buf.subarray(0, n))) {
      this.optimism = { state: 'off' }
      const answer = new TextDecoder().decode(buf.subarray(0, 64)).replace(/[^\x20-\x7e]+/g, ' ').trim()
      this.log('remote refused optimistic %s: %s', o.protocol, answer)
      this.abort(new OptimisticSelectError(`the remote did not accept ${o.protocol}, selected optimistically (it answered "${answer}")`))
      return undefined
    }
    o.matched += n
    if (o.matched === o.lines.byteLength) this.optimism = { state: 'off' }
    return buf.subarray(n)
  }

  /** The upgrader's first write: if it is the select we may answer for the remote, answer it. */
  private answerSelect (data: SendBuffers): void {
    const o = this.optimism
    if (o.state !== 'await-request') return
    const first = new Uint8Array(Math.min(o.lines.byteLength, data.byteLength))
    let at = 0
    for (const buf of data) {
      if (at >= first.byteLength) break
      const part = buf.subarray(0, first.byteLength - at)
      first.set(part, at)
      at += part.byteLength
    }
    if (!startsWith(first, o.lines)) {
      this.optimism = { state: 'off' }
      return
    }
    this.optimism = { state: 'stripping', lines: o.lines, protocol: o.protocol, matched: 0 }
    this.log('optimistic select of %s: its echo is assumed, the handshake follows at once', o.protocol)
    // after this write returns, as if the echo had arrived
    queueMicrotask(() => {
      if (this.status === 'open') this.onData(o.lines.slice())
    })
  }

  sendData (data: SendBuffers): SendResult {
    let sentBytes = 0
    let canSendMore = true
    this.answerSelect(data)

    for (const buf of data) {
      sentBytes += buf.byteLength
      canSendMore = this.socket.write(buf)

      if (!canSendMore) {
        break
      }
    }

    return { sentBytes, canSendMore }
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    if (this.socket.destroyed) {
      return
    }

    const closed = onceEvent(this.socket, 'close', { ...options, rejectOnError: false })
    this.socket.destroySoon()
    await closed
  }

  sendReset (): void {
    // resetAndDestroy (RST) cannot follow a graceful shutdown that is already
    // under way, plain destroy is the only option then
    if (this.socket.writableEnded || this.socket.destroyed) {
      this.socket.destroy()
      return
    }

    this.socket.resetAndDestroy()
  }

  sendPause (): void {
    this.socket.pause()
  }

  sendResume (): void {
    this.socket.resume()
  }
}

/**
 * Wrap a connected socket in a MultiaddrConnection for the upgrader
 */
export function socketToConn (init: SocketToConnInit): MultiaddrConnection {
  return new SocketMultiaddrConnection(init)
}
