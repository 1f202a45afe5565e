/**
 * AutoNAT v2 server hardening: at most `maxDials` dial-backs per request and a
 * request rate limit per requester IP and in total.
 *
 * @libp2p/autonat-v2's server (2.0.x `server.js`) dials *every* address of a
 * `DialRequest` whose IP is public and dialable (the spec says: dial one);
 * addresses on the requester's own IP cost no dial data, so one request with
 * 200 addresses makes 200 dials. This service replaces the server's
 * dial-request handler (public registrar: same handler and options): it
 * reads the `DialRequest`, cuts the address list right after the `maxDials`-th
 * address the server would dial (the addresses before it keep their indexes
 * and get the server's own refusal, without a dial), and hands the server the
 * shortened request. A requester over its rate gets `E_REQUEST_REJECTED`
 * (as go-libp2p's server answers) and no dial.
 */
import { isPrivateIp, lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { DIAL_REQUEST_PROTOCOL, MAX_MESSAGE_SIZE, RESPONSE_STATUS, DIAL_STATUS, decodeAutoNATMessage, encodeAutoNATMessage } from '@natkit/autonat-check'
import { ipGroups } from './ip-groups.js'
import type { ComponentLogger, Connection, Logger, Startable, Stream, StreamHandler } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

/** Dial-backs one AutoNAT request may cause (the spec's intent). @default 1 */
export const DEFAULT_AUTONAT_MAX_DIALS_PER_REQUEST = 1
/** Requests accepted per requester IP (IPv6: per /64) per minute (go-libp2p: 12 per peer). @default 12 */
export const DEFAULT_AUTONAT_REQUESTS_PER_IP = 12
/** Requests accepted in total per minute (go-libp2p's server default). @default 60 */
export const DEFAULT_AUTONAT_REQUESTS_TOTAL = 60
/** The window of both rate limits, in ms. @default 60000 */
export const AUTONAT_RATE_WINDOW = 60_000
/** Requester IPs tracked by the rate limit at most (the least recently seen are forgotten). @default 4096 */
export const DEFAULT_AUTONAT_TRACKED_REQUESTERS = 4096
/** Time a requester has to send its `DialRequest`, in ms. @default 10000 */
export const DEFAULT_AUTONAT_REQUEST_TIMEOUT = 10_000

export interface AutonatGuardInit {
  /** @default DEFAULT_AUTONAT_MAX_DIALS_PER_REQUEST */
  maxDials?: number
  /** @default DEFAULT_AUTONAT_REQUESTS_PER_IP */
  requestsPerIp?: number
  /** @default DEFAULT_AUTONAT_REQUESTS_TOTAL */
  requestsTotal?: number
}

export interface AutonatGuardComponents {
  registrar: Registrar
  connectionManager: Pick<ConnectionManager, 'isDialable'>
  logger: ComponentLogger
}

/** The varint length prefix and `msg`, as the stream layer frames it. */
function framed (msg: Uint8Array): Uint8Array {
  const prefix: number[] = []
  let n = msg.byteLength
  do {
    prefix.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0))
    n >>>= 7
  } while (n > 0)
  const out = new Uint8Array(prefix.length + msg.byteLength)
  out.set(prefix)
  out.set(msg, prefix.length)
  return out
}

const ipOf = (addr: ReturnType<typeof multiaddr>): string | undefined => addr.getComponents().findLast(c => c.name === 'ip4' || c.name === 'ip6')?.value

/** Sliding one-minute windows of request times, per key and in total. */
class RateLimit {
  readonly #perKey = new Map<string, number[]>()
  #total: number[] = []
  constructor (readonly perKey: number, readonly total: number) {}

