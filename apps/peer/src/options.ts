import { parseRoleArgs, type ParseInit, type ParsedArgs } from '@natkit/cli'
import { DEFAULT_DISCOVERED_RELAYS, DEFAULT_RESERVATION_RETRY, DEFAULT_RESERVATION_RETRY_MAX, MAX_DISCOVERED_RELAYS } from '@natkit/node/defaults'
import type { DirectPathPlan } from '@natkit/node'
import { UserError } from '@natkit/events'
import { DHT_PROTOCOL_SPEC, checkStunUrl, defineRole, spec, type CommonOptions } from '@natkit/config'

// ---------------------------------------------------------------------------
// named defaults

/** Upper bound of `--pubsub-max-message`: gossipsub's frames are bounded at {@link PUBSUB_MAX_FRAME}. */
export const MAX_PUBSUB_MESSAGE = 64 * 1024
/**
 * Largest gossipsub RPC frame read from a peer (gossipsub's own default is
 * 4 MiB): room for a batch of maximum-size messages plus control messages.
 */
export const PUBSUB_MAX_FRAME = 1024 * 1024

/** Default of `listen`: an ephemeral TCP port. */
export const DEFAULT_PEER_LISTEN: readonly string[] = Object.freeze(['/ip4/0.0.0.0/tcp/0'])
export const DEFAULT_HOLEPUNCH = true
export const DEFAULT_HOLEPUNCH_TIMEOUT = 5_000
export const DEFAULT_HOLEPUNCH_ATTEMPTS = 3
export const MAX_HOLEPUNCH_ATTEMPTS = 10
export const DEFAULT_TCP_REUSE = true
export const DEFAULT_WEBRTC = true
/**
 * Ask a UPnP IGD router for port mappings. Off by default: it multicasts SSDP
 * searches on the local network and changes the user's router, so it is
 * opt-in (`--upnp`).
 */
export const DEFAULT_UPNP = false
export const DEFAULT_DHT = true
/**
 * Discover what the NAT does at start through the `--stun` servers (in the
 * background, bounded): emits `nat` and tells hole punching which side is the
 * hard one. Needs `--stun`; `--no-nat-discovery` turns it off.
 */
export const DEFAULT_NAT_DISCOVERY = true
export const DEFAULT_PING_INTERVAL = 0
export const DEFAULT_PEER_TIMEOUT = 30_000
export const DEFAULT_ALLOW_PRIVATE_ADDRESSES = false
/**
 * Discover peers on the LAN with mDNS. Off by default: it sends multicast on
 * every interface, so it is opt-in (`--mdns`) and never on in tests outside
 * lab namespaces.
 */
export const DEFAULT_MDNS = false
/**
 * Largest pub/sub message text (`say`) in bytes: bigger ones are refused
 * before publishing and rejected (peer-score penalty) when received.
 */
export const DEFAULT_PUBSUB_MAX_MESSAGE = 4 * 1024
/** Most topics joined at once. */
export const DEFAULT_PUBSUB_MAX_TOPICS = 64
/**
 * Run gossipsub over relayed (limited) connections too. Its streams then count
 * against the relay's data and duration limits (128 KiB, 2 min by default);
 * once the connection is direct they no longer do.
 */
export const DEFAULT_PUBSUB_RELAYED = true

/** The ways a relayed connection can become direct: `tcp` (DCUtR TCP hole punching) and `webrtc` (WebRTC signalled over the relay). */
export const DIRECT_PATHS = ['tcp', 'webrtc'] as const
export type DirectPath = typeof DIRECT_PATHS[number]
/** Default of `directPaths`: race every direct path. */
export const DEFAULT_DIRECT_PATHS: readonly DirectPath[] = Object.freeze([...DIRECT_PATHS])

/** `--direct-paths` item check: one of {@link DIRECT_PATHS}. */
export function checkDirectPath (value: string): string | undefined {
  return (DIRECT_PATHS as readonly string[]).includes(value) ? undefined : `is not a direct path (use ${DIRECT_PATHS.join(', ')})`
}

