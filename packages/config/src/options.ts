import { checkStunUrl } from './parse.js'
import type { HostPort } from './parse.js'

/** The four natkit node roles. */
export const ROLES = ['bootstrap', 'relay', 'peer', 'autonat'] as const
export type Role = typeof ROLES[number]

/**
 * Network presets. They only change defaults:
 * - `local`: loopback/LAN testing, private DHT protocol, no bootstrap peers
 * - `lab`: the network-namespace NAT lab, same defaults as `local`
 * - `public`: the public libp2p network (public bootstrap peers, `/ipfs/kad/1.0.0`)
 */
export const NETWORK_PRESETS = ['local', 'lab', 'public'] as const
export type NetworkPreset = typeof NETWORK_PRESETS[number]

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export type OptionType = 'string' | 'string[]' | 'multiaddr[]' | 'int' | 'duration' | 'bytes' | 'boolean' | 'enum' | 'hostport' | 'path'

/** One row of the option table; flags, env vars, config-file keys, validation and docs all come from it. */
export interface OptionSpec {
  /** camelCase key: the result field, the config-file key and commander's option name */
  key: string
  /** command line flag, e.g. `--max-reservations` */
  flag: string
  /** environment variable, e.g. `NATKIT_MAX_RESERVATIONS` */
  env: string
  type: OptionType
  /** allowed values of an `enum` */
  values?: readonly string[]
  /** inclusive lower bound of an `int`/`duration`/`bytes` (ms for durations) */
  min?: number
  /** inclusive upper bound of an `int`/`duration`/`bytes` (ms for durations) */
  max?: number
  /** roles that accept this option */
  roles: readonly Role[]
  description: string
  /** default value (already in the resolved type), or a function of the preset and role; `undefined` = unset */
  default: unknown | ((preset: NetworkPreset, role: Role) => unknown)
  /** `multiaddr[]` only: every address must end with `/p2p/<peerId>` */
  requirePeerId?: boolean
  /** `string`/`string[]` only: extra per-value (per-item for lists) check returning a problem, or `undefined` when fine */
  check?: (value: string) => string | undefined
  /** placeholder for the flag's argument in help output, e.g. `<multiaddr>` */
  arg?: string
  /** `true` for options that are only read from flags/env (the config file path itself) */
  notInFile?: boolean
}

// ---------------------------------------------------------------------------
// named defaults

/**
 * The well-known public libp2p/IPFS bootstrap peers. Only the default of
 * `bootstrap` when `network` is `public`; never dialled by tests.
 */
export const PUBLIC_BOOTSTRAP_PEERS: readonly string[] = Object.freeze([
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt',
  '/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ'
])

export const DEFAULT_NETWORK: NetworkPreset = 'local'
export const DEFAULT_LISTEN: Readonly<Record<Role, readonly string[]>> = Object.freeze({
  bootstrap: Object.freeze(['/ip4/0.0.0.0/tcp/4011']),
  relay: Object.freeze(['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws']),
  peer: Object.freeze(['/ip4/0.0.0.0/tcp/0']),
  autonat: Object.freeze(['/ip4/0.0.0.0/tcp/4021'])
})
export const DEFAULT_LOG_LEVEL: LogLevel = 'info'
export const DEFAULT_JSON = false
export const DEFAULT_MAX_CONNECTIONS = 300
export const MAX_MAX_CONNECTIONS = 100_000
export const DEFAULT_DIAL_TIMEOUT = 10_000

/** DHT protocol of the `local` and `lab` presets: a private DHT that never mixes with the public one. */
export const NATKIT_DHT_PROTOCOL = '/natkit/kad/1.0.0'
/** DHT protocol of the `public` preset (the IPFS Amino DHT). */
export const PUBLIC_DHT_PROTOCOL = '/ipfs/kad/1.0.0'
export const DEFAULT_K_BUCKET_SIZE = 20

