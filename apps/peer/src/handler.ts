import { runRole, type ParsedArgs } from '@natkit/cli'
import { peerIdFromString } from '@libp2p/peer-id'
import { isLoopback, isPrivate } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_CONFIRM_TIMEOUT, dialRetrying, findPeerAddrs, isLimited, pingConnection, raceDirectPaths, withPeer } from '@natkit/node'
import { parseContentId } from '@natkit/file-share'
import { CommandError, helpText, runShell, ShellOutput, type ShellCommand } from '@natkit/shell'
import { createPeer, textValidator, type PeerRunner } from './node.js'
import { DialTargetError, isWebrtcTarget, optionsForTarget, planDirectPaths, type DirectPath, type PeerOptions } from './options.js'
import type { Connection, PeerId } from '@libp2p/interface'

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
  if (parsed.command === 'shell') return await shell(parsed.options)
  if (parsed.command !== 'dial') return await runRole({ name: 'natkit-peer', options: parsed.options, create: async (events) => await createPeer(parsed.options, events) })
  const target = parsed.args[0]
  parseDialTarget(target)
  // a one-shot dial needs no reservations of its own: no relays are looked up for it
  const o = { ...optionsForTarget(parsed.options, target), relays: 0 }
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
      found.push(...addrs.map(ma => withPeer(ma, target)))
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
    // a failure in transit (no ARP or SYN answer on a lossy link, a dial
    // timeout) is tried again within --timeout; a refusal or denial is not
    conn = await dialRetrying(async (signal) => await peer.node.dial(addrs, { signal }), {
      signal,
      onRetry: (attempt, err) => { peer.events.emit('info', { message: `dial ${target}: attempt ${attempt} failed in transit (${err.message.slice(0, 160)}), trying again` }) }
    })
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

// ---------------------------------------------------------------------------
// `natkit-peer shell`: the peer with a command shell (see @natkit/shell)

/** What the shell remembers between commands: the last RTT per peer, the last hole punch outcome. */
interface ShellState {
  rtt: Map<string, number>
  holepunch?: string
}

/** Runs the peer and its shell: interactive on a terminal, one command per line from stdin otherwise (`--json`). */
async function shell (o: PeerOptions): Promise<number> {
  const out = new ShellOutput(process.stdout)
  const interactive = !o.json && process.stdin.isTTY
  return await runRole({
    name: 'natkit-peer',
    options: o,
    out,
    create: async (events) => await createPeer(o, events),
    main: async (peer) => {
      const state: ShellState = { rtt: new Map() }
      peer.events.on('ping', (e) => { state.rtt.set(e.remotePeer, e.rttMs) })
      peer.events.on('holepunch:success', (e) => { state.holepunch = `direct with ${e.remotePeer} via ${e.remoteAddr}` })
      peer.events.on('holepunch:failure', (e) => { state.holepunch = `failed with ${e.remotePeer}: ${e.reason}` })
      return await runShell({
        input: process.stdin,
        output: process.stdout,
        interactive,
        events: peer.events,
        execute: async (cmd, signal) => { await execute(peer, o, state, cmd, signal) },
        background: (cmd) => cmd.command === 'get' || cmd.command === 'dial',
        complete: {
          peers: () => peer.node.getPeers().map(String),
          topics: () => peer.node.services.pubsub.getTopics(),
          files: () => peer.node.services.files.list().map(f => f.cid)
        }
      }, out)
    }
  })
}

/** `tcp`, `ws`, `webrtc` or `relayed`, from a connection's remote address. */
function transportOf (conn: Connection): string {
  const names = conn.remoteAddr.getComponents().map(c => c.name)
  if (names.includes('p2p-circuit')) return 'relayed'
  if (names.includes('webrtc') || names.includes('webrtc-direct')) return 'webrtc'
  if (names.includes('ws') || names.includes('wss')) return 'ws'
  return names.includes('tcp') ? 'tcp' : names.at(-2) ?? 'unknown'
}

function parsePeer (command: string, text: string): PeerId {
  try {
    return peerIdFromString(text)
  } catch {
    throw new CommandError(command, `"${text.slice(0, 80)}" is not a peer id`)
  }
}

