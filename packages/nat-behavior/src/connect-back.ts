/**
 * TCP connect-back: does the NAT drop, reset or reject an unsolicited inbound
 * SYN? The client listens on a port it never sends from (so no mapping exists
 * for it), connects to the observer and names that port; the observer
 * connects back from its other address to the client's OBSERVED IP (the
 * TCP peer address — never a target the client names) at that port, once,
 * and reports what happened. Bounded: one attempt per request, a per-source
 * rate limit, a cap on pending attempts, a short request line with a read
 * timeout.
 */
import net from 'node:net'
import { InvalidParametersError, TimeoutError } from '@libp2p/interface'
import { SourceRateLimiter, unmapIPv4 } from '@natkit/stun'
import type { ConnectBackResult, Endpoint, TcpConnectBackObservation } from './classify.js'
import type { StunRateLimitInit } from '@natkit/stun'

/** First word of a connect-back request line. */
export const CONNECT_BACK_PROTOCOL = 'natkit-connect-back/1'

/**
 * How long the observer waits for its connect back (SYN answered, reset or
 * unreachable) before it reports `timeout`.
 *
 * @default 1500
 */
export const DEFAULT_CONNECT_BACK_TIMEOUT_MS = 1_500

/**
 * Connect-back attempts the observer runs at once; more requests are refused.
 *
 * @default 16
 */
export const DEFAULT_CONNECT_BACK_MAX_PENDING = 16

/**
 * Requests accepted per source IP per window (the window below).
 *
 * @default 4
 */
export const DEFAULT_CONNECT_BACK_MAX_REQUESTS = 4

/**
 * Rate-limit window of connect-back requests per source IP, in milliseconds.
 *
 * @default 10000
 */
export const DEFAULT_CONNECT_BACK_WINDOW_MS = 10_000

/**
 * How long the observer waits for the request line after accepting.
 *
 * @default 2000
 */
export const DEFAULT_CONNECT_BACK_REQUEST_TIMEOUT_MS = 2_000

/**
 * Open request connections the observer keeps at once (reading a request or
 * waiting for its connect back); more are closed by the kernel-side accept.
 *
 * @default 64
 */
export const DEFAULT_CONNECT_BACK_MAX_CONNECTIONS = 64

/** Longest request line accepted, in bytes (`natkit-connect-back/1 65535\n` is 28). */
export const MAX_CONNECT_BACK_REQUEST_BYTES = 64

/** Options of {@link createConnectBackServer}. */
export interface ConnectBackServerInit {
  /** Local address to connect back from (the observer's other address), so the SYN comes from an address the client never contacted. */
  from: string
  /** @default DEFAULT_CONNECT_BACK_TIMEOUT_MS */
  timeoutMs?: number
  /** @default DEFAULT_CONNECT_BACK_MAX_PENDING */
  maxPending?: number
  /** Per-source-IP limit. @default { maxRequests: DEFAULT_CONNECT_BACK_MAX_REQUESTS, windowMs: DEFAULT_CONNECT_BACK_WINDOW_MS } */
  rateLimit?: StunRateLimitInit
  /** @default DEFAULT_CONNECT_BACK_REQUEST_TIMEOUT_MS */
  requestTimeoutMs?: number
  /** @default DEFAULT_CONNECT_BACK_MAX_CONNECTIONS */
  maxConnections?: number
}

/** Counters of a connect-back server. */
export interface ConnectBackServerStats {
  /** Valid requests. */
  requests: number
  /** Connect-back attempts made (at most one per valid request). */
  attempts: number
  /** Requests refused: rate limit, too many pending, or malformed. */
  refused: number
}

export interface ConnectBackServer {
  listen(port: number, host: string): Promise<Endpoint>
  close(): Promise<void>
  readonly stats: ConnectBackServerStats
}

function positive (name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidParametersError(`${name} must be a positive integer, got ${value}`)
  return value
}