export const DEFAULT_MAX_RESERVATIONS = 128
export const DEFAULT_RESERVATION_TTL = 2 * 60 * 60 * 1000
export const DEFAULT_CIRCUIT_DURATION = 2 * 60 * 1000
export const DEFAULT_CIRCUIT_DATA = 128 * 1024
export const DEFAULT_MAX_CIRCUITS_PER_PEER = 16
export const DEFAULT_MAX_INBOUND_HOP_STREAMS = 32
export const DEFAULT_MAX_OUTBOUND_STOP_STREAMS = 64
export const DEFAULT_HOP_TIMEOUT = 30_000
export const DEFAULT_RELAY_AUTONAT = true

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
export const DEFAULT_RESERVATION_RETRY = 2_000
export const DEFAULT_RESERVATION_RETRY_MAX = 60_000
export const DEFAULT_DHT = true
export const DEFAULT_PING_INTERVAL = 0
export const DEFAULT_PEER_TIMEOUT = 30_000
export const DEFAULT_ALLOW_PRIVATE_ADDRESSES = false

export const DEFAULT_AUTONAT_TIMEOUT = 10_000

// ---------------------------------------------------------------------------
// resolved option types

/** Options every role accepts. Multiaddrs are validated and normalised strings. */
export interface CommonOptions {
  /** the role these options were resolved for */
  role: Role
  /**
   * Network preset; changes the defaults of `bootstrap` and `dhtProtocol`.
   *
   * @default 'local'
   */
  network: NetworkPreset
  /**
   * Addresses to listen on.
   *
   * @default bootstrap `/ip4/0.0.0.0/tcp/4011`; relay `/ip4/0.0.0.0/tcp/4001`, `/ip4/0.0.0.0/tcp/4002/ws`; peer `/ip4/0.0.0.0/tcp/0`; autonat `/ip4/0.0.0.0/tcp/4021`
   */
  listen: string[]
  /**
   * Addresses to announce instead of the observed/listen ones.
   *
   * @default []
   */
  announce: string[]
  /**
   * Key file (created if missing). Unset = a fresh ephemeral key every run.
   *
   * @default undefined
   */
  identity?: string
  /**
   * Test only: derive the key deterministically from this string. Cannot be
   * combined with `identity`.
   *
   * @default undefined
   */
  seed?: string
  /**
   * Bootstrap peers; each must end with `/p2p/<peerId>`.
   *
   * @default [] for `local`/`lab`; {@link PUBLIC_BOOTSTRAP_PEERS} for `public`
   */
  bootstrap: string[]
  /**
   * Serve Prometheus metrics on this `host:port`. Unset = no metrics server.
   *
   * @default undefined
   */
  metrics?: HostPort
  /**
   * Print events as one JSON object per line.
   *
   * @default false
   */
  json: boolean
  /**
   * Log level.
   *
   * @default 'info'
   */
  logLevel: LogLevel
  /**
   * Connection manager limit (1-100000).
   *
   * @default 300
   */
  maxConnections: number
  /**
   * Dial timeout in milliseconds.
   *
   * @default 10000 (10s)
   */
  dialTimeout: number
  /**
   * The config file that was read, if any.
   *
   * @default undefined
   */
  config?: string
}

export interface BootstrapOptions extends CommonOptions {
  role: 'bootstrap'
  /**
   * Kademlia protocol id.
   *
   * @default '/natkit/kad/1.0.0' for `local`/`lab`; '/ipfs/kad/1.0.0' for `public`
   */
  dhtProtocol: string
  /**
   * Kademlia k-bucket size.
   *
   * @default 20
   */
  kBucketSize: number
}

