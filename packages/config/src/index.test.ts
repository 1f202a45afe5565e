import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TS_HOOKS } from '@natkit/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  ConfigError,
  ConfigFileError,
  DEFAULT_CIRCUIT_DATA,
  DEFAULT_LISTEN,
  DEFAULT_MAX_RESERVATIONS,
  NATKIT_DHT_PROTOCOL,
  OPTION_SPECS,
  PUBLIC_BOOTSTRAP_PEERS,
  PUBLIC_DHT_PROTOCOL,
  ROLES,
  cliFlags,
  describeOptions,
  optionsFor,
  parseBytes,
  parseDuration,
  resolveOptions
} from './index.js'
import type { ConfigSources, Role } from './index.js'

/** The uid and gid of `nobody` (and Debian's `nogroup`). */
const NOBODY = 65534
const PEER_A = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const BOOT = `/ip4/127.0.0.1/tcp/4011/p2p/${PEER_A}`

let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'natkit-config-'))
})

afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

function file (content: unknown, name = 'natkit.json'): string {
  const path = join(dir, name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

function configError (role: Role, sources: ConfigSources): ConfigError {
  try {
    resolveOptions(role, sources)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected resolveOptions to throw')
}

describe('option table', () => {
  it('has unique keys, derived flags/env names, and covers the brief', () => {
    const keys = OPTION_SPECS.map(s => s.key)
    expect(new Set(keys).size).toBe(keys.length)
    const relay = OPTION_SPECS.find(s => s.key === 'maxReservations')
    expect(relay?.flag).toBe('--max-reservations')
    expect(relay?.env).toBe('NATKIT_MAX_RESERVATIONS')
    expect(optionsFor('relay').map(s => s.key)).toEqual(expect.arrayContaining(['network', 'listen', 'maxReservations', 'circuitData', 'autonat', 'stunListen']))
    expect(optionsFor('relay').map(s => s.key)).not.toContain('holepunch')
    expect(optionsFor('peer').map(s => s.key)).toEqual(expect.arrayContaining(['relay', 'holepunch', 'stun', 'dhtProtocol', 'timeout', 'allowPrivateAddresses']))
    expect(optionsFor('autonat').map(s => s.key)).toEqual(expect.arrayContaining(['server', 'timeout']))
    expect(optionsFor('bootstrap').map(s => s.key)).toEqual(expect.arrayContaining(['dhtProtocol', 'kBucketSize']))
  })

  it('rejects an unknown role', () => {
    expect(() => optionsFor('nope' as Role)).toThrow(/unknown role/)
  })
})

describe('defaults', () => {
  it.each(ROLES)('resolves %s with only defaults, carrying role and network', (role) => {
    const opts = resolveOptions(role, {})
    expect(opts.role).toBe(role)
    expect(opts.network).toBe('local')
    expect(opts.listen).toEqual(DEFAULT_LISTEN[role])
    expect(opts.bootstrap).toEqual([])
    expect(opts.identity).toBeUndefined()
    expect(opts.metrics).toBeUndefined()
    expect(opts.maxConnections).toBe(300)
    expect(opts.dialTimeout).toBe(10_000)
    expect(opts.logLevel).toBe('info')
    expect(opts.json).toBe(false)
  })

  it('has the documented role defaults', () => {
    const relay = resolveOptions('relay', {})
    expect(relay.maxReservations).toBe(DEFAULT_MAX_RESERVATIONS)
    expect(relay.reservationTtl).toBe(2 * 3600_000)
    expect(relay.circuitDuration).toBe(120_000)
    expect(relay.circuitData).toBe(131072)
    expect(relay.circuitData).toBe(DEFAULT_CIRCUIT_DATA)
    expect(relay.autonat).toBe(true)
    expect(relay.stunListen).toBeUndefined()

    const peer = resolveOptions('peer', {})
    expect(peer.timeout).toBe(30_000)
    expect(peer.holepunchAttempts).toBe(3)
    expect(peer.stun).toEqual([])
    expect(peer.pingInterval).toBe(0)
    expect(peer.dhtProtocol).toBe(NATKIT_DHT_PROTOCOL)
    // UPnP multicasts SSDP on the LAN and changes the router: opt-in only
    expect(peer.upnp).toBe(false)
    expect(resolveOptions('peer', { flags: { upnp: true } }).upnp).toBe(true)

    expect(resolveOptions('autonat', {}).timeout).toBe(10_000)
    expect(resolveOptions('bootstrap', {}).kBucketSize).toBe(20)
  })

  it('public preset uses PUBLIC_BOOTSTRAP_PEERS and the IPFS DHT; local and lab do not', () => {
    const pub = resolveOptions('peer', { flags: { network: 'public' } })
    expect(pub.bootstrap).toEqual([...PUBLIC_BOOTSTRAP_PEERS])
    expect(pub.dhtProtocol).toBe(PUBLIC_DHT_PROTOCOL)
    expect(pub.stun).toEqual([])

    for (const network of ['local', 'lab']) {
      const opts = resolveOptions('peer', { env: { NATKIT_NETWORK: network } })
      expect(opts.network).toBe(network)
      expect(opts.bootstrap).toEqual([])
      expect(opts.dhtProtocol).toBe(NATKIT_DHT_PROTOCOL)
    }
  })

  it('every public bootstrap peer is a valid /p2p/ multiaddr', () => {
    expect(PUBLIC_BOOTSTRAP_PEERS).toHaveLength(5)
    const opts = resolveOptions('bootstrap', { flags: { bootstrap: [...PUBLIC_BOOTSTRAP_PEERS] } })
    expect(opts.bootstrap).toEqual([...PUBLIC_BOOTSTRAP_PEERS])
  })
})

describe('precedence', () => {
  it('flag beats env beats file beats default', () => {
    const cfg = file({ maxReservations: 10, hopTimeout: '7s', circuitData: 2048 })
    const env = { NATKIT_MAX_RESERVATIONS: '20', NATKIT_HOP_TIMEOUT: '8s' }

    const all = resolveOptions('relay', { flags: { maxReservations: '30' }, env, configFile: cfg })
    expect(all.maxReservations).toBe(30)
    expect(all.hopTimeout).toBe(8000)
    expect(all.circuitData).toBe(2048)
    expect(all.maxCircuitsPerPeer).toBe(16)
    expect(all.config).toBe(cfg)

    expect(resolveOptions('relay', { env, configFile: cfg }).maxReservations).toBe(20)
    expect(resolveOptions('relay', { configFile: cfg }).maxReservations).toBe(10)
    expect(resolveOptions('relay', {}).maxReservations).toBe(128)
  })

  it('takes network from the file and applies its preset defaults', () => {
    const cfg = file({ network: 'public' })
    const opts = resolveOptions('peer', { configFile: cfg })
    expect(opts.network).toBe('public')
    expect(opts.bootstrap).toEqual([...PUBLIC_BOOTSTRAP_PEERS])
    expect(opts.dhtProtocol).toBe(PUBLIC_DHT_PROTOCOL)

    // a higher-precedence network overrides the file's, and with it the defaults
    const local = resolveOptions('peer', { configFile: cfg, env: { NATKIT_NETWORK: 'lab' } })
    expect(local.network).toBe('lab')
    expect(local.bootstrap).toEqual([])

    // explicitly set values beat preset defaults
    const explicit = resolveOptions('peer', { configFile: cfg, flags: { bootstrap: BOOT, dhtProtocol: '/mine/kad/1.0.0' } })
    expect(explicit.bootstrap).toEqual([BOOT])
    expect(explicit.dhtProtocol).toBe('/mine/kad/1.0.0')
  })

  it('reads the config file named by --config, then NATKIT_CONFIG, then sources.configFile', () => {
    const a = file({ maxConnections: 1 }, 'a.json')
    const b = file({ maxConnections: 2 }, 'b.json')
    const c = file({ maxConnections: 3 }, 'c.json')
    expect(resolveOptions('peer', { flags: { config: a }, env: { NATKIT_CONFIG: b }, configFile: c }).maxConnections).toBe(1)
    expect(resolveOptions('peer', { env: { NATKIT_CONFIG: b }, configFile: c }).maxConnections).toBe(2)
    expect(resolveOptions('peer', { configFile: c }).maxConnections).toBe(3)
    expect(resolveOptions('peer', { env: { NATKIT_CONFIG: b } }).config).toBe(b)
  })

  it('empty env var unsets a scalar but empties a list', () => {
    const cfg = file({ metrics: '127.0.0.1:9090', network: 'public' })
    const opts = resolveOptions('peer', { configFile: cfg, env: { NATKIT_METRICS: '', NATKIT_BOOTSTRAP: '' } })
    expect(opts.metrics).toEqual({ host: '127.0.0.1', port: 9090 })
    expect(opts.bootstrap).toEqual([])
  })

  it('ignores undefined flags and unrelated keys', () => {
    const opts = resolveOptions('peer', { flags: { holepunch: undefined, somethingElse: 'x' }, env: { PATH: '/bin', NATKIT_MAX_RESERVATIONS: 'junk' } })
    expect(opts.holepunch).toBe(true)
  })
})

describe('coercion', () => {
  it('multiaddr lists: repeated flags, comma-separated flags and env, JSON arrays', () => {
    expect(resolveOptions('peer', { flags: { listen: ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2,/ip4/127.0.0.1/tcp/3/ws'] } }).listen)
      .toEqual(['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3/ws'])
    expect(resolveOptions('peer', { env: { NATKIT_ANNOUNCE: '/ip4/11.0.0.4/tcp/1, /dns4/example.test/tcp/2' } }).announce)
      .toEqual(['/ip4/11.0.0.4/tcp/1', '/dns4/example.test/tcp/2'])
    expect(resolveOptions('peer', { configFile: file({ relay: [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER_A}`] }) }).relay)
      .toEqual([`/ip4/127.0.0.1/tcp/4001/p2p/${PEER_A}`])
  })

  it('ints', () => {
    expect(resolveOptions('relay', { flags: { maxReservations: '7' } }).maxReservations).toBe(7)
    expect(resolveOptions('relay', { configFile: file({ maxReservations: 9 }) }).maxReservations).toBe(9)
    expect(resolveOptions('peer', { env: { NATKIT_HOLEPUNCH_ATTEMPTS: '10' } }).holepunchAttempts).toBe(10)
  })

  it('durations', () => {
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('5s')).toBe(5000)
    expect(parseDuration('2m')).toBe(120_000)
    expect(parseDuration('1h')).toBe(3_600_000)
    expect(parseDuration('1500')).toBe(1500)
    expect(parseDuration('1.5s')).toBe(1500)
    expect(parseDuration(42)).toBe(42)
    expect(resolveOptions('peer', { env: { NATKIT_HOLEPUNCH_TIMEOUT: '2s' } }).holepunchTimeout).toBe(2000)
    expect(resolveOptions('peer', { configFile: file({ pingInterval: 1000 }) }).pingInterval).toBe(1000)
    expect(resolveOptions('peer', { flags: { pingInterval: '0' } }).pingInterval).toBe(0)
  })

  it('bytes', () => {
    expect(parseBytes('128KiB')).toBe(131072)
    expect(parseBytes('1MiB')).toBe(1048576)
    expect(parseBytes('1kB')).toBe(1000)
    expect(parseBytes('4096')).toBe(4096)
    expect(resolveOptions('relay', { flags: { circuitData: '1MiB' } }).circuitData).toBe(1048576)
    expect(resolveOptions('relay', { configFile: file({ circuitData: '64KiB' }) }).circuitData).toBe(65536)
  })

  it('booleans', () => {
    for (const [input, want] of [['true', true], ['false', false], ['1', true], ['0', false], ['yes', true], ['NO', false]] as const) {
      expect(resolveOptions('peer', { env: { NATKIT_HOLEPUNCH: input } }).holepunch).toBe(want)
    }
    expect(resolveOptions('peer', { flags: { holepunch: false } }).holepunch).toBe(false)
    expect(resolveOptions('peer', { configFile: file({ webrtc: false }) }).webrtc).toBe(false)
    expect(resolveOptions('peer', { flags: { json: true } }).json).toBe(true)
  })

  it('enums', () => {
    expect(resolveOptions('peer', { flags: { logLevel: 'debug' } }).logLevel).toBe('debug')
    expect(resolveOptions('peer', { env: { NATKIT_LOG_LEVEL: 'WARN' } }).logLevel).toBe('warn')
  })

  it('hostport', () => {
    expect(resolveOptions('relay', { flags: { metrics: '127.0.0.1:9090' } }).metrics).toEqual({ host: '127.0.0.1', port: 9090 })
    expect(resolveOptions('relay', { env: { NATKIT_STUN_LISTEN: '0.0.0.0:3478' } }).stunListen).toEqual({ host: '0.0.0.0', port: 3478 })
    expect(resolveOptions('relay', { flags: { metrics: '[::1]:0' } }).metrics).toEqual({ host: '::1', port: 0 })
  })

  it('paths: as given from flags/env, relative to the config file from the file', () => {
    expect(resolveOptions('peer', { flags: { identity: 'keys/peer.key' } }).identity).toBe('keys/peer.key')
    const sub = join(dir, 'etc')
    mkdirSync(sub)
    const cfg = join(sub, 'natkit.json')
    writeFileSync(cfg, JSON.stringify({ identity: 'peer.key' }))
    expect(resolveOptions('peer', { configFile: cfg }).identity).toBe(join(sub, 'peer.key'))
  })

  it('stun urls and strings', () => {
    expect(resolveOptions('peer', { flags: { stun: 'stun:127.0.0.1:3478,stun:stun.example.test:19302' } }).stun)
      .toEqual(['stun:127.0.0.1:3478', 'stun:stun.example.test:19302'])
    expect(resolveOptions('peer', { flags: { seed: 'alice' } }).seed).toBe('alice')
  })
})

describe('errors name the field, the value and the source', () => {
  const cases: Array<[string, Role, ConfigSources, string, string, RegExp]> = [
    ['bad multiaddr flag', 'peer', { flags: { listen: 'foo' } }, 'listen', 'flag', /^invalid value for --listen \(flag\): "foo" is not a multiaddr: .+/],
    ['int below min env', 'relay', { env: { NATKIT_MAX_RESERVATIONS: '-3' } }, 'maxReservations', 'env', /^invalid value for NATKIT_MAX_RESERVATIONS \(env\): "-3" must be an integer >= 1$/],
    ['int above max', 'peer', { flags: { holepunchAttempts: '11' } }, 'holepunchAttempts', 'flag', /"11" must be an integer <= 10/],
    ['not an int', 'peer', { flags: { maxConnections: '3.5' } }, 'maxConnections', 'flag', /--max-connections \(flag\): "3.5" is not an integer/],
    ['bad duration', 'peer', { env: { NATKIT_DIAL_TIMEOUT: '5 parsecs' } }, 'dialTimeout', 'env', /NATKIT_DIAL_TIMEOUT \(env\): "5 parsecs" is not a duration/],
    ['zero timeout', 'peer', { flags: { timeout: '0' } }, 'timeout', 'flag', /"0" must be a duration >= 1ms/],
    ['bad bytes', 'relay', { flags: { circuitData: '12 potatoes' } }, 'circuitData', 'flag', /"12 potatoes" is not a byte size/],
    ['bad boolean', 'peer', { env: { NATKIT_HOLEPUNCH: 'maybe' } }, 'holepunch', 'env', /NATKIT_HOLEPUNCH \(env\): "maybe" is not a boolean/],
    ['bad enum', 'peer', { flags: { network: 'mars' } }, 'network', 'flag', /"mars" must be one of local, lab, public/],
    ['bad hostport', 'relay', { flags: { metrics: '9090' } }, 'metrics', 'flag', /"9090" is not host:port/],
    ['port out of range', 'relay', { flags: { stunListen: '0.0.0.0:70000' } }, 'stunListen', 'flag', /port outside 0-65535/],
    ['empty path', 'peer', { flags: { identity: '' } }, 'identity', 'flag', /"" must be a non-empty path/],
    ['bootstrap without /p2p/', 'peer', { flags: { bootstrap: '/ip4/127.0.0.1/tcp/4011' } }, 'bootstrap', 'flag', /--bootstrap \(flag\): "\/ip4\/127.0.0.1\/tcp\/4011" must end with \/p2p\/<peerId>/],
    ['relay without /p2p/', 'peer', { env: { NATKIT_RELAY: `${BOOT},/ip4/127.0.0.1/tcp/4001` } }, 'relay', 'env', /NATKIT_RELAY \(env\): "\/ip4\/127.0.0.1\/tcp\/4001" must end with \/p2p/],
    ['bad peer id', 'peer', { flags: { relay: '/ip4/127.0.0.1/tcp/4001/p2p/notapeerid' } }, 'relay', 'flag', /"\/ip4\/127.0.0.1\/tcp\/4001\/p2p\/notapeerid" is not a multiaddr/],
    ['bad stun', 'peer', { flags: { stun: 'stun.example.test:3478' } }, 'stun', 'flag', /"stun.example.test:3478" is not a STUN server URL/],
    ['bad dht protocol', 'bootstrap', { flags: { dhtProtocol: 'kad' } }, 'dhtProtocol', 'flag', /"kad" must start with "\/"/],
    ['retry max below retry', 'peer', { flags: { reservationRetry: '10s', reservationRetryMax: '5s' } }, 'reservationRetryMax', 'flag', /--reservation-retry-max \(flag\): "5s" must be >= reservationRetry/]
  ]

  it.each(cases)('%s', (_name, role, sources, field, source, message) => {
    const err = configError(role, sources)
    expect(err.name).toBe('ConfigError')
    expect(err.field).toBe(field)
    expect(err.source).toBe(source)
    expect(err.message).toMatch(message)
    expect(err.message).not.toContain('\n')
  })

  it('names the file and key for bad values in the file', () => {
    const cfg = file({ maxReservations: 'lots' })
    const err = configError('relay', { configFile: cfg })
    expect(err.source).toBe('file')
    expect(err.field).toBe('maxReservations')
    expect(err.value).toBe('lots')
    expect(err.message).toBe(`invalid value for maxReservations in ${cfg} (file): "lots" is not an integer`)
  })

  it('requires JSON arrays for lists in the file', () => {
    const err = configError('peer', { configFile: file({ listen: '/ip4/127.0.0.1/tcp/1' }) })
    expect(err.message).toMatch(/listen in .* \(file\): .* must be a list/)
  })

  it('rejects an unknown key in the file, naming it', () => {
    const cfg = file({ maxConnections: 5, maxReservatons: 3 })
    const err = configError('relay', { configFile: cfg })
    expect(err.field).toBe('maxReservatons')
    expect(err.message).toContain('"maxReservatons"')
    expect(err.message).toContain(cfg)
  })

  it('rejects a key of another role and "config" in the file', () => {
    expect(configError('peer', { configFile: file({ maxReservations: 3 }) }).message).toMatch(/does not apply to role peer/)
    expect(configError('peer', { configFile: file({ config: 'other.json' }) }).message).toMatch(/not allowed there/)
  })

  it.each([
    ['missing', (): string => join(dir, 'missing.json'), /file not found/],
    ['not JSON', (): string => file('{ "network": "lab", }'), /not valid JSON/],
    ['an array', (): string => file('[1, 2]'), /expected a JSON object of options, got an array/],
    ['null', (): string => file('null'), /got null/],
    ['a directory', (): string => dir, /is a directory/]
  ])('config file %s → error naming the file', (_name, make, problem) => {
    const path = make()
    const err = configError('peer', { flags: { config: path } })
    expect(err).toBeInstanceOf(ConfigFileError)
    expect(err.field).toBe('config')
    expect(err.message).toContain(path)
    expect(err.message).toMatch(problem)
  })

  it('unreadable config file (as root: checked in a child that dropped to nobody)', () => {
    const readable = file({}, 'readable.json')
    const path = file({})
    chmodSync(path, 0)
    if (process.getuid?.() !== 0) {
      expect(configError('peer', { configFile: path }).message).toMatch(/permission denied/)
      return
    }
    // root reads any file: a child imports this package's source, then drops to
    // nobody before reading, and reports each file's error message (or null)
    chmodSync(dir, 0o755)
    const script = `
      import { resolveOptions } from ${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)}
      process.setgroups([${NOBODY}]); process.setgid(${NOBODY}); process.setuid(${NOBODY})
      const out = { uid: process.getuid() }
      for (const f of process.argv.slice(1)) {
        try { resolveOptions('peer', { configFile: f }); out[f] = null } catch (err) { out[f] = err.message }
      }
      process.stdout.write(JSON.stringify(out))
    `
    const res = spawnSync(process.execPath, ['--no-warnings', '--conditions=source', '--import', TS_HOOKS, '--input-type=module', '-e', script, readable, path], { encoding: 'utf8', timeout: 20_000 })
    expect(res.stderr).toBe('')
    const out = JSON.parse(res.stdout)
    expect(out.uid).toBe(NOBODY)
    expect(out[readable]).toBeNull()
    expect(out[path]).toContain(path)
    expect(out[path]).toMatch(/permission denied/)
  })

  it('identity and seed together are refused, naming both sources', () => {
    const err = configError('peer', { flags: { identity: '/tmp/k' }, env: { NATKIT_SEED: 'alice' } })
    expect(err.field).toBe('seed')
    expect(err.source).toBe('env')
    expect(err.message).toContain('NATKIT_SEED (env)')
    expect(err.message).toContain('--identity (flag)')
    // each alone is fine
    expect(resolveOptions('peer', { flags: { identity: '/tmp/k' } }).identity).toBe('/tmp/k')
    expect(resolveOptions('peer', { env: { NATKIT_SEED: 'alice' } }).seed).toBe('alice')
  })

  it('a repeated scalar flag takes the last value but a list in env/file does not', () => {
    expect(resolveOptions('peer', { flags: { maxConnections: ['5', '6'] } }).maxConnections).toBe(6)
    expect(configError('peer', { configFile: file({ maxConnections: [5, 6] }) }).message).toMatch(/must be a single integer/)
  })
})

describe('describeOptions', () => {
  it('lists every option of the role with flag, env, default and description', () => {
    const text = describeOptions('relay')
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^FLAG\s+ENV\s+DEFAULT\s+DESCRIPTION$/)
    expect(lines).toHaveLength(optionsFor('relay').length + 1)
    expect(text).toMatch(/--max-reservations <n>\s+NATKIT_MAX_RESERVATIONS\s+128\s+maximum concurrent relay reservations/)
    expect(text).toMatch(/--circuit-data <bytes>\s+NATKIT_CIRCUIT_DATA\s+128KiB/)
    expect(text).toMatch(/--reservation-ttl <duration>\s+NATKIT_RESERVATION_TTL\s+2h/)
    expect(text).toMatch(/--autonat \/ --no-autonat/)
    expect(text).not.toContain('--holepunch')
  })

  it('shows preset-dependent defaults', () => {
    const text = describeOptions('peer')
    expect(text).toMatch(/local\/lab: \/natkit\/kad\/1\.0\.0; public: \/ipfs\/kad\/1\.0\.0/)
    expect(text).toMatch(/local\/lab: \[\]; public: PUBLIC_BOOTSTRAP_PEERS/)
    expect(describeOptions('autonat')).toMatch(/--timeout <duration>\s+NATKIT_TIMEOUT\s+10s/)
  })
})

describe('cliFlags', () => {
  it('keeps only values the user typed', () => {
    const values: Record<string, unknown> = { holepunch: true, listen: ['/ip4/127.0.0.1/tcp/5'] }
    const sources: Record<string, string> = { holepunch: 'default', listen: 'cli' }
    const flags = cliFlags({ opts: () => values, getOptionValueSource: (k) => sources[k] })
    expect(flags).toEqual({ listen: ['/ip4/127.0.0.1/tcp/5'] })
    // so the env value is not masked by commander's implied default
    expect(resolveOptions('peer', { flags, env: { NATKIT_HOLEPUNCH: 'false' } }).holepunch).toBe(false)
  })
})