/** Runs one shell command; results are `command:result` events (and the command's own events), failures throw one-line errors. */
async function execute (peer: PeerRunner, o: PeerOptions, state: ShellState, cmd: ShellCommand, signal: AbortSignal): Promise<void> {
  const { node, events } = peer
  const pubsub = node.services.pubsub
  const result = (lines: string[], data?: unknown): void => { events.emit('command:result', { command: cmd.command, lines, ...(data !== undefined ? { data } : {}) }) }
  switch (cmd.command) {
    case 'help': return result(helpText(cmd.topic))
    case 'quit': return
    case 'peers': {
      const rows = node.getConnections().map(c => ({ peer: c.remotePeer.toString(), direct: !isLimited(c), transport: transportOf(c), addr: c.remoteAddr.toString(), ...(state.rtt.has(c.remotePeer.toString()) ? { rttMs: state.rtt.get(c.remotePeer.toString()) } : {}) }))
      return result(rows.length === 0 ? ['no connections'] : rows.map(r => `${r.peer} ${r.direct ? 'direct' : 'relayed'} ${r.transport}${r.rttMs != null ? ` ${r.rttMs} ms` : ''} ${r.addr}`), rows)
    }
    case 'addrs': {
      const addrs = node.getMultiaddrs().map(String)
      return result(addrs.length === 0 ? ['no addresses yet'] : addrs, addrs)
    }
    case 'nat': {
      const addrs = node.getMultiaddrs()
      const relayed = addrs.filter(a => a.getComponents().some(c => c.name === 'p2p-circuit')).map(String)
      const direct = addrs.filter(a => !a.getComponents().some(c => c.name === 'p2p-circuit'))
      const pub = direct.filter(a => !isPrivate(a) && !isLoopback(a)).map(String)
      const data = { publicAddrs: pub, relayedAddrs: relayed, reachable: pub.length > 0 ? 'directly (public address)' : relayed.length > 0 ? 'through a relay only' : 'not from outside this network', holepunch: state.holepunch ?? 'no attempt yet' }
      return result([`reachable: ${data.reachable}`, `public addresses: ${pub.join(', ') || 'none'}`, `relayed addresses: ${relayed.join(', ') || 'none (use --relay, or --bootstrap to find relays in the DHT)'}`, `last hole punch: ${data.holepunch}`], data)
    }
    case 'dial': {
      parseDialTarget(cmd.target)
      const r = await dialPeer(peer, o, cmd.target, o.timeout)
      if (r.outcome === 'failed') throw new CommandError('dial', r.reason ?? 'not connected')
      return
    }
    case 'ping': {
      const id = parsePeer('ping', cmd.peer)
      const conn = node.getConnections(id)[0] ?? await node.dial(id, { signal: AbortSignal.any([signal, AbortSignal.timeout(o.dialTimeout)]) })
      const rttMs = await pingConnection(conn, { signal })
      events.emit('ping', { remotePeer: id.toString(), rttMs, limited: isLimited(conn), remoteAddr: conn.remoteAddr.toString() })
      return
    }
    case 'topics': {
      const rows = pubsub.getTopics().map(topic => ({ topic, peers: pubsub.getSubscribers(topic).map(String) }))
      return result(rows.length === 0 ? ['no topics joined'] : rows.map(r => `${r.topic}: ${r.peers.length} peer(s)${r.peers.length > 0 ? ` ${r.peers.join(', ')}` : ''}`), rows)
    }
    case 'join': {
      const topics = pubsub.getTopics()
      if (topics.includes(cmd.topic)) return result([`already joined ${cmd.topic}`])
      if (topics.length >= o.pubsubMaxTopics) throw new CommandError('join', `already in ${topics.length} topics (--pubsub-max-topics ${o.pubsubMaxTopics}); leave one first`)
      pubsub.topicValidators.set(cmd.topic, textValidator(o.pubsubMaxMessage))
      pubsub.subscribe(cmd.topic)
      result([`joined ${cmd.topic}`])
      // peers that joined before us
      for (const p of pubsub.getSubscribers(cmd.topic)) events.emit('pubsub:peer', { topic: cmd.topic, peer: p.toString(), subscribed: true })
      return
    }
    case 'leave': {
      if (!pubsub.getTopics().includes(cmd.topic)) throw new CommandError('leave', `not in topic ${cmd.topic}`)
      pubsub.unsubscribe(cmd.topic)
      pubsub.topicValidators.delete(cmd.topic)
      return result([`left ${cmd.topic}`])
    }
    case 'say': return await say(peer, o, cmd.topic, cmd.text, result)
    case 'send': {
      const to = parsePeer('send', cmd.peer)
      await node.services.dm.send(to, cmd.text, { signal })
      return result([`delivered to ${to.toString()}`], { to: to.toString() })
    }
    case 'share': {
      const f = await node.services.files.share(cmd.path, { signal })
      return result([`sharing ${f.name} as ${f.cid} (${f.bytes} bytes)`], f)
    }
    case 'files': {
      const list = node.services.files.list()
      return result(list.length === 0 ? ['no files shared'] : list.map(f => `${f.cid} ${f.bytes} ${f.name}`), list)
    }
    case 'get': return await get(peer, cmd.ref, cmd.dest, signal, result)
  }
}

/** Most connected peers `get <name>` asks for a file by name (a CID is found through the DHT instead). @default 8 */
export const MAX_NAME_LOOKUP_PEERS = 8

/**
 * `get <cid>`: providers found through the DHT; `get <name>`: the connected
 * peers (direct ones first, at most {@link MAX_NAME_LOOKUP_PEERS}) are asked
 * for a file they share under that name. `file:received` follows verification.
 */