export interface RelayOptions extends CommonOptions {
  role: 'relay'
  /**
   * Maximum concurrent relay reservations.
   *
   * @default 128
   */
  maxReservations: number
  /**
   * Lifetime of a reservation in milliseconds.
   *
   * @default 7200000 (2h)
   */
  reservationTtl: number
  /**
   * Duration limit of a relayed (limited) connection in milliseconds.
   *
   * @default 120000 (2m)
   */
  circuitDuration: number
  /**
   * Data limit of a relayed (limited) connection in bytes (each direction).
   *
   * @default 131072 (128KiB)
   */
  circuitData: number
  /**
   * Maximum concurrent circuits per source/destination peer.
   *
   * @default 16
   */
  maxCircuitsPerPeer: number
  /**
   * Maximum concurrent inbound HOP streams per connection.
   *
   * @default 32
   */
  maxInboundHopStreams: number
  /**
   * Maximum concurrent outbound STOP streams per connection.
   *
   * @default 64
   */
  maxOutboundStopStreams: number
  /**
   * Timeout of a HOP request (including the STOP to the destination) in milliseconds.
   *
   * @default 30000 (30s)
   */
  hopTimeout: number
  /**
   * Run an AutoNAT v2 server.
   *
   * @default true
   */
  autonat: boolean
  /**
   * Run a UDP STUN binding server on this `host:port` (e.g. `0.0.0.0:3478`). Unset = off.
   *
   * @default undefined
   */
  stunListen?: HostPort
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
   * Ask the router for port mappings (UPnP IGD, via @libp2p/upnp-nat) and
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
   * First delay before retrying a failed reservation in milliseconds (doubles each time).
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
}

export interface AutonatOptions extends CommonOptions {
  role: 'autonat'
  /**
   * AutoNAT servers to ask in check mode.
   *
   * @default []
   */
  server: string[]
  /**
   * Overall timeout of a reachability check in milliseconds.
   *
   * @default 10000 (10s)
   */
  timeout: number
}

export interface RoleOptionsMap {
  bootstrap: BootstrapOptions
  relay: RelayOptions
  peer: PeerOptions
  autonat: AutonatOptions
}

export type RoleOptions<R extends Role> = RoleOptionsMap[R]

// ---------------------------------------------------------------------------
// the table

const ALL: readonly Role[] = ROLES

function spec (key: string, type: OptionType, roles: readonly Role[], def: OptionSpec['default'], description: string, extra: Partial<OptionSpec> = {}): OptionSpec {
  const kebab = key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
  return Object.freeze({
    key,
    flag: `--${kebab}`,
    env: `NATKIT_${kebab.replace(/-/g, '_').toUpperCase()}`,
    type,
    roles: Object.freeze([...roles]),
    description,
    default: def,
    ...extra
  })
}

const checkDhtProtocol = (v: string): string | undefined => v.startsWith('/') ? undefined : 'must start with "/"'
const checkNonEmpty = (v: string): string | undefined => v.length > 0 ? undefined : 'must not be empty'

