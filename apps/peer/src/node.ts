/**
 * The peer's composition and its background work: port-reusing TCP,
 * WebSockets, the circuit relay transport, optional WebRTC; natkit's hole
 * punching (DCUtR) - the last two as `--direct-paths` asks -, reservations kept on `--relay`, AutoNAT v2, optional
 * UPnP and DHT client; gossipsub pub/sub (signed, bounded); optional mDNS;
 * public interface addresses announced right away; a `--ping-interval` loop,
 * DHT self-announcement, and pub/sub messages as events.
 */
import { autoNATv2 } from '@libp2p/autonat-v2'
import { circuitRelayTransport, type CircuitRelayTransportInit } from '@libp2p/circuit-relay-v2'
import { gossipsub, StrictSign, TopicValidatorResult, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub'
import type { KadDHT, KadDHTInit } from '@libp2p/kad-dht'
import { tcp } from '@libp2p/tcp'
import { holePunch, type HolePunchInit, type HolePunchService } from '@natkit/holepunch'
import {
  DEFAULT_CONFIRM_TIMEOUT, DEFAULT_WEBRTC_ACCEPT_WINDOW, announceSelf, type AutonatGuard, confirmDirect, connectionManagerInit, inboundAdmissionInit, stopGuard, type StopGuard, type ConnectionManagerLimits, type InboundAdmissionInit, createNatkitNode, isLimited, keepBootstrapPeers, pingConnection, prepareNatkitNode, publicAddressConfirmation, reservationKeeper, relayDiscovery,
  type BaseServices, type RelayDiscovery, type RelayDiscoveryInit, type NatkitRunner, type PublicAddressConfirmation, type ReservationKeeper, type ReservationKeeperInit, type RunningNode,
  loadWebSockets
} from '@natkit/node'
import { autonatGuard } from '@natkit/node/autonat'
import { tcpReuse } from '@natkit/tcp-reuse'
import { directMessages, type DirectMessageEvent, type DirectMessages } from '@natkit/direct-message'
import { fileShare, type FileProgressEvent, type FileProvideEvent, type FileReceivedEvent, type FileShare, type FileSharedEvent, type FileWaitingEvent } from '@natkit/file-share'
import { PUBSUB_MAX_FRAME, planDirectPaths, type PeerOptions } from './options.js'
import { DEFAULT_NAT_DISCOVERY_LIFETIME_MAX_MS, DEFAULT_NAT_DISCOVERY_TIMEOUT, NatKnowledge, startNatDiscovery, type NatDiscoveryInit } from './nat.js'
import { MAX_NAT_OBSERVERS } from '@natkit/nat-behavior/defaults'
import { parseHostPort } from '@natkit/config'
import type { NatkitEvents } from '@natkit/events'
import type { Connection, Libp2p, PeerDiscovery, PeerDiscoveryEvents, PeerInfo, TypedEventTarget } from '@libp2p/interface'

/** The peer's own services (beside the base's identify and ping). */
export type PeerServices = {
  /** `--holepunch` */
  holepunch?: HolePunchService
  autonat: unknown
  /** one dial-back per AutoNAT request, requests rate-limited */
  autonatGuard: AutonatGuard
  /** `--upnp` */
  upnp?: unknown
  /** `--dht` */
  dht?: KadDHT
  publicAddrs: PublicAddressConfirmation
  /** with `--relay` */
  reservations?: ReservationKeeper
  /** without `--relay` (with `--bootstrap`, the DHT and `--relays` > 0): relays found in the DHT */
  relayDiscovery?: RelayDiscovery
  /** refuses STOP streams from relays this peer holds no reservation on */
  stopGuard: StopGuard
  /** gossipsub: signed messages (StrictSign), bounded frames */
  pubsub: GossipSub
  /** `--mdns` */
  mdns?: PeerDiscovery
  /** direct messages (`send`), over relayed connections too */
  dm: DirectMessages
  /** content-addressed files (`share`, `get`); providers announced in the DHT */
  files: FileShare
}

/** The running peer `createPeer` returns. */
export type PeerRunner = NatkitRunner<BaseServices & PeerServices>

/** The init the peer hands to each libp2p component that takes a limit or timeout, from the resolved options only. */
export interface PeerComposedInit {
  connectionManager: ConnectionManagerLimits
  /** the per-IP limit on pending inbound handshakes (the base's gater) */
  inboundAdmission: InboundAdmissionInit
  circuitTransport: CircuitRelayTransportInit
  /** `--holepunch` and `tcp` in `--direct-paths` */
  holepunch?: HolePunchInit
  /** `--webrtc` and `webrtc` in `--direct-paths`: the transport's ICE servers, and how long an inbound WebRTC connection is accepted */
  webrtc?: { iceServers: Array<{ urls: string[] }>, inboundUpgradeTimeout: number }
  /** `--dht` (client mode); `publicAddressesOnly`: peer records keep only public addresses (the public preset) */
  dht?: Omit<KadDHTInit, 'peerInfoMapper'> & { publicAddressesOnly: boolean }
  /** gossipsub: signature policy, frame bound, whether it runs over relayed connections; peer scoring is gossipsub's default */
  pubsub: Pick<GossipsubOpts, 'globalSignaturePolicy' | 'maxInboundDataLength' | 'runOnLimitedConnection' | 'emitSelf' | 'allowPublishToZeroTopicPeers'>
  /** `--mdns` (multicast on the LAN) */
  mdns?: Record<string, never>
  /** with `--relay`: the reservation keeper service (its `events` are added by `createPeer`) */
  reservationKeeper?: Omit<ReservationKeeperInit, 'events'>
  /** without `--relay`: relay discovery in the DHT (its `events` are added by `createPeer`) */
  relayDiscovery?: Omit<RelayDiscoveryInit, 'events'>
  /** `--nat-discovery` with `--stun`: NAT behaviour discovery at start (its result also reaches `holepunch` as `natBehavior`) */
  natDiscovery?: NatDiscoveryInit
}

/**
 * Delay (ms) before the DHT's first self-query, which every other DHT query
 * waits for: @libp2p/kad-dht waits 1000 ms, so `natkit-peer dial <peer id>`
 * idled ~1 s before its lookup. At 0 it runs as soon as the routing table has
 * a peer (the bootstrap node, dialled at start).
 *
 * @default 0
 */
export const DHT_INITIAL_SELF_QUERY_DELAY = 0

/** Pure: resolved peer options → the init of each component (a test proves each limit arrives). */
export function composeInit (p: PeerOptions): PeerComposedInit {
  const plan = planDirectPaths(p)
  return {
    connectionManager: connectionManagerInit(p),
    inboundAdmission: inboundAdmissionInit(p),
    circuitTransport: { reservationCompletionTimeout: p.dialTimeout },
    ...(plan.race.includes('tcp') ? { holepunch: { timeout: p.holepunchTimeout, attempts: p.holepunchAttempts, allowPrivateAddresses: p.allowPrivateAddresses, confirmDirect, confirmTimeout: DEFAULT_CONFIRM_TIMEOUT } } : {}),
    ...(plan.race.includes('webrtc') ? { webrtc: { iceServers: p.stun.length > 0 ? [{ urls: [...p.stun] }] : [], inboundUpgradeTimeout: DEFAULT_WEBRTC_ACCEPT_WINDOW } } : {}),
    // lab/local presets run on addresses js-libp2p would otherwise filter; only
    // the public preset strips private addresses from DHT records
    ...(p.dht ? { dht: { clientMode: true, protocol: p.dhtProtocol, initialQuerySelfInterval: DHT_INITIAL_SELF_QUERY_DELAY, publicAddressesOnly: p.network === 'public' } } : {}),
    pubsub: { globalSignaturePolicy: StrictSign, maxInboundDataLength: PUBSUB_MAX_FRAME, runOnLimitedConnection: p.pubsubRelayed, emitSelf: false, allowPublishToZeroTopicPeers: false },
    ...(p.mdns ? { mdns: {} } : {}),
    ...(p.relay.length > 0 ? { reservationKeeper: { relays: p.relay.map(String), retry: p.reservationRetry, retryMax: p.reservationRetryMax, timeout: p.dialTimeout } } : {}),
    ...(p.relay.length === 0 && p.relays > 0 && p.dht && p.bootstrap.length > 0 ? { relayDiscovery: { network: p.network, relays: p.relays, retry: p.reservationRetry, retryMax: p.reservationRetryMax, timeout: p.dialTimeout } } : {}),
    ...(p.natDiscovery && p.stun.length > 0 ? { natDiscovery: { servers: p.stun.slice(0, MAX_NAT_OBSERVERS).map(stunEndpoint), timeoutMs: DEFAULT_NAT_DISCOVERY_TIMEOUT, lifetimeMaxMs: DEFAULT_NAT_DISCOVERY_LIFETIME_MAX_MS } } : {})
  }
}

/** `stun:HOST:PORT` (checked by the option) → the endpoint discovery asks. */
function stunEndpoint (url: string): { address: string, port: number } {
  const { host, port } = parseHostPort(url.replace(/^stun:/, ''))
  return { address: host, port }
}

/** Builds the peer's node (not started); `start()` also starts the ping loop and DHT self-announcement. */
export async function createPeer (options: PeerOptions, events: NatkitEvents): Promise<PeerRunner> {
  const webSockets = await loadWebSockets()
  const c = composeInit(options)
  const listen = options.listen.map(String)
  const transports = [options.tcpReuse ? tcpReuse() : tcp(), webSockets(), circuitRelayTransport(c.circuitTransport)]
  if (c.webrtc != null) {
    // optional transports and services are loaded only when they run (--no-webrtc never loads node-datachannel)
    const { webRTC } = await import('@libp2p/webrtc')
    transports.push(webRTC({ rtcConfiguration: { iceServers: c.webrtc.iceServers } }))
    if (!listen.includes('/webrtc')) listen.push('/webrtc')
  }
  const dht = c.dht != null ? await loadDht(c.dht) : undefined
  const upnpPortMapping = options.upnp ? (await import('@natkit/upnp')).upnpPortMapping : undefined
  const mdns = c.mdns != null ? (await import('@libp2p/mdns')).mdns : undefined
  const nat = c.natDiscovery != null ? new NatKnowledge() : undefined
  return await prepareNatkitNode({
    role: 'peer',
    options,
    events,
    create: async (privateKey) => await createNatkitNode<PeerServices>({
      options,
      privateKey,
      listen,
      transports,
      ...(c.webrtc != null ? { inboundUpgradeTimeout: c.webrtc.inboundUpgradeTimeout } : {}),
      services: {
        ...(c.holepunch != null ? { holepunch: holePunch({ ...c.holepunch, ...(nat != null ? { natBehavior: nat.get } : {}) }) } : {}),
        autonat: autoNATv2(),
        autonatGuard: autonatGuard(),
        // maps the listen port as soon as the gateway answers and announces it (the
        // gateway reports the mapping: no AutoNAT confirmations needed)
        ...(upnpPortMapping != null ? { upnp: upnpPortMapping({ events }) } : {}),
        ...(dht != null ? { dht } : {}),
        publicAddrs: publicAddressConfirmation({ events }),
        stopGuard: stopGuard({ events }),
        pubsub: gossipsub(c.pubsub),
        ...(c.mdns != null && mdns != null ? { mdns: mdns(c.mdns) } : {}),
        dm: directMessages({ maxTextBytes: options.pubsubMaxMessage }),
        files: fileShare(),
        ...(c.reservationKeeper != null ? { reservations: reservationKeeper({ ...c.reservationKeeper, events }) } : {}),
        ...(c.relayDiscovery != null ? { relayDiscovery: relayDiscovery({ ...c.relayDiscovery, events }) } : {})
      }
    }),
    afterStart: (node, running) => {
      // first: its mapping and allocation tests take a few round trips, done before a punch needs them
      if (c.natDiscovery != null && nat != null) startNatDiscovery(c.natDiscovery, nat, events, running)
      // after start resolved: every listener is up, so relays are dialled from the listen port
      node.services.reservations?.keep()
      node.services.relayDiscovery?.keep()
      if (options.pingInterval > 0) startPingLoop(node, events, running, options.pingInterval)
      if (options.bootstrap.length > 0) {
        const announce = options.dht ? startAnnouncing(node, events, running) : undefined
        // after a bootstrap node restarts: connect again and re-publish this peer's record there
        keepBootstrapPeers(node, {
          list: options.bootstrap.map(String),
          dialTimeout: options.dialTimeout,
          retry: options.reservationRetry,
          retryMax: options.reservationRetryMax,
          onReconnect: (peer) => {
            events.emit('info', { message: `reconnected to bootstrap peer ${peer.toString()}` })
            announce?.()
          }
        }, running)
      }
      reportPubsub(node.services.pubsub, events, options.pubsubMaxMessage, running)
      if (options.pubsubRelayed) reidentifyOnUpgrade(node, running)
      reportMessagesAndFiles(node.services.dm, node.services.files, events, running)
      if (node.services.mdns != null) dialDiscovered(node, node.services.mdns, options.dialTimeout, running)
    }
  })
}

/** The DHT client of `--dht`, loaded only when it runs. */
async function loadDht ({ publicAddressesOnly, ...init }: NonNullable<PeerComposedInit['dht']>): Promise<ReturnType<typeof import('@libp2p/kad-dht').kadDHT>> {
  const { kadDHT, passthroughMapper, removePrivateAddressesMapper } = await import('@libp2p/kad-dht')
  return kadDHT({ ...init, peerInfoMapper: publicAddressesOnly ? removePrivateAddressesMapper : passthroughMapper })
}

/** Pings every connection each `interval` ms (`ping` events). */
function startPingLoop (node: Libp2p, events: NatkitEvents, running: RunningNode, interval: number): void {
  const timer = setInterval(() => {
    for (const conn of node.getConnections()) {
      pingConnection(conn, { signal: AbortSignal.timeout(Math.min(interval, 10_000)) }).then((rttMs) => {
        events.emit('ping', { remotePeer: conn.remotePeer.toString(), rttMs, limited: isLimited(conn), remoteAddr: conn.remoteAddr.toString() })
      }, () => {})
    }
  }, interval)
  timer.unref()
  running.onStop(() => { clearInterval(timer) })
}

/** Dials to peers found on the LAN (mDNS) in flight at once; more found meanwhile are skipped until they are announced again. @default 8 */
export const MAX_DISCOVERY_DIALS = 8

/**
 * Connects to each peer a discovery service (mDNS) finds and this node is not
 * connected to yet: libp2p 3 does not dial discovered peers by itself. At most
 * {@link MAX_DISCOVERY_DIALS} dials at once, each bounded by `dialTimeout`.
 */
export function dialDiscovered (node: Libp2p, discovery: TypedEventTarget<PeerDiscoveryEvents>, dialTimeout: number, running: Pick<RunningNode, 'onStop'>): void {
  const controller = new AbortController()
  const pending = new Set<string>()
  const onPeer = ({ detail: info }: CustomEvent<PeerInfo>): void => {
    const id = info.id.toString()
    if (info.id.equals(node.peerId) || pending.has(id) || pending.size >= MAX_DISCOVERY_DIALS || node.getConnections(info.id).length > 0) return
    pending.add(id)
    void node.peerStore.merge(info.id, { multiaddrs: info.multiaddrs })
      .then(async () => await node.dial(info.id, { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(dialTimeout)]) }))
      .catch(() => {})
      .finally(() => { pending.delete(id) })
  }
  discovery.addEventListener('peer', onPeer)
  running.onStop(() => {
    discovery.removeEventListener('peer', onPeer)
    controller.abort()
  })
}