/** One bounded TCP connect from `from` to `target`; never throws. */
export async function connectOnce (target: Endpoint, from: string | undefined, timeoutMs: number): Promise<ConnectBackResult> {
  return await new Promise<ConnectBackResult>((resolve) => {
    const socket = net.connect({ host: target.address, port: target.port, ...(from != null ? { localAddress: from } : {}) })
    const done = (result: ConnectBackResult): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(result)
    }
    const timer = setTimeout(() => { done('timeout') }, timeoutMs)
    socket.once('connect', () => { done('connected') })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      done(err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' ? 'reset' : err.code === 'ETIMEDOUT' ? 'timeout' : 'unreachable')
    })
  })
}

class DefaultConnectBackServer implements ConnectBackServer {
  readonly #from: string
  readonly #timeoutMs: number
  readonly #maxPending: number
  readonly #requestTimeoutMs: number
  readonly #limiter: SourceRateLimiter
  readonly #counters: ConnectBackServerStats = { requests: 0, attempts: 0, refused: 0 }
  readonly #maxConnections: number
  readonly #sockets = new Set<net.Socket>()
  #pending = 0
  #server?: net.Server

  constructor (init: ConnectBackServerInit) {
    if (net.isIP(init.from) === 0) throw new InvalidParametersError(`from must be an IP address, got "${String(init.from)}"`)
    this.#from = init.from
    this.#timeoutMs = positive('timeoutMs', init.timeoutMs ?? DEFAULT_CONNECT_BACK_TIMEOUT_MS)
    this.#maxPending = positive('maxPending', init.maxPending ?? DEFAULT_CONNECT_BACK_MAX_PENDING)
    this.#requestTimeoutMs = positive('requestTimeoutMs', init.requestTimeoutMs ?? DEFAULT_CONNECT_BACK_REQUEST_TIMEOUT_MS)
    this.#maxConnections = positive('maxConnections', init.maxConnections ?? DEFAULT_CONNECT_BACK_MAX_CONNECTIONS)
    this.#limiter = new SourceRateLimiter({ maxRequests: DEFAULT_CONNECT_BACK_MAX_REQUESTS, windowMs: DEFAULT_CONNECT_BACK_WINDOW_MS, ...init.rateLimit })
  }