export const OPTION_SPECS: readonly OptionSpec[] = Object.freeze([
  // common
  spec('network', 'enum', ALL, DEFAULT_NETWORK, 'network preset: local, lab or public (changes bootstrap and dhtProtocol defaults)', { values: NETWORK_PRESETS, arg: '<preset>' }),
  spec('listen', 'multiaddr[]', ALL, (_p: NetworkPreset, role: Role) => [...DEFAULT_LISTEN[role]], 'multiaddrs to listen on', { arg: '<multiaddr>' }),
  spec('announce', 'multiaddr[]', ALL, [], 'multiaddrs to announce instead of the listen/observed ones', { arg: '<multiaddr>' }),
  spec('identity', 'path', ALL, undefined, 'private key file, created (mode 0600) if missing; unset = ephemeral key', { arg: '<path>' }),
  spec('seed', 'string', ALL, undefined, 'TEST ONLY: derive the key from this string (cannot be combined with --identity)', { arg: '<string>', check: checkNonEmpty }),
  spec('bootstrap', 'multiaddr[]', ALL, (p: NetworkPreset) => p === 'public' ? [...PUBLIC_BOOTSTRAP_PEERS] : [], 'bootstrap peers (each ending in /p2p/<peerId>)', { arg: '<multiaddr>', requirePeerId: true }),
  spec('metrics', 'hostport', ALL, undefined, 'serve Prometheus metrics on host:port; unset = off', { arg: '<host:port>' }),
  spec('json', 'boolean', ALL, DEFAULT_JSON, 'print events as JSON lines on stdout'),
  spec('logLevel', 'enum', ALL, DEFAULT_LOG_LEVEL, 'log level: error, warn, info or debug', { values: LOG_LEVELS, arg: '<level>' }),
  spec('maxConnections', 'int', ALL, DEFAULT_MAX_CONNECTIONS, 'maximum open connections', { min: 1, max: MAX_MAX_CONNECTIONS, arg: '<n>' }),
  spec('dialTimeout', 'duration', ALL, DEFAULT_DIAL_TIMEOUT, 'timeout of one dial', { min: 1, arg: '<duration>' }),
  spec('config', 'path', ALL, undefined, 'JSON config file (keys are the camelCase option names)', { arg: '<file>', notInFile: true }),

  // bootstrap + peer
  spec('dhtProtocol', 'string', ['bootstrap', 'peer'], (p: NetworkPreset) => p === 'public' ? PUBLIC_DHT_PROTOCOL : NATKIT_DHT_PROTOCOL, 'Kademlia protocol id', { arg: '<protocol>', check: checkDhtProtocol }),
  spec('kBucketSize', 'int', ['bootstrap'], DEFAULT_K_BUCKET_SIZE, 'Kademlia k-bucket size', { min: 1, max: 1000, arg: '<n>' }),

  // relay
  spec('maxReservations', 'int', ['relay'], DEFAULT_MAX_RESERVATIONS, 'maximum concurrent relay reservations', { min: 1, max: 100_000, arg: '<n>' }),
  spec('reservationTtl', 'duration', ['relay'], DEFAULT_RESERVATION_TTL, 'lifetime of a reservation', { min: 1000, arg: '<duration>' }),
  spec('circuitDuration', 'duration', ['relay'], DEFAULT_CIRCUIT_DURATION, 'duration limit of a relayed connection', { min: 1, arg: '<duration>' }),
  spec('circuitData', 'bytes', ['relay'], DEFAULT_CIRCUIT_DATA, 'data limit of a relayed connection', { min: 1, arg: '<bytes>' }),
  spec('maxCircuitsPerPeer', 'int', ['relay'], DEFAULT_MAX_CIRCUITS_PER_PEER, 'maximum concurrent circuits per peer', { min: 1, max: 10_000, arg: '<n>' }),
  spec('maxInboundHopStreams', 'int', ['relay'], DEFAULT_MAX_INBOUND_HOP_STREAMS, 'maximum concurrent inbound HOP streams per connection', { min: 1, max: 10_000, arg: '<n>' }),
  spec('maxOutboundStopStreams', 'int', ['relay'], DEFAULT_MAX_OUTBOUND_STOP_STREAMS, 'maximum concurrent outbound STOP streams per connection', { min: 1, max: 10_000, arg: '<n>' }),
  spec('hopTimeout', 'duration', ['relay'], DEFAULT_HOP_TIMEOUT, 'timeout of a HOP request', { min: 1, arg: '<duration>' }),
  spec('autonat', 'boolean', ['relay'], DEFAULT_RELAY_AUTONAT, 'run an AutoNAT v2 server'),
  spec('stunListen', 'hostport', ['relay'], undefined, 'run a UDP STUN binding server on host:port (e.g. 0.0.0.0:3478); unset = off', { arg: '<host:port>' }),

  // peer
  spec('relay', 'multiaddr[]', ['peer'], [], 'relays to reserve a slot on (each ending in /p2p/<peerId>)', { arg: '<multiaddr>', requirePeerId: true }),
  spec('holepunch', 'boolean', ['peer'], DEFAULT_HOLEPUNCH, 'hole punch relayed connections (DCUtR)'),
  spec('holepunchTimeout', 'duration', ['peer'], DEFAULT_HOLEPUNCH_TIMEOUT, 'timeout of one hole punch attempt', { min: 1, arg: '<duration>' }),
  spec('holepunchAttempts', 'int', ['peer'], DEFAULT_HOLEPUNCH_ATTEMPTS, 'hole punch attempts per relayed connection', { min: 1, max: MAX_HOLEPUNCH_ATTEMPTS, arg: '<n>' }),
  spec('tcpReuse', 'boolean', ['peer'], DEFAULT_TCP_REUSE, 'dial TCP from the listen port (port reuse)'),
  spec('webrtc', 'boolean', ['peer'], DEFAULT_WEBRTC, 'enable the WebRTC transport'),
  spec('upnp', 'boolean', ['peer'], DEFAULT_UPNP, 'ask the router for port mappings (UPnP IGD, SSDP multicast on the LAN) and announce the mapped address; off unless given'),
  spec('stun', 'string[]', ['peer'], [], 'STUN servers (stun:HOST:PORT); none by default', { arg: '<url>', check: checkStunUrl }),
  spec('reservationRetry', 'duration', ['peer'], DEFAULT_RESERVATION_RETRY, 'first retry delay after a failed reservation (doubles)', { min: 1, arg: '<duration>' }),
  spec('reservationRetryMax', 'duration', ['peer'], DEFAULT_RESERVATION_RETRY_MAX, 'maximum retry delay after failed reservations', { min: 1, arg: '<duration>' }),
  spec('dht', 'boolean', ['peer'], DEFAULT_DHT, 'run the Kademlia DHT'),
  spec('pingInterval', 'duration', ['peer'], DEFAULT_PING_INTERVAL, 'ping connected peers this often; 0 = off', { min: 0, arg: '<duration>' }),
  spec('allowPrivateAddresses', 'boolean', ['peer'], DEFAULT_ALLOW_PRIVATE_ADDRESSES, 'treat private/loopback addresses as hole punch candidates (LAN/loopback tests)'),

  // peer + autonat
  spec('timeout', 'duration', ['peer', 'autonat'], (_p: NetworkPreset, role: Role) => role === 'autonat' ? DEFAULT_AUTONAT_TIMEOUT : DEFAULT_PEER_TIMEOUT, 'overall timeout (peer: of `dial`; autonat: of a check)', { min: 1, arg: '<duration>' }),

  // autonat
  spec('server', 'multiaddr[]', ['autonat'], [], 'AutoNAT servers to ask in check mode', { arg: '<multiaddr>' })
])