export interface PeerOptions extends CommonOptions {
  role: 'peer'
  /**
   * Relays to reserve a slot on; each must end with `/p2p/<peerId>`.
   *
   * @default []
   */
  relay: string[]
  /**
   * Without `--relay` (and with `--bootstrap` and the DHT): relays to find in
   * the DHT (providers of the network's relay key, see
   * docs/relay-discovery.md) and keep a reservation on, fastest first; a lost
   * one is replaced. 0 = find none. Ignored with `--relay`.
   *
   * @default 2
   */
  relays: number
  /**
   * Attempt DCUtR hole punching over relayed connections.
   *
   * @default true
   */
  holepunch: boolean
  /**
   * Timeout of one hole punch attempt in milliseconds.
   *
   * @default 5000 (5s)
   */
  holepunchTimeout: number
  /**
   * Hole punch attempts per relayed connection (1-10).
   *
   * @default 3
   */
  holepunchAttempts: number
  /**
   * Bind outgoing TCP dials to the listen port (SO_REUSEPORT) so NAT mappings match.
   *
   * @default true
   */
  tcpReuse: boolean
  /**
   * Ask the router for port mappings (UPnP IGD, via @natkit/upnp) and
   * announce the mapped address the gateway reports. Opt-in: it sends SSDP
   * multicast on the LAN and changes the router's configuration.
   *
   * @default false
   */
  upnp: boolean
  /**
   * Enable the WebRTC (UDP) transport.
   *
   * @default true
   */
  webrtc: boolean
  /**
   * STUN servers (`stun:HOST:PORT`). No public STUN server is ever used by default.
   *
   * @default []
   */
  stun: string[]
  /**
   * With `--stun`: discover the NAT's behaviour at start (mapping,
   * allocation, filtering, hairpinning; `nat` event) and use it in hole
   * punching.
   *
   * @default true
   */
  natDiscovery: boolean
  /**
   * First delay before retrying a failed reservation in milliseconds (doubles
   * each time, up to `reservationRetryMax`; each delay loses a random part of
   * up to half, so peers do not retry in lockstep). While a relay is
   * unreachable its TCP address is probed every second and the reservation is
   * retried as soon as it accepts connections. The same schedule redials lost
   * `--bootstrap` peers.
   *
   * @default 2000 (2s)
   */
  reservationRetry: number
  /**
   * Upper bound of the reservation retry delay in milliseconds.
   *
   * @default 60000 (60s)
   */
  reservationRetryMax: number
  /**
   * Run a Kademlia DHT client/server.
   *
   * @default true
   */
  dht: boolean
  /**
   * Kademlia protocol id.
   *
   * @default '/natkit/kad/1.0.0' for `local`/`lab`; '/ipfs/kad/1.0.0' for `public`
   */
  dhtProtocol: string
  /**
   * Ping connected peers this often in milliseconds; 0 = off.
   *
   * @default 0
   */
  pingInterval: number
  /**
   * Direct paths raced when a peer is reached through a relay: `tcp` (DCUtR
   * TCP hole punching, needs `holepunch`) and `webrtc` (WebRTC signalled over
   * the relayed connection, needs `webrtc`). A path left out is neither tried
   * nor accepted as an upgrade.
   *
   * @default ['tcp', 'webrtc']
   */
  directPaths: DirectPath[]
  /**
   * Overall timeout of `natkit-peer dial` in milliseconds.
   *
   * @default 30000 (30s)
   */
  timeout: number
  /**
   * Treat private/loopback addresses as hole punch candidates (LAN/loopback tests).
   *
   * @default false
   */
  allowPrivateAddresses: boolean
  /**
   * Discover peers on the LAN with mDNS (multicast): opt-in.
   *
   * @default false
   */
  mdns: boolean
  /**
   * Largest pub/sub message text in bytes.
   *
   * @default 4096 (4 KiB)
   */
  pubsubMaxMessage: number
  /**
   * Most pub/sub topics joined at once.
   *
   * @default 64
   */
  pubsubMaxTopics: number
  /**
   * Run gossipsub over relayed connections (within the relay's limits).
   *
   * @default true
   */
  pubsubRelayed: boolean
}