/** `file:progress` is emitted at most this often per download (and once at the end), in ms. @default 500 */
export const DEFAULT_PROGRESS_INTERVAL = 500

/** Emits `message` for direct messages and the `file:*` events of transfers (progress throttled, with rate and ETA). */
function reportMessagesAndFiles (dm: DirectMessages, files: FileShare, events: NatkitEvents, running: RunningNode): void {
  const onMessage = (e: CustomEvent<DirectMessageEvent>): void => { events.emit('message', { from: e.detail.from, text: e.detail.text }) }
  const onShared = (e: CustomEvent<FileSharedEvent>): void => { events.emit('file:shared', { path: e.detail.path, cid: e.detail.cid, bytes: e.detail.bytes }) }
  const onWaiting = (e: CustomEvent<FileWaitingEvent>): void => { events.emit('file:waiting', { cid: e.detail.cid, peer: e.detail.peer, message: e.detail.message }) }
  const onReceived = (e: CustomEvent<FileReceivedEvent>): void => { events.emit('file:received', { cid: e.detail.cid, path: e.detail.path, bytes: e.detail.bytes, from: e.detail.from }) }
  const onProvided = ({ detail: d }: CustomEvent<FileProvideEvent>): void => {
    if (d.error != null) events.emit('warn', { message: `announcing ${d.cid} in the DHT failed: ${d.error}` })
    else events.emit('info', { message: `announced ${d.cid} in the DHT` })
  }
  // one entry per download in progress: start time and bytes then, last report
  const progress = new Map<string, { t0: number, b0: number, last: number }>()
  const onProgress = ({ detail: d }: CustomEvent<FileProgressEvent>): void => {
    const now = performance.now()
    let p = progress.get(d.cid)
    if (p == null) { p = { t0: now, b0: d.bytes, last: 0 }; progress.set(d.cid, p) }
    const done = d.bytes >= d.total
    if (!done && now - p.last < DEFAULT_PROGRESS_INTERVAL) return
    p.last = now
    if (done) progress.delete(d.cid)
    const seconds = (now - p.t0) / 1000
    const rate = seconds > 0 ? Math.round((d.bytes - p.b0) / seconds) : undefined
    events.emit('file:progress', { cid: d.cid, bytes: d.bytes, total: d.total, ...(rate != null ? { bytesPerSecond: rate } : {}), ...(rate != null && rate > 0 ? { etaMs: Math.round((d.total - d.bytes) / rate * 1000) } : {}) })
  }
  dm.addEventListener('message', onMessage)
  files.addEventListener('file:shared', onShared)
  files.addEventListener('file:waiting', onWaiting)
  files.addEventListener('file:received', onReceived)
  files.addEventListener('file:provided', onProvided)
  files.addEventListener('file:progress', onProgress)
  running.onStop(() => {
    dm.removeEventListener('message', onMessage)
    files.removeEventListener('file:shared', onShared)
    files.removeEventListener('file:waiting', onWaiting)
    files.removeEventListener('file:received', onReceived)
    files.removeEventListener('file:provided', onProvided)
    files.removeEventListener('file:progress', onProgress)
  })
}

