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

/** One option row of a role; flags, env vars, config-file keys, validation and docs all come from it. */
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
  description: string
  /** default value (already in the resolved type), or a function of the preset; `undefined` = unset */
  default: unknown | ((preset: NetworkPreset) => unknown)
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
// named defaults of the common options

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
export const DEFAULT_LOG_LEVEL: LogLevel = 'info'
export const DEFAULT_JSON = false
export const DEFAULT_MAX_CONNECTIONS = 300
export const MAX_MAX_CONNECTIONS = 100_000
export const DEFAULT_DIAL_TIMEOUT = 10_000
/**
 * Inbound connections still in their handshake (noise, muxer) at once, from
 * all addresses (js-libp2p's own default is 10: 10 idle sockets lock everyone out).
 *
 * @default 256
 */
export const DEFAULT_MAX_PENDING_INBOUND = 256
/**
 * Inbound connections still in their handshake at once from one IP (IPv6: one /64).
 *
 * @default 4
 */
export const DEFAULT_MAX_PENDING_INBOUND_PER_IP = 4
/**
 * Time an inbound connection may take to finish its handshake, in ms (js-libp2p's own default is 10 s).
 *
 * @default 5000
 */
export const DEFAULT_HANDSHAKE_TIMEOUT = 5_000

/** DHT protocol of the `local` and `lab` presets: a private DHT that never mixes with the public one. */
export const NATKIT_DHT_PROTOCOL = '/natkit/kad/1.0.0'
/** DHT protocol of the `public` preset (the IPFS Amino DHT). */
export const PUBLIC_DHT_PROTOCOL = '/ipfs/kad/1.0.0'

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
   * @default the role's `listen` (see {@link RoleInit.listen})
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
   * Inbound connections in their handshake at once, from all addresses.
   *
   * @default 256
   */
  maxPendingInbound: number
  /**
   * Inbound connections in their handshake at once from one IP (IPv6: one /64).
   *
   * @default 4
   */
  maxPendingInboundPerIp: number
  /**
   * Time an inbound connection may take to finish its handshake, in milliseconds.
   *
   * @default 5000 (5s)
   */
  handshakeTimeout: number
  /**
   * The config file that was read, if any.
   *
   * @default undefined
   */
  config?: string
}

// ---------------------------------------------------------------------------
// the common rows and the role definitions

/** Builds one option row; the flag and env name derive from the camelCase key. */
export function spec (key: string, type: OptionType, def: OptionSpec['default'], description: string, extra: Partial<OptionSpec> = {}): OptionSpec {
  const kebab = key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
  return Object.freeze({
    key,
    flag: `--${kebab}`,
    env: `NATKIT_${kebab.replace(/-/g, '_').toUpperCase()}`,
    type,
    description,
    default: def,
    ...extra
  })
}

const checkDhtProtocol = (v: string): string | undefined => v.startsWith('/') ? undefined : 'must start with "/"'
const checkNonEmpty = (v: string): string | undefined => v.length > 0 ? undefined : 'must not be empty'

/** The `listen` row, whose default each role gives ({@link RoleInit.listen}). */
function listenSpec (listen: readonly string[]): OptionSpec {
  return spec('listen', 'multiaddr[]', Object.freeze([...listen]), 'multiaddrs to listen on', { arg: '<multiaddr>' })
}

/** The rows every role accepts, in help order; `listen` is replaced by each role's own default. */
export const COMMON_SPECS: readonly OptionSpec[] = Object.freeze([
  spec('network', 'enum', DEFAULT_NETWORK, 'network preset: local, lab or public (changes bootstrap and dhtProtocol defaults)', { values: NETWORK_PRESETS, arg: '<preset>' }),
  listenSpec([]),
  spec('announce', 'multiaddr[]', [], 'multiaddrs to announce instead of the listen/observed ones', { arg: '<multiaddr>' }),
  spec('identity', 'path', undefined, 'private key file, created (mode 0600) if missing; unset = ephemeral key', { arg: '<path>' }),
  spec('seed', 'string', undefined, 'TEST ONLY: derive the key from this string (cannot be combined with --identity)', { arg: '<string>', check: checkNonEmpty }),
  spec('bootstrap', 'multiaddr[]', (p: NetworkPreset) => p === 'public' ? [...PUBLIC_BOOTSTRAP_PEERS] : [], 'bootstrap peers (each ending in /p2p/<peerId>)', { arg: '<multiaddr>', requirePeerId: true }),
  spec('metrics', 'hostport', undefined, 'serve Prometheus metrics on host:port; unset = off', { arg: '<host:port>' }),
  spec('json', 'boolean', DEFAULT_JSON, 'print events as JSON lines on stdout'),
  spec('logLevel', 'enum', DEFAULT_LOG_LEVEL, 'log level: error, warn, info or debug', { values: LOG_LEVELS, arg: '<level>' }),
  spec('maxConnections', 'int', DEFAULT_MAX_CONNECTIONS, 'maximum open connections', { min: 1, max: MAX_MAX_CONNECTIONS, arg: '<n>' }),
  spec('dialTimeout', 'duration', DEFAULT_DIAL_TIMEOUT, 'timeout of one dial', { min: 1, arg: '<duration>' }),
  spec('maxPendingInbound', 'int', DEFAULT_MAX_PENDING_INBOUND, 'maximum inbound connections in their handshake at once', { min: 1, max: MAX_MAX_CONNECTIONS, arg: '<n>' }),
  spec('maxPendingInboundPerIp', 'int', DEFAULT_MAX_PENDING_INBOUND_PER_IP, 'maximum inbound connections in their handshake at once from one IP (IPv6: one /64)', { min: 1, max: MAX_MAX_CONNECTIONS, arg: '<n>' }),
  spec('handshakeTimeout', 'duration', DEFAULT_HANDSHAKE_TIMEOUT, 'time an inbound connection may take to finish its handshake', { min: 1, arg: '<duration>' }),
  spec('config', 'path', undefined, 'JSON config file (keys are the camelCase option names)', { arg: '<file>', notInFile: true })
])