/** The peer's options: the common ones, then reservations, hole punching, transports and the DHT; `reservationRetryMax` must be >= `reservationRetry`. */
export const PEER_ROLE = defineRole<PeerOptions>({
  name: 'peer',
  listen: DEFAULT_PEER_LISTEN,
  specs: [
    DHT_PROTOCOL_SPEC,
    spec('relay', 'multiaddr[]', [], 'relays to reserve a slot on (each ending in /p2p/<peerId>)', { arg: '<multiaddr>', requirePeerId: true }),
    spec('relays', 'int', DEFAULT_DISCOVERED_RELAYS, 'without --relay: relays to find in the DHT and keep a reservation on (fastest first, a lost one replaced); 0 = none', { min: 0, max: MAX_DISCOVERED_RELAYS, arg: '<n>' }),
    spec('holepunch', 'boolean', DEFAULT_HOLEPUNCH, 'hole punch relayed connections (DCUtR)'),
    spec('holepunchTimeout', 'duration', DEFAULT_HOLEPUNCH_TIMEOUT, 'timeout of one hole punch attempt', { min: 1, arg: '<duration>' }),
    spec('holepunchAttempts', 'int', DEFAULT_HOLEPUNCH_ATTEMPTS, 'hole punch attempts per relayed connection', { min: 1, max: MAX_HOLEPUNCH_ATTEMPTS, arg: '<n>' }),
    spec('tcpReuse', 'boolean', DEFAULT_TCP_REUSE, 'dial TCP from the listen port (port reuse)'),
    spec('webrtc', 'boolean', DEFAULT_WEBRTC, 'enable the WebRTC transport'),
    spec('upnp', 'boolean', DEFAULT_UPNP, 'ask the router for port mappings (UPnP IGD, SSDP multicast on the LAN) and announce the mapped address; off unless given'),
    spec('stun', 'string[]', [], 'STUN servers (stun:HOST:PORT); none by default', { arg: '<url>', check: checkStunUrl }),
    spec('natDiscovery', 'boolean', DEFAULT_NAT_DISCOVERY, 'with --stun: at start, discover what the NAT does (mapping, port allocation, filtering, hairpinning) through the --stun servers (natkit STUN, e.g. the relay\'s) in the background; emits `nat` and tells hole punching which side is the hard one'),
    spec('reservationRetry', 'duration', DEFAULT_RESERVATION_RETRY, 'first retry delay after a failed reservation (doubles; up to half of each is random; an unreachable relay is probed every 1s and retried once it accepts connections)', { min: 1, arg: '<duration>' }),
    spec('reservationRetryMax', 'duration', DEFAULT_RESERVATION_RETRY_MAX, 'maximum retry delay after failed reservations', { min: 1, arg: '<duration>' }),
    spec('dht', 'boolean', DEFAULT_DHT, 'run the Kademlia DHT'),
    spec('pingInterval', 'duration', DEFAULT_PING_INTERVAL, 'ping connected peers this often; 0 = off', { min: 0, arg: '<duration>' }),
    spec('directPaths', 'string[]', DEFAULT_DIRECT_PATHS, 'direct paths to race over a relayed connection: tcp (hole punching), webrtc', { arg: '<list>', check: checkDirectPath }),
    spec('allowPrivateAddresses', 'boolean', DEFAULT_ALLOW_PRIVATE_ADDRESSES, 'treat private/loopback addresses as hole punch candidates (LAN/loopback tests)'),
    spec('mdns', 'boolean', DEFAULT_MDNS, 'discover peers on the LAN with mDNS (multicast); off unless given'),
    spec('pubsubMaxMessage', 'bytes', DEFAULT_PUBSUB_MAX_MESSAGE, 'largest pub/sub message text', { min: 1, max: MAX_PUBSUB_MESSAGE, arg: '<bytes>' }),
    spec('pubsubMaxTopics', 'int', DEFAULT_PUBSUB_MAX_TOPICS, 'most pub/sub topics joined at once', { min: 1, max: 1024, arg: '<n>' }),
    spec('pubsubRelayed', 'boolean', DEFAULT_PUBSUB_RELAYED, 'run pub/sub over relayed connections too (within the relay\'s limits)'),
    // the description is shared with natkit-autonat's --timeout
    spec('timeout', 'duration', DEFAULT_PEER_TIMEOUT, 'overall timeout (peer: of `dial`; autonat: of a check)', { min: 1, arg: '<duration>' })
  ],
  check: (o, ctx) => {
    if (o.directPaths.length === 0) ctx.fail('directPaths', `must name at least one of ${DIRECT_PATHS.join(', ')}`)
    if (o.reservationRetryMax < o.reservationRetry) {
      ctx.fail('reservationRetryMax', `must be >= reservationRetry (${String(o.reservationRetry)}ms)`)
    }
  }
})

