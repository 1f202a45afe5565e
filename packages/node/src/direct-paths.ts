/**
 * Racing the direct paths of a relayed connection.
 *
 * The dialing side (e.g. `natkit-peer dial`) races TCP hole punching (DCUtR, which
 * the other peer starts as the inbound side of the relayed connection) and
 * WebRTC (which the dialer starts: SDP and ICE signalled over the relayed
 * connection, STUN from `--stun`). A direct connection counts only once a
 * ping round trip over it succeeded, i.e. once both peers hold it; the first
 * one that counts wins, later ones are closed.
 *
 * One budget for both sides of WebRTC: a peer accepts an inbound WebRTC
 * connection for {@link DEFAULT_WEBRTC_ACCEPT_WINDOW} (libp2p's inbound
 * upgrade timeout, set explicitly), and the dialer keeps its WebRTC attempt
 * open {@link DEFAULT_AGREEMENT_MARGIN} longer, so the dialer never abandons
 * a connection the other side is still about to complete; and neither side
 * counts a connection the other has abandoned, because the confirming ping
 * needs an answer.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { nodeComponents } from '@natkit/libp2p-internals'
import { isLimited } from './observe.js'
import { pingConnection } from './ping.js'
import type { DirectPathName as DirectPath, NatkitEvents } from '@natkit/events'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

/** What a node races: the paths it tries, and why the others are not tried (one phrase each). */
export interface DirectPathPlan {
  race: DirectPath[]
  skipped: Partial<Record<DirectPath, string>>
}

/** The node and event bus a race works on (a role's runner). */
export interface RaceRunner {
  node: Libp2p
  events: NatkitEvents
}

/** A connection that should be relayed is not. */
export class NotRelayedError extends Error {
  static override name = 'NotRelayedError'
  override name = 'NotRelayedError'
}

/** Protocol a peer speaks when it accepts WebRTC over a relayed connection. */
export const WEBRTC_SIGNALING_PROTOCOL = '/webrtc-signaling/0.0.1'

/**
 * How long a peer accepts an inbound WebRTC connection (signalling, ICE and
 * upgrade), in ms: libp2p's inbound upgrade timeout of the peer.
 */
export const DEFAULT_WEBRTC_ACCEPT_WINDOW = 10_000
/** How much longer than the other side's acceptance window the dialer keeps a WebRTC attempt open, in ms. */
export const DEFAULT_AGREEMENT_MARGIN = 2_000
/** The dialer's WebRTC attempt window: the acceptance window plus the margin. */
export const DEFAULT_WEBRTC_DIAL_WINDOW = DEFAULT_WEBRTC_ACCEPT_WINDOW + DEFAULT_AGREEMENT_MARGIN
/** Bound on confirming one direct connection with a ping round trip, in ms. */
export const DEFAULT_CONFIRM_TIMEOUT = 5_000
/** Bound on waiting for identify to tell which paths the other peer supports, in ms. */
export const DEFAULT_IDENTIFY_WAIT = 5_000
/**
 * When the WebRTC attempt has not connected after this many ms, a second one
 * starts beside it (with its own window); whichever connects first counts.
 * @libp2p/webrtc 6.0.x ignores a peer connection that closes during ICE and
 * waits for its data channel until the window ends (seen on loopback, about 1
 * attempt in 20 under load; docs/upstream.md §7): the second attempt turns
 * that stall into a delay.
 */
export const DEFAULT_WEBRTC_HEDGE_DELAY = 4_000

/** The direct path a (direct) connection took. */
export function pathOf (conn: Pick<Connection, 'remoteAddr'>): DirectPath {
  return conn.remoteAddr.getComponents().some(c => c.name === 'webrtc') ? 'webrtc' : 'tcp'
}

/** `<relay>/p2p-circuit/p2p/<id>` of a relayed connection → `<relay>/p2p-circuit/webrtc/p2p/<id>`. */
export function webrtcAddrOf (relayed: Pick<Connection, 'remoteAddr' | 'remotePeer'>): Multiaddr {
  const parts = relayed.remoteAddr.getComponents()
  const circuit = parts.findLastIndex(c => c.name === 'p2p-circuit')
  if (circuit < 0) throw new NotRelayedError(`${relayed.remoteAddr.toString()} is not a relayed address`)
  return multiaddr(parts.slice(0, circuit + 1)).encapsulate(`/webrtc/p2p/${relayed.remotePeer.toString()}`)
}

/**
 * A ping round trip over `conn`: resolves with the RTT once the peer answered
 * over this very connection (so it holds it too). A peer without the ping
 * protocol that refuses it has answered as well (undefined RTT). Concurrent
 * and later calls for the same connection share the first one's result.
 */