const SPEC_BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(OPTION_SPECS.map(s => [s.key, s]))

/** Look up an option by its camelCase key (any role). */
export function getOptionSpec (key: string): OptionSpec | undefined {
  return SPEC_BY_KEY.get(key)
}

/** The options `role` accepts, in table order. */
export function optionsFor (role: Role): OptionSpec[] {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new TypeError(`unknown role "${String(role)}" (expected one of ${ROLES.join(', ')})`)
  }
  return OPTION_SPECS.filter(s => s.roles.includes(role))
}

/** Evaluate a spec's default for a preset and role. */
export function defaultFor (spec: OptionSpec, preset: NetworkPreset, role: Role): unknown {
  return typeof spec.default === 'function'
    ? (spec.default as (preset: NetworkPreset, role: Role) => unknown)(preset, role)
    : structuredCloneIfArray(spec.default)
}

function structuredCloneIfArray (v: unknown): unknown {
  return Array.isArray(v) ? [...v] : v
}

/** Option types that are limits (a count, a duration, a size). */
export const LIMIT_TYPES: ReadonlySet<OptionType> = new Set(['int', 'duration', 'bytes'])

/**
 * For tests proving each limit reaches the component that uses it: a flag
 * value for every limit option of `role` (except `exclude`), each different
 * from its `local` default and from every other one (so that one option
 * passed in place of another is caught too), within the option's bounds.
 */
export function distinctLimitFlags (role: Role, exclude: ReadonlySet<string> = new Set()): { limits: OptionSpec[], flags: Record<string, number> } {
  const limits = optionsFor(role).filter(s => LIMIT_TYPES.has(s.type) && !exclude.has(s.key))
  const used = new Set<number>()
  const flags: Record<string, number> = {}
  for (const spec of limits) {
    const def = defaultFor(spec, 'local', role) as number
    const next = (from: number): number => { let v = from; while (v === def || used.has(v)) v++; return v }
    let v = next(def + 1)
    if (spec.max != null && v > spec.max) v = next(spec.min ?? 0)
    used.add(v)
    flags[spec.key] = v
  }
  return { limits, flags }
}