/** The `natkit-peer` command line. */
export const PEER_CLI: ParseInit<PeerOptions> = {
  name: 'natkit-peer',
  description: 'A natkit peer: keeps reservations on relays, upgrades relayed connections to direct ones by hole punching',
  role: PEER_ROLE,
  commands: [
    { name: 'run', description: 'run the peer: listen, keep --relay reservations, accept and upgrade connections (default)', default: true },
    { name: 'dial', args: '<target>', description: 'connect to a multiaddr or peer id, wait up to --timeout for a direct connection; exit 0 direct, 3 relayed only, 1 not connected' },
    { name: 'shell', description: 'run the peer with a command shell (chat, direct messages, files; type help); with --json, one command per line on stdin and one event per line on stdout' }
  ]
}

/**
 * Pure: argv (after the script name) and env → command and validated peer
 * options. With `tty` (stdin and stdout are terminals) and no sub-command,
 * `--json`, `--help` or `--version`, the peer starts its shell.
 */
export function parseArgs (argv: string[], env: Record<string, string | undefined> = {}, tty = false): ParsedArgs<PeerOptions> {
  const first = argv[0]
  const noCommand = first == null || first.startsWith('-')
  const scripted = argv.some(a => ['--json', '--help', '-h', '--version', '-V'].includes(a))
  return parseRoleArgs(tty && noCommand && !scripted ? ['shell', ...argv] : argv, { ...PEER_CLI, env })
}

/** `natkit-peer dial`: the target is neither a multiaddr nor a peer id, or has no addresses (a usage problem). */
export class DialTargetError extends UserError {
  static override name = 'DialTargetError'
  override name = 'DialTargetError'
}

/** Pure: the paths `--direct-paths` asks for that the enabled features allow. */
export function planDirectPaths (o: Pick<PeerOptions, 'directPaths' | 'holepunch' | 'webrtc'>): DirectPathPlan {
  const plan: DirectPathPlan = { race: [], skipped: {} }
  for (const path of DIRECT_PATHS) {
    if (!o.directPaths.includes(path)) plan.skipped[path] = 'not tried: not in --direct-paths'
    else if (path === 'tcp' && !o.holepunch) plan.skipped[path] = 'not tried: --no-holepunch'
    else if (path === 'webrtc' && !o.webrtc) plan.skipped[path] = 'not tried: --no-webrtc'
    else plan.race.push(path)
  }
  return plan
}

/** True for `<relay>/p2p-circuit/webrtc/p2p/<id>`: a dial target that asks for WebRTC only. */
export function isWebrtcTarget (target: string): boolean {
  return target.includes('/p2p-circuit/webrtc/')
}

/**
 * The options `natkit-peer dial` runs with: a `/p2p-circuit/webrtc/` target
 * means WebRTC only (as before the race existed), so the peer does not take
 * part in TCP hole punching; with `--direct-paths` leaving WebRTC out it is a
 * usage error.
 */
export function optionsForTarget (o: PeerOptions, target: string): PeerOptions {
  if (!isWebrtcTarget(target)) return o
  if (!o.directPaths.includes('webrtc')) throw new DialTargetError(`target "${target}" asks for WebRTC but --direct-paths is ${o.directPaths.join(',')}`)
  return { ...o, directPaths: ['webrtc'] }
}