  /** Counts a request by `key` unless over a limit; returns which limit refused it. */
  take (key: string, now = Date.now()): 'per-ip' | 'total' | undefined {
    const recent = (xs: number[]): number[] => xs.filter(t => now - t < AUTONAT_RATE_WINDOW)
    this.#total = recent(this.#total)
    const mine = recent(this.#perKey.get(key) ?? [])
    this.#perKey.delete(key)
    this.#perKey.set(key, mine)
    while (this.#perKey.size > DEFAULT_AUTONAT_TRACKED_REQUESTERS) this.#perKey.delete(this.#perKey.keys().next().value as string)
    if (mine.length >= this.perKey) return 'per-ip'
    if (this.#total.length >= this.total) return 'total'
    mine.push(now)
    this.#total.push(now)
    return undefined
  }
}

export class AutonatGuard implements Startable {
  readonly [Symbol.toStringTag] = '@natkit/autonat-guard'
  readonly #components: AutonatGuardComponents
  readonly #maxDials: number
  readonly #rate: RateLimit
  readonly #log: Logger

  constructor (components: AutonatGuardComponents, init: AutonatGuardInit = {}) {
    this.#components = components
    this.#maxDials = init.maxDials ?? DEFAULT_AUTONAT_MAX_DIALS_PER_REQUEST
    this.#rate = new RateLimit(init.requestsPerIp ?? DEFAULT_AUTONAT_REQUESTS_PER_IP, init.requestsTotal ?? DEFAULT_AUTONAT_REQUESTS_TOTAL)
    this.#log = components.logger.forComponent('natkit:autonat-guard')
  }

  start (): void {}

  /** Wraps the AutoNAT v2 server's dial-request handler, registered by then (nothing to do without one). */
  async afterStart (): Promise<void> {
    const { registrar } = this.#components
    if (!registrar.getProtocols().includes(DIAL_REQUEST_PROTOCOL)) return
    const { handler, options } = registrar.getHandler(DIAL_REQUEST_PROTOCOL)
    const guarded: StreamHandler = async (stream: Stream, connection: Connection) => {
      const forward = await this.#screen(stream, connection).catch((err: Error) => {
        this.#log('dial request from %p dropped: %s', connection.remotePeer, err.message)
        stream.abort(err)
        return undefined
      })
      if (forward != null) await handler(forward, connection)
    }
    await registrar.handle(DIAL_REQUEST_PROTOCOL, guarded, { ...options, force: true })
  }

  stop (): void {}

  /** Reads the request; answers a rate-limited one itself (resolves undefined), or returns the stream with the shortened request in front. */
  async #screen (stream: Stream, connection: Connection): Promise<Stream | undefined> {
    const signal = AbortSignal.timeout(DEFAULT_AUTONAT_REQUEST_TIMEOUT)
    const messages = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE })
    // every request counts, a malformed one too; the answer comes after the request was read
    const refused = this.#rate.take(ipGroups(connection.remoteAddr)?.host ?? connection.remotePeer.toString())
    const { dialRequest } = decodeAutoNATMessage(await messages.read({ signal }))
    if (dialRequest == null) throw new Error('the first message was not a DialRequest')
    if (refused != null) {
      this.#log('dial request from %p rejected: %s rate limit', connection.remotePeer, refused)
      await messages.write(encodeAutoNATMessage({ dialResponse: { status: RESPONSE_STATUS.E_REQUEST_REJECTED, addrIdx: 0, dialStatus: DIAL_STATUS.UNUSED } }), { signal })
      await stream.close({ signal })
      return undefined
    }
    const addrs = await this.#dialable(dialRequest.addrs, signal)
    const raw = messages.unwrap()
    raw.unshift(framed(encodeAutoNATMessage({ dialRequest: { ...dialRequest, addrs } })))
    return raw
  }

  /** The addresses up to and including the `maxDials`-th one the stock server would dial (public IP, dialable). */
  async #dialable (addrs: Uint8Array[], signal: AbortSignal): Promise<Uint8Array[]> {
    let dials = 0
    for (let i = 0; i < addrs.length; i++) {
      let ma
      try { ma = multiaddr(addrs[i]) } catch { continue }
      const ip = ipOf(ma)
      if (ip == null || isPrivateIp(ip) === true) continue
      if (!(await this.#components.connectionManager.isDialable(ma, { signal }))) continue
      if (++dials >= this.#maxDials) return addrs.slice(0, i + 1)
    }
    return addrs
  }
}

/** `services: { autonat: autoNATv2(), autonatGuard: autonatGuard() }` */
export function autonatGuard (init: AutonatGuardInit = {}): (components: AutonatGuardComponents) => AutonatGuard {
  return (components) => new AutonatGuard(components, init)
}