export async function confirmDirect (conn: Connection, signal: AbortSignal): Promise<number | undefined> {
  let confirmation = confirmations.get(conn)
  if (confirmation == null) {
    confirmation = pingConnection(conn, { signal }).catch((err: Error) => {
      if (err.name === 'UnsupportedProtocolError') return undefined
      throw err
    })
    confirmations.set(conn, confirmation)
  }
  return await confirmation
}

/**
 * One confirmation per connection, shared by every caller in this process
 * (the race and the hole punch service both confirm the same connection;
 * libp2p's ping allows one outbound ping stream per connection at a time).
 */
const confirmations = new WeakMap<Connection, Promise<number | undefined>>()

/** How the race ended. */
export interface RaceResult {
  /** The winning (confirmed) direct connection. */
  conn?: Connection
  path?: DirectPath
  /** ms from the race's start until the winner opened. */
  openedAfterMs?: number
  /** RTT of the confirming ping. */
  rttMs?: number
  /** One short phrase per path. */
  paths: Partial<Record<DirectPath, string>>
}

/** The first sentence of an error message, short enough for one phrase. */
const brief = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 160)

/**
 * Resolves with the protocols identify reported for `peer`, or undefined if
 * it did not within `ms`. The peer store alone is not enough: it also learns
 * single protocols from streams we opened (our ping), before identify ran;
 * identify is known to have run when it stored the peer's agent version.
 */
async function remoteProtocols (peer: RaceRunner, remote: PeerId, ms: number, signal: AbortSignal): Promise<string[] | undefined> {
  const { promise, resolve } = Promise.withResolvers<string[] | undefined>()
  const onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => { if (evt.detail.peerId.equals(remote)) resolve(evt.detail.protocols) }
  const bound = AbortSignal.any([signal, AbortSignal.timeout(ms)])
  const onAbort = (): void => { resolve(undefined) }
  peer.node.addEventListener('peer:identify', onIdentify)
  bound.addEventListener('abort', onAbort, { once: true })
  try {
    const known = await peer.node.peerStore.get(remote).catch(() => undefined)
    if (known?.metadata.has('AgentVersion') === true) return known.protocols
    return await promise
  } finally {
    peer.node.removeEventListener('peer:identify', onIdentify)
    bound.removeEventListener('abort', onAbort)
  }
}

export interface RaceInit {
  plan: DirectPathPlan
  /** Hole punch attempts the other peer makes (its final failure ends the TCP path). */
  holepunchAttempts: number
  signal: AbortSignal
  /** @default DEFAULT_WEBRTC_DIAL_WINDOW */
  webrtcWindow?: number
  /** A second WebRTC attempt after this many ms without a connection; 0 turns it off. @default DEFAULT_WEBRTC_HEDGE_DELAY */
  webrtcHedgeDelay?: number
  /** @default DEFAULT_CONFIRM_TIMEOUT */
  confirmTimeout?: number
  /** @default DEFAULT_IDENTIFY_WAIT */
  identifyWait?: number
}

/**
 * Races the planned direct paths over `relayed` until one direct connection
 * is confirmed, every path ended, or `signal` aborts. Direct connections that
 * open after the winner are closed.
 */
