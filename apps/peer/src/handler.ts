import { runRole, type ParsedArgs } from '@natkit/cli'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { findPeerAddrs, isLimited, pingConnection } from '@natkit/node'
import { UserError } from '@natkit/events'
import { createPeer, type PeerRunner } from './node.js'
import type { PeerOptions } from './options.js'
import type { Connection } from '@libp2p/interface'

/** Exit status of `natkit-peer dial`: a direct connection was made. */
export const EXIT_DIRECT = 0
/** Exit status of `natkit-peer dial`: connected, but only through a relay. */
export const EXIT_RELAYED_ONLY = 3
/** Exit status of `natkit-peer dial`: not connected. */
export const EXIT_NOT_CONNECTED = 1

/** `natkit-peer dial`: the target is neither a multiaddr nor a peer id, or has no addresses (a usage problem). */
export class DialTargetError extends UserError {
  static override name = 'DialTargetError'
  override name = 'DialTargetError'
}

/** Outcome of `dialPeer`, also emitted as `dial:result`. */
export interface DialResult {
  target: string
  outcome: 'direct' | 'relayed' | 'failed'
  remotePeer?: string
  remoteAddr?: string
  relayedRttMs?: number
  directRttMs?: number
  timeToRelayedMs?: number
  timeToDirectMs?: number
  reason?: string
}

export async function handler (parsed: ParsedArgs<PeerOptions>): Promise<number> {
  const o = parsed.options
  if (parsed.command !== 'dial') return await runRole({ name: 'natkit-peer', options: o, create: async (events) => await createPeer(o, events) })
  const target = parsed.args[0]
  parseDialTarget(target)
  return await runRole({
    name: 'natkit-peer',
    options: o,
    create: async (events) => await createPeer(o, events),
    main: async (peer) => {
      const result = await dialPeer(peer, o, target, o.timeout)
      return result.outcome === 'direct' ? EXIT_DIRECT : result.outcome === 'relayed' ? EXIT_RELAYED_ONLY : EXIT_NOT_CONNECTED
    }
  })
}

/** Longest `natkit-peer dial` target accepted (a multiaddr or a peer id). @default 4096 */
export const MAX_DIAL_TARGET_LENGTH = 4096

/**
 * Checks the syntax of a `natkit-peer dial` target before the node starts: a
 * multiaddr (starting with `/`) or a peer id. Throws {@link DialTargetError}
 * (a usage error, exit status 2) otherwise.
 */
export function parseDialTarget (target: string): void {
  if (target.length > MAX_DIAL_TARGET_LENGTH) throw new DialTargetError(`dial target is ${target.length} characters long, more than the limit of ${MAX_DIAL_TARGET_LENGTH}`)
  try {
    if (target.startsWith('/')) {
      void multiaddr(target).bytes
    } else {
      peerIdFromString(target)
    }
  } catch (err) {
    const shown = JSON.stringify(target.slice(0, 120))
    throw new DialTargetError(target.startsWith('/') ? `invalid multiaddr ${shown}: ${(err as Error).message.split('\n')[0]}` : `${shown} is neither a multiaddr nor a peer id`)
  }
}

/** Resolves a dial target: a multiaddr, or a peer id found via the DHT or through a configured relay. */
export async function resolveTarget (peer: PeerRunner, options: PeerOptions, target: string, signal: AbortSignal): Promise<Multiaddr[]> {
  if (target.startsWith('/')) {
    try {
      return [multiaddr(target)]
    } catch (err) {
      throw new DialTargetError(`invalid multiaddr "${target}": ${(err as Error).message}`)
    }
  }
  let id
  try {
    id = peerIdFromString(target)
  } catch {
    throw new DialTargetError(`"${target}" is neither a multiaddr nor a peer id`)
  }
  const found: Multiaddr[] = []
  if (peer.node.services.dht != null) {
    try {
      const addrs = await findPeerAddrs(peer.node, id, signal)
      found.push(...addrs.map(ma => ma.getComponents().some(c => c.name === 'p2p' && c.value === target) ? ma : ma.encapsulate(`/p2p/${target}`)))
      peer.events.emit('info', { message: `DHT lookup of ${target}: ${addrs.length === 0 ? 'no addresses' : addrs.map(String).join(', ')}` })
    } catch (err) {
      peer.events.emit('info', { message: `DHT lookup of ${target} failed: ${(err as Error).message}` })
    }
  }
  const relays = options.relay
  for (const r of relays) found.push(multiaddr(`${String(r)}/p2p-circuit/p2p/${target}`))
  if (found.length === 0) throw new DialTargetError(`no addresses for peer ${target} (no DHT result and no --relay)`)
  return found
}