/**
 * Publishes this peer's DHT provider record at start and again whenever its
 * relay (circuit) addresses change; returns a function that publishes it
 * again (e.g. after a bootstrap node restarted). The trigger is the
 * `listening` event, not `reservation`: a reservation is reported before the
 * circuit listener adds its address, and a record published then would not
 * name the relay.
 */
function startAnnouncing (node: Libp2p, events: NatkitEvents, running: RunningNode): () => void {
  const controller = new AbortController()
  let announcing: Promise<void> | undefined
  let current: AbortController | undefined
  let again = false
  /** `restart`: abandon an announcement in flight (e.g. stuck on a bootstrap node that restarted) and publish anew */
  const announce = (restart = false): void => {
    if (announcing != null) {
      again = true
      if (restart) current?.abort()
      return
    }
    const attempt = new AbortController()
    current = attempt
    announcing = announceSelf(node, AbortSignal.any([controller.signal, attempt.signal])).then(() => {
      events.emit('info', { message: 'published this peer\'s addresses to the DHT' })
    }, (err: Error) => {
      if (!controller.signal.aborted && !attempt.signal.aborted) events.emit('warn', { message: `DHT announce failed: ${err.message}` })
    }).finally(() => {
      announcing = undefined
      if (again && !controller.signal.aborted) { again = false; announce() }
    })
  }
  let circuits = ''
  const off = events.on('listening', (e) => {
    const now = e.addrs.filter(a => a.includes('/p2p-circuit')).sort().join(' ')
    if (now === circuits) return
    circuits = now
    announce()
  })
  announce()
  running.onStop(async () => { off(); controller.abort(); await announcing })
  return () => { announce(true) }
}

