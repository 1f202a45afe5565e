import { runRole, type ParsedArgs } from '@natkit/cli'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_CONFIRM_TIMEOUT, findPeerAddrs, isLimited, pingConnection, raceDirectPaths } from '@natkit/node'
import { createPeer, type PeerRunner } from './node.js'
import { DialTargetError, isWebrtcTarget, optionsForTarget, planDirectPaths, type DirectPath, type PeerOptions } from './options.js'
import type { Connection } from '@libp2p/interface'

export { DialTargetError }

/** Exit status of `natkit-peer dial`: a direct connection was made. */
export const EXIT_DIRECT = 0
/** Exit status of `natkit-peer dial`: connected, but only through a relay. */
export const EXIT_RELAYED_ONLY = 3
/** Exit status of `natkit-peer dial`: not connected. */
export const EXIT_NOT_CONNECTED = 1

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
  /** The direct path that won the race. */
  path?: DirectPath
  /** How each direct path ended, one short phrase each. */
  paths?: Partial<Record<DirectPath, string>>
}

export async function handler (parsed: ParsedArgs<PeerOptions>): Promise<number> {
  if (parsed.command !== 'dial') return await runRole({ name: 'natkit-peer', options: parsed.options, create: async (events) => await createPeer(parsed.options, events) })
  const target = parsed.args[0]
  parseDialTarget(target)
  const o = optionsForTarget(parsed.options, target)
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
 * races the direct paths (`--direct-paths`) for up to `timeout` in all; a
 * direct connection counts once a ping round trip over it succeeded.
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
  // `/p2p-circuit/webrtc/p2p/B` (WebRTC only): connect over the relay first,
  // the connection the WebRTC signalling then runs over
  let addrs: Multiaddr[]
  try {
    addrs = await resolveTarget(peer, options, isWebrtcTarget(target) ? target.replace('/p2p-circuit/webrtc/', '/p2p-circuit/') : target, signal)
  } catch (err) {
    result.reason = (err as Error).message
    return finish()
  }
  let conn: Connection
  try {
    conn = await peer.node.dial(addrs, { signal })
  } catch (err) {
    result.reason = `not connected: ${(err as Error).message}`
    return finish()
  }
  const remotePeer = conn.remotePeer.toString()
  result.remotePeer = remotePeer
  result.timeToRelayedMs = ms(performance.now() - t0)
  const relayedAt = performance.now()
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
  const raceStart = performance.now()
  const race = await raceDirectPaths(peer, conn, { plan: planDirectPaths(options), holepunchAttempts: options.holepunchAttempts, signal })
  result.paths = race.paths
  if (race.conn == null) {
    const failed = Object.entries(race.paths).map(([path, phrase]) => `${path}: ${phrase}`)
    result.reason = failed.length > 0 ? `no direct connection (${failed.join('; ')})` : `no direct connection within ${timeout} ms`
    return finish()
  }
  // the other peer counts the connection once its own confirming ping
  // returned, then (as DCUtR's initiator) closes the relayed connection: stay
  // until then, or this process would exit under its ping
  const plan = planDirectPaths(options)
  if (plan.race.includes('tcp') && race.paths.tcp?.startsWith('not tried') !== true && race.paths.tcp?.startsWith('failed') !== true) {
    await closed(conn, AbortSignal.any([signal, AbortSignal.timeout(DEFAULT_CONFIRM_TIMEOUT)]))
  }
  result.outcome = 'direct'
  result.path = race.path
  result.timeToDirectMs = ms(raceStart - relayedAt + (race.openedAfterMs ?? 0))
  result.remoteAddr = race.conn.remoteAddr.toString()
  if (race.rttMs != null) {
    result.directRttMs = race.rttMs
    peer.events.emit('ping', { remotePeer, rttMs: race.rttMs, limited: false, remoteAddr: result.remoteAddr })
  }
  return finish()
}

/** Resolves once `conn` closed or `signal` aborted. */
async function closed (conn: Connection, signal: AbortSignal): Promise<void> {
  if (conn.status !== 'open' || signal.aborted) return
  const { promise, resolve } = Promise.withResolvers<void>()
  conn.addEventListener('close', () => { resolve() }, { once: true })
  signal.addEventListener('abort', () => { resolve() }, { once: true })
  await promise
}
