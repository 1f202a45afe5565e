// Derived from @libp2p/tcp 11.0.28 (src/socket-to-conn.ts), https://github.com/libp2p/js-libp2p,
// copyright (c) Protocol Labs, Inc. and contributors, licensed Apache-2.0 OR MIT;
// used under MIT. See ../NOTICE for the license text and what changed.
import { InvalidParametersError, TimeoutError } from '@libp2p/interface'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
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
}

/**
 * A MultiaddrConnection backed by a connected `net.Socket`, as the libp2p 3
 * upgrader expects: data flows through `onData`/`sendData`, and the socket's
 * lifecycle events are mapped onto `onTransportClosed`/`abort`.
 */
class SocketMultiaddrConnection extends AbstractMultiaddrConnection {
  private readonly socket: Socket

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

    socket.on('data', (buf: Buffer) => {
      this.onData(buf)
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

  sendData (data: SendBuffers): SendResult {
    let sentBytes = 0
    let canSendMore = true

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