  get stats (): ConnectBackServerStats {
    return { ...this.#counters }
  }

  async listen (port: number, host: string): Promise<Endpoint> {
    const server = net.createServer((socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => { this.#sockets.delete(socket) })
      this.#onConnection(socket)
    })
    server.maxConnections = this.#maxConnections
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ port, host }, () => { server.off('error', reject); resolve() })
    })
    server.on('error', () => {})
    const a = server.address() as net.AddressInfo
    return { address: a.address, port: a.port }
  }

  async close (): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (server == null) return
    const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
    for (const socket of this.#sockets) socket.destroy()
    await closed
  }

  #refuse (socket: net.Socket, error: string): void {
    this.#counters.refused++
    socket.end(JSON.stringify({ error }) + '\n')
  }

  #onConnection (socket: net.Socket): void {
    socket.on('error', () => {})
    const ip = unmapIPv4(socket.remoteAddress ?? '')
    const observed = { address: ip, port: socket.remotePort ?? 0 }
    if (!this.#limiter.allow(ip)) { this.#refuse(socket, 'rate-limited'); return }
    socket.setTimeout(this.#requestTimeoutMs, () => { socket.destroy() })
    let line = ''
    const onData = (chunk: Buffer): void => {
      line += chunk.toString('latin1')
      const end = line.indexOf('\n')
      if (end < 0) {
        if (line.length > MAX_CONNECT_BACK_REQUEST_BYTES) { socket.off('data', onData); this.#refuse(socket, 'request too long') }
        return
      }
      socket.off('data', onData)
      const m = new RegExp(`^${CONNECT_BACK_PROTOCOL.replace('/', '\\/')} (\\d{1,5})\\r?$`).exec(line.slice(0, end))
      const port = Number(m?.[1])
      if (m == null || port < 1 || port > 65_535) { this.#refuse(socket, `expected "${CONNECT_BACK_PROTOCOL} <port>"`); return }
      if (this.#pending >= this.#maxPending) { this.#refuse(socket, 'busy'); return }
      this.#counters.requests++
      this.#counters.attempts++
      this.#pending++
      socket.setTimeout(0)
      // the target is the requester's own observed address: never one it names
      const target = { address: ip, port }
      void connectOnce(target, this.#from, this.#timeoutMs).then((result) => {
        this.#pending--
        socket.end(JSON.stringify({ observed, target, result }) + '\n')
      })
    }
    socket.on('data', onData)
  }
}

/** A TCP connect-back observer (see the module comment for its bounds). */
export function createConnectBackServer (init: ConnectBackServerInit): ConnectBackServer {
  return new DefaultConnectBackServer(init)
}

/** Thrown when the observer refused a connect-back request or answered garbage. */
export class ConnectBackError extends Error {
  static override name = 'ConnectBackError'
  override name = 'ConnectBackError'
}

/** Options of {@link tcpConnectBack}. */
export interface TcpConnectBackOptions {
  /** Overall time for the exchange. @default DEFAULT_CONNECT_BACK_TIMEOUT_MS + 3000 */
  timeoutMs?: number
  /** Address to listen on and connect from. @default all interfaces / the OS's choice */
  localAddress?: string
}

/**
 * Listens on a fresh port (never sent from, so the NAT has no mapping for
 * it), asks the observer at `server` to connect back to it and returns what
 * the observer saw.
 *
 * @throws {ConnectBackError} when the observer refuses
 * @throws {TimeoutError} when it does not answer in time
 */
export async function tcpConnectBack (server: Endpoint, options: TcpConnectBackOptions = {}): Promise<TcpConnectBackObservation & { accepted: number }> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_BACK_TIMEOUT_MS + 3_000
  let accepted = 0
  const listener = net.createServer((s) => { accepted++; s.destroy() })
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject)
    listener.listen({ port: 0, host: options.localAddress ?? '0.0.0.0' }, () => { listener.off('error', reject); resolve() })
  })
  const listenPort = (listener.address() as net.AddressInfo).port
  const socket = net.connect({ host: server.address, port: server.port, ...(options.localAddress != null ? { localAddress: options.localAddress } : {}) })
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      let text = ''
      const timer = setTimeout(() => { reject(new TimeoutError(`no connect-back answer from ${server.address}:${server.port} within ${timeoutMs} ms`)) }, timeoutMs)
      socket.once('connect', () => { socket.write(`${CONNECT_BACK_PROTOCOL} ${listenPort}\n`) })
      socket.on('data', (d: Buffer) => {
        text += d.toString('utf8')
        if (text.length > 4096) { clearTimeout(timer); reject(new ConnectBackError('connect-back answer too long')) }
      })
      socket.once('error', (err) => { clearTimeout(timer); reject(new ConnectBackError(`connect-back observer ${server.address}:${server.port}: ${err.message}`)) })
      socket.once('end', () => { clearTimeout(timer); resolve(text) })
    })
    let parsed: { observed?: Endpoint, target?: Endpoint, result?: ConnectBackResult, error?: string }
    try {
      parsed = JSON.parse(reply.trim())
    } catch {
      throw new ConnectBackError(`connect-back observer ${server.address}:${server.port} answered something else than JSON`)
    }
    if (parsed.error != null) throw new ConnectBackError(`connect-back observer ${server.address}:${server.port} refused: ${parsed.error}`)
    if (parsed.observed == null || parsed.target == null || parsed.result == null) throw new ConnectBackError('connect-back answer lacks observed/target/result')
    return { observed: parsed.observed, target: parsed.target, result: parsed.result, accepted }
  } finally {
    socket.destroy()
    listener.close()
  }
}