/**
 * A gossipsub validator that accepts only UTF-8 text of at most `maxBytes`;
 * anything else is rejected (gossipsub lowers the sender's score). Messages
 * are signed (StrictSign), so gossipsub checked the author's signature before.
 */
export function textValidator (maxBytes: number): (peer: unknown, msg: { data: Uint8Array }) => TopicValidatorResult {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  return (_peer, msg) => {
    if (msg.data.byteLength > maxBytes) return TopicValidatorResult.Reject
    try {
      decoder.decode(msg.data)
      return TopicValidatorResult.Accept
    } catch {
      return TopicValidatorResult.Reject
    }
  }
}

/** Bound on the identify exchange `reidentifyOnUpgrade` runs, in ms. @default 5000 */
export const DEFAULT_REIDENTIFY_TIMEOUT = 5_000

/**
 * When a relayed connection closes while a direct one to the same peer stays
 * (the upgrade: DCUtR closes the relayed one), runs identify again on the
 * direct one. Its `peer:identify` makes gossipsub open its stream there: the
 * stream it had on the relayed connection closed with it, and gossipsub
 * skipped the direct connection when it opened, because a stream existed then
 * (otherwise pub/sub to that peer stops until something else reconnects).
 */
function reidentifyOnUpgrade (node: Libp2p<BaseServices>, running: RunningNode): void {
  const controller = new AbortController()
  const onClose = ({ detail: closed }: CustomEvent<Connection>): void => {
    if (closed.limits == null) return
    const direct = node.getConnections(closed.remotePeer).find(c => c.status === 'open' && c.limits == null)
    if (direct == null) return
    node.services.identify.identify(direct, { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(DEFAULT_REIDENTIFY_TIMEOUT)]) }).catch(() => {})
  }
  node.addEventListener('connection:close', onClose)
  running.onStop(() => {
    node.removeEventListener('connection:close', onClose)
    controller.abort()
  })
}