export async function raceDirectPaths (peer: RaceRunner, relayed: Connection, init: RaceInit): Promise<RaceResult> {
  const remote = relayed.remotePeer
  const remoteKey = remote.toString()
  const t0 = performance.now()
  const since = (): number => Math.round(performance.now() - t0)
  const result: RaceResult = { paths: { ...init.plan.skipped } }
  const pending = new Set<DirectPath>(init.plan.race)
  const done = Promise.withResolvers<void>()
  const cancelWebrtc = new AbortController()
  const settle = (path: DirectPath, phrase: string): void => {
    if (!pending.delete(path)) return
    result.paths[path] = phrase
    if (pending.size === 0) done.resolve()
  }
  // a path that failed while another one's connection was being confirmed,
  // or after the relayed connection closed (B closes it once its punch
  // succeeded, which cuts WebRTC signalling before A may have seen the direct
  // connection open), is settled by the other paths: lost if one wins,
  // failed once none is left that could
  const deferred: Partial<Record<DirectPath, string>> = {}
  let confirming = 0
  const settleDeferred = (): void => {
    if (confirming > 0 || [...pending].some((p) => deferred[p] == null)) return
    for (const [p, phrase] of Object.entries(deferred) as Array<[DirectPath, string]>) settle(p, phrase)
  }
  const fail = (path: DirectPath, phrase: string): void => {
    if (!pending.has(path)) return
    if (confirming > 0 || relayed.status !== 'open') deferred[path] = phrase
    else settle(path, phrase)
    settleDeferred()
  }
  const seen = new WeakSet<Connection>()
  const closeLoser = (c: Connection, path: DirectPath): void => {
    // a second connection over the winning path (both sides' dials of one
    // punch, a later attempt's) does not take the winner's phrase away
    if (path !== result.path) result.paths[path] = `direct too, ${since()} ms in, after ${String(result.path)} won; closed`
    c.close().catch((err: Error) => { c.abort(err) })
  }
  const candidate = (c: Connection): void => {
    if (seen.has(c) || isLimited(c) || !c.remotePeer.equals(remote) || c.status !== 'open') return
    seen.add(c)
    const path = pathOf(c)
    if (result.conn != null) { closeLoser(c, path); return }
    const openedAfterMs = since()
    confirming++
    confirmDirect(c, AbortSignal.timeout(init.confirmTimeout ?? DEFAULT_CONFIRM_TIMEOUT)).finally(() => { confirming-- }).then((rtt) => {
      if (result.conn != null) { closeLoser(c, path); return }
      Object.assign(result, { conn: c, path, openedAfterMs, rttMs: rtt })
      pending.delete(path)
      result.paths[path] = `won after ${openedAfterMs} ms`
      for (const other of pending) result.paths[other] = `lost: ${path} was direct first`
      pending.clear()
      cancelWebrtc.abort()
      done.resolve()
    }, (err: unknown) => {
      // the peer did not answer over it: it does not count, on either side
      c.abort(err instanceof Error ? err : new Error(String(err)))
      if (path === 'webrtc') fail(path, `failed: opened but the peer did not answer over it (${brief(err)})`)
      else result.paths[path] = `opened but the peer did not answer over it (${brief(err)})`
      settleDeferred()
    })
  }
  let hedge: ReturnType<typeof setTimeout> | undefined
  const onOpen = (evt: CustomEvent<Connection>): void => { candidate(evt.detail) }
  const offFailure = peer.events.on('holepunch:failure', (e) => {
    // 'busy': no punch could start (a full punch table), so none of the attempts will come;
    // `final`: both NATs map per destination, the initiator stops after one attempt
    if (e.remotePeer === remoteKey && (e.attempts >= init.holepunchAttempts || e.reason === 'busy' || e.final === true)) fail('tcp', `failed: ${e.reason}: ${e.message.slice(0, 160)}`)
  })
  const onAbort = (): void => { done.resolve() }
  peer.node.addEventListener('connection:open', onOpen)
  init.signal.addEventListener('abort', onAbort, { once: true })
  try {
    // a direct connection may already exist (a punch that finished during the relayed ping)
    for (const c of peer.node.getConnections(remote)) candidate(c)
    if (pending.size > 0) {
      const protocols = await remoteProtocols(peer, remote, init.identifyWait ?? DEFAULT_IDENTIFY_WAIT, init.signal)
      // no such check for TCP: the other peer starts DCUtR, and some
      // implementations (rust-libp2p) run it without listing it in identify
      if (protocols != null && !protocols.includes(WEBRTC_SIGNALING_PROTOCOL)) settle('webrtc', `not tried: the peer does not speak ${WEBRTC_SIGNALING_PROTOCOL}`)
    }
    if (pending.has('webrtc') && result.conn == null) {
      const window = init.webrtcWindow ?? DEFAULT_WEBRTC_DIAL_WINDOW
      let running = 0
      const attempt = (): void => {
        running++
        const signal = AbortSignal.any([init.signal, cancelWebrtc.signal, AbortSignal.timeout(window)])
        // through the transport manager: the dial queue would cut the attempt at its per-address timeout
        nodeComponents(peer.node).transportManager.dial(webrtcAddrOf(relayed), { signal }).then((c) => { running--; candidate(c) }, (err: unknown) => {
          // the path fails with its last attempt (a failure, not a stall, needs no second one)
          if (--running > 0) return
          clearTimeout(hedge)
          hedge = undefined
          fail('webrtc', init.signal.aborted ? 'failed: no WebRTC connection before the dial timeout' : `failed: ${brief(err)}`)
        })
      }
      const hedgeDelay = init.webrtcHedgeDelay ?? DEFAULT_WEBRTC_HEDGE_DELAY
      hedge = hedgeDelay > 0
        ? setTimeout(() => {
          hedge = undefined
          if (running > 0 && result.conn == null && pending.has('webrtc') && !init.signal.aborted) attempt()
        }, hedgeDelay)
        : undefined
      attempt()
    }
    if (pending.size > 0 && !init.signal.aborted) await done.promise
    for (const path of pending) result.paths[path] = deferred[path] ?? 'failed: no direct connection before the dial timeout'
    return result
  } finally {
    clearTimeout(hedge)
    offFailure()
    peer.node.removeEventListener('connection:open', onOpen)
    init.signal.removeEventListener('abort', onAbort)
    cancelWebrtc.abort()
  }
}