async function get (peer: PeerRunner, ref: string, dest: string | undefined, signal: AbortSignal, result: (lines: string[], data?: unknown) => void): Promise<void> {
  const files = peer.node.services.files
  const opts = { signal, ...(dest != null ? { dest } : {}) }
  let byName = false
  try {
    parseContentId(ref)
  } catch {
    byName = true
  }
  if (!byName) {
    const r = await files.get(ref, opts)
    return result([`got ${r.path} (${r.bytes} bytes${r.resumedFrom > 0 ? `, resumed at ${r.resumedFrom}` : ''}) from ${r.from}`], r)
  }
  const conns = peer.node.getConnections().sort((a, b) => Number(isLimited(a)) - Number(isLimited(b)))
  const asked = [...new Set(conns.map(c => c.remotePeer.toString()))].slice(0, MAX_NAME_LOOKUP_PEERS)
  if (asked.length === 0) throw new CommandError('get', `"${ref.slice(0, 80)}" is not a CID, and no connected peer to ask for a file of that name`)
  const failures: string[] = []
  for (const id of asked) {
    try {
      const r = await files.get(ref, { ...opts, from: peerIdFromString(id) })
      return result([`got ${r.path} (${r.bytes} bytes) from ${r.from}`], r)
    } catch (err) {
      if (signal.aborted) throw err
      failures.push(`${id}: ${(err as Error).message.split('\n')[0]}`)
    }
  }
  throw new CommandError('get', `no connected peer delivered "${ref.slice(0, 80)}" (${failures.join('; ')})`)
}

/** How long `say` waits for gossipsub to (re)open its streams to a topic's peers before publishing again, in ms. @default 2000 */
export const DEFAULT_SAY_STREAM_WAIT = 2_000
/** Publish attempts of one `say`. @default 3 */
export const MAX_SAY_ATTEMPTS = 3

/**
 * `say`: publishes text on a joined topic; says why when no peer can get it.
 * Right after a relayed connection became direct, gossipsub's streams to that
 * peer closed with the relayed connection and the new ones may not be open
 * yet: a publish then reaches nobody. `say` then waits for the next
 * subscription exchange (a new stream carries one), at most
 * {@link DEFAULT_SAY_STREAM_WAIT} ms, and publishes again (only when nobody got
 * it, so nobody gets it twice), at most {@link MAX_SAY_ATTEMPTS} times.
 */
async function say (peer: PeerRunner, o: PeerOptions, topic: string, text: string, result: (lines: string[], data?: unknown) => void): Promise<void> {
  const pubsub = peer.node.services.pubsub
  if (!pubsub.getTopics().includes(topic)) throw new CommandError('say', `join ${topic} first`)
  const data = new TextEncoder().encode(text)
  if (data.byteLength > o.pubsubMaxMessage) throw new CommandError('say', `message is ${data.byteLength} bytes, more than --pubsub-max-message ${o.pubsubMaxMessage}`)
  for (let attempt = 1; ; attempt++) {
    if (pubsub.getSubscribers(topic).length === 0) {
      const relayedOnly = peer.node.getConnections().filter(c => isLimited(c) && !peer.node.getConnections(c.remotePeer).some(d => !isLimited(d)))
      const why = relayedOnly.length > 0 && !o.pubsubRelayed ? ` (${relayedOnly.length} peer(s) are connected only through a relay, and --no-pubsub-relayed keeps pub/sub off relayed connections)` : ''
      throw new CommandError('say', `no peer has joined ${topic} yet${why}`)
    }
    const recipients = await pubsub.publish(topic, data).then(r => r.recipients, (err: Error) => {
      // subscribers known, but no stream to any of them
      if (err.message.includes('NoPeersSubscribedToTopic')) return []
      throw err
    })
    if (recipients.length > 0) {
      const relayed = recipients.filter(p => !peer.node.getConnections(p).some(c => !isLimited(c))).map(String)
      return result([`sent to ${recipients.length} peer(s)${relayed.length > 0 ? `; ${relayed.length} through a relay, within its data limit (${relayed.join(', ')})` : ''}`], { recipients: recipients.map(String), relayed, attempts: attempt })
    }
    if (attempt >= MAX_SAY_ATTEMPTS) throw new CommandError('say', `gossipsub has no open stream to the ${pubsub.getSubscribers(topic).length} peer(s) on ${topic} (after ${attempt} attempts); try again`)
    await subscriptionExchange(pubsub, DEFAULT_SAY_STREAM_WAIT)
  }
}

/** Resolves at the next subscription exchange of gossipsub (a new stream carries one), or after `ms`. */
async function subscriptionExchange (pubsub: PeerRunner['node']['services']['pubsub'], ms: number): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>()
  const timer = setTimeout(resolve, ms)
  const onChange = (): void => { resolve() }
  pubsub.addEventListener('subscription-change', onChange)
  try {
    await promise
  } finally {
    clearTimeout(timer)
    pubsub.removeEventListener('subscription-change', onChange)
  }
}