/** Emits `pubsub:message` for each (validated, signed) message and `pubsub:peer` when a peer joins or leaves a topic this node joined. */
function reportPubsub (pubsub: GossipSub, events: NatkitEvents, maxBytes: number, running: RunningNode): void {
  const decoder = new TextDecoder()
  const onMessage = (evt: CustomEvent<import('@libp2p/gossipsub').Message>): void => {
    const msg = evt.detail
    if (msg.type !== 'signed' || msg.data.byteLength > maxBytes) return
    events.emit('pubsub:message', { topic: msg.topic, from: msg.from.toString(), text: decoder.decode(msg.data) })
  }
  const onSubscription = (evt: CustomEvent<import('@libp2p/gossipsub').SubscriptionChangeData>): void => {
    const joined = new Set(pubsub.getTopics())
    for (const s of evt.detail.subscriptions) {
      if (joined.has(s.topic)) events.emit('pubsub:peer', { topic: s.topic, peer: evt.detail.peerId.toString(), subscribed: s.subscribe })
    }
  }
  pubsub.addEventListener('message', onMessage)
  pubsub.addEventListener('subscription-change', onSubscription)
  running.onStop(() => {
    pubsub.removeEventListener('message', onMessage)
    pubsub.removeEventListener('subscription-change', onSubscription)
  })
}