/**
 * Connects to a target, pings over the (usually relayed) connection, then
 * waits up to `timeout` for a direct connection from hole punching.
 */
export async function dialPeer (peer: PeerRunner, options: PeerOptions, target: string, timeout: number): Promise<DialResult> {
  const signal = AbortSignal.timeout(timeout)
  const t0 = performance.now()
  const ms = (t: number): number => Math.round(t * 10) / 10
  const result: DialResult = { target, outcome: 'failed' }
  const finish = (): DialResult => {
    peer.events.emit('dial:result', { ...result })
    return result
  }
  // `/p2p-circuit/webrtc/p2p/B`: connect over the relay first (the same path a
  // TCP hole punch starts from), then upgrade with a WebRTC connection that the
  // relayed connection signals
  const webrtcTarget = target.includes('/p2p-circuit/webrtc/') ? target : undefined
  let addrs: Multiaddr[]
  try {
    addrs = await resolveTarget(peer, options, webrtcTarget != null ? target.replace('/p2p-circuit/webrtc/', '/p2p-circuit/') : target, signal)
  } catch (err) {
    result.reason = (err as Error).message
    return finish()
  }
  let direct: Connection | undefined
  const directWaiter = Promise.withResolvers<Connection | undefined>()
  let remotePeer: string | undefined
  let relayedAt: number
  const maxAttempts = options.holepunchAttempts
  let lastFailure: string | undefined
  const onOpen = (evt: CustomEvent<Connection>): void => {
    const c = evt.detail
    if (remotePeer != null && c.remotePeer.toString() === remotePeer && !isLimited(c)) directWaiter.resolve(c)
  }
  const offFailure = peer.events.on('holepunch:failure', (e) => {
    if (e.remotePeer !== remotePeer) return
    lastFailure = `${e.reason}: ${e.message}`
    if (e.attempts >= maxAttempts) directWaiter.resolve(undefined)
  })
  peer.node.addEventListener('connection:open', onOpen)
  try {
    let conn: Connection
    try {
      conn = await peer.node.dial(addrs, { signal })
    } catch (err) {
      result.reason = `not connected: ${(err as Error).message}`
      return finish()
    }
    remotePeer = conn.remotePeer.toString()
    result.remotePeer = remotePeer
    result.timeToRelayedMs = ms(performance.now() - t0)
    relayedAt = performance.now()
    result.remoteAddr = conn.remoteAddr.toString()
    try {
      const rtt = await pingConnection(conn, { signal })
      if (isLimited(conn)) result.relayedRttMs = rtt
      else result.directRttMs = rtt
      peer.events.emit('ping', { remotePeer, rttMs: rtt, limited: isLimited(conn), remoteAddr: conn.remoteAddr.toString() })
    } catch (err) {
      peer.events.emit('warn', { message: `ping over ${conn.remoteAddr.toString()} failed: ${(err as Error).message}` })
    }
    if (!isLimited(conn)) {
      result.outcome = 'direct'
      return finish()
    }
    result.outcome = 'relayed'
    // a direct connection may already exist (hole punch finished during the ping)
    direct = peer.node.getConnections(conn.remotePeer).find(c => !isLimited(c))
    if (direct == null && webrtcTarget != null) {
      try {
        direct = await peer.node.dial(multiaddr(webrtcTarget), { signal, force: true })
      } catch (err) {
        lastFailure = `WebRTC connection failed: ${(err as Error).message}`
      }
      if (direct != null && isLimited(direct)) direct = undefined
    } else if (direct == null) {
      const onAbort = (): void => { directWaiter.resolve(undefined) }
      signal.addEventListener('abort', onAbort, { once: true })
      direct = await directWaiter.promise
      signal.removeEventListener('abort', onAbort)
    }
    if (direct == null) {
      result.reason = lastFailure ?? `no direct connection within ${timeout} ms`
      return finish()
    }
    result.outcome = 'direct'
    result.timeToDirectMs = ms(performance.now() - relayedAt)
    result.remoteAddr = direct.remoteAddr.toString()
    try {
      const rtt = await pingConnection(direct, { signal: AbortSignal.timeout(10_000) })
      result.directRttMs = rtt
      peer.events.emit('ping', { remotePeer, rttMs: rtt, limited: false, remoteAddr: direct.remoteAddr.toString() })
    } catch (err) {
      peer.events.emit('warn', { message: `ping over the direct connection failed: ${(err as Error).message}` })
    }
    return finish()
  } finally {
    offFailure()
    peer.node.removeEventListener('connection:open', onOpen)
  }
}