/**
 * The `dhtProtocol` row, for roles that run a Kademlia DHT: its default
 * follows the `network` preset, so it lives next to the presets.
 */
export const DHT_PROTOCOL_SPEC: OptionSpec = spec('dhtProtocol', 'string', (p: NetworkPreset) => p === 'public' ? PUBLIC_DHT_PROTOCOL : NATKIT_DHT_PROTOCOL, 'Kademlia protocol id', { arg: '<protocol>', check: checkDhtProtocol })

/**
 * The option keys each role adds to the common ones - names only, no rows
 * (the rows live in each role's app). Lets a role refuse a config-file key of
 * another role with a message naming that role; each app's tests check its
 * entry against its own rows.
 */
export const ROLE_OPTION_KEYS: Readonly<Record<Role, readonly string[]>> = Object.freeze({
  bootstrap: Object.freeze(['dhtProtocol', 'kBucketSize']),
  relay: Object.freeze(['maxReservations', 'maxReservationsPerIp', 'maxReservationsPerNetwork', 'reservationGrace', 'reservationTtl', 'circuitDuration', 'circuitData', 'maxCircuitsPerPeer', 'maxInboundHopStreams', 'maxOutboundStopStreams', 'hopTimeout', 'connectionPingInterval', 'autonat', 'stunListen', 'stunAlternate', 'dhtProtocol']),
  peer: Object.freeze(['dhtProtocol', 'relay', 'relays', 'holepunch', 'holepunchTimeout', 'holepunchAttempts', 'tcpReuse', 'webrtc', 'upnp', 'stun', 'natDiscovery', 'reservationRetry', 'reservationRetryMax', 'dht', 'pingInterval', 'directPaths', 'allowPrivateAddresses', 'mdns', 'pubsubMaxMessage', 'pubsubMaxTopics', 'pubsubRelayed', 'timeout']),
  autonat: Object.freeze(['timeout', 'server', 'stun', 'tcpProbe', 'mappingLifetimeMax', 'stunListen', 'stunAlternate'])
})

/** Cross-field rules of a role, run after every option is resolved. */
export interface RoleCheckContext {
  /** Throws a `ConfigError` "invalid value for <how the user spelled key> (<source>): <value> <problem>". */
  fail(key: string, problem: string): never
}

export interface RoleInit<O extends CommonOptions> {
  name: O['role']
  /** default of `listen` for this role */
  listen: readonly string[]
  /** the role's own rows, after the common ones in help order */
  specs: readonly OptionSpec[]
  /** cross-field rules over the resolved options; report a problem with `ctx.fail` */
  check?: (options: O, ctx: RoleCheckContext) => void
}

/** A role's options: its name, every row it accepts (common ones first) and its cross-field check. `O` is the resolved options type. */
export interface RoleDefinition<O extends CommonOptions = CommonOptions> {
  readonly name: O['role']
  readonly specs: readonly OptionSpec[]
  /** (method syntax, so that any role's definition is a `RoleDefinition`) */
  check?(options: O, ctx: RoleCheckContext): void
}

/** Defines a role from its own rows (the common rows come first). */
export function defineRole<O extends CommonOptions> (init: RoleInit<O>): RoleDefinition<O> {
  if (!(ROLES as readonly string[]).includes(init.name)) {
    throw new TypeError(`unknown role "${String(init.name)}" (expected one of ${ROLES.join(', ')})`)
  }
  const specs = [...COMMON_SPECS.map(s => s.key === 'listen' ? listenSpec(init.listen) : s), ...init.specs]
  const keys = specs.map(s => s.key)
  const dup = keys.find((k, i) => keys.indexOf(k) !== i)
  if (dup != null) throw new TypeError(`role ${init.name}: option ${dup} is defined twice`)
  return Object.freeze({ name: init.name, specs: Object.freeze(specs), check: init.check })
}

/** Look up one of a role's options by its camelCase key. */
export function getOptionSpec (role: RoleDefinition, key: string): OptionSpec | undefined {
  return role.specs.find(s => s.key === key)
}

/** The roles that accept `key` as one of their own options (from {@link ROLE_OPTION_KEYS}), in {@link ROLES} order. */
export function rolesWithKey (key: string): Role[] {
  return ROLES.filter(r => ROLE_OPTION_KEYS[r].includes(key))
}

/** Evaluate a spec's default for a preset. */
export function defaultFor (spec: OptionSpec, preset: NetworkPreset): unknown {
  return typeof spec.default === 'function'
    ? (spec.default as (preset: NetworkPreset) => unknown)(preset)
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
export function distinctLimitFlags (role: RoleDefinition, exclude: ReadonlySet<string> = new Set()): { limits: OptionSpec[], flags: Record<string, number> } {
  const limits = role.specs.filter(s => LIMIT_TYPES.has(s.type) && !exclude.has(s.key))
  const used = new Set<number>()
  const flags: Record<string, number> = {}
  for (const spec of limits) {
    const def = defaultFor(spec, 'local') as number
    const next = (from: number): number => { let v = from; while (v === def || used.has(v)) v++; return v }
    let v = next(def + 1)
    if (spec.max != null && v > spec.max) v = next(spec.min ?? 0)
    used.add(v)
    flags[spec.key] = v
  }
  return { limits, flags }
}
