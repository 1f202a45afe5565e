import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TS_HOOKS } from '@natkit/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  COMMON_SPECS,
  ConfigError,
  ConfigFileError,
  DHT_PROTOCOL_SPEC,
  NATKIT_DHT_PROTOCOL,
  PUBLIC_BOOTSTRAP_PEERS,
  PUBLIC_DHT_PROTOCOL,
  ROLES,
  ROLE_OPTION_KEYS,
  checkStunUrl,
  cliFlags,
  defineRole,
  describeOptions,
  distinctLimitFlags,
  parseBytes,
  parseDuration,
  resolveOptions,
  rolesWithKey,
  spec
} from './index.js'
import type { CommonOptions, ConfigSources, HostPort, RoleDefinition } from './index.js'

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

function configError (role: RoleDefinition, sources: ConfigSources): ConfigError {
  try {
    resolveOptions(role, sources)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected resolveOptions to throw')
}


/**
 * A made-up role exercising the machinery: one row of each type, a
 * preset-dependent default and a cross-field check. (The real roles' rows
 * live in their apps, with their own tests.)
 */
interface DemoOptions extends CommonOptions {
  role: 'peer'
  dhtProtocol: string
  count: number
  wait: number
  idle: number
  size: number
  flagOn: boolean
  at?: HostPort
  upstream: string[]
  urls: string[]
  low: number
  high: number
}

const DEMO_LISTEN = ['/ip4/0.0.0.0/tcp/0']
const DEMO = defineRole<DemoOptions>({
  name: 'peer',
  listen: DEMO_LISTEN,
  specs: [
    DHT_PROTOCOL_SPEC,
    spec('count', 'int', 3, 'a count', { min: 1, max: 10, arg: '<n>' }),
    spec('wait', 'duration', 30_000, 'a wait', { min: 1, arg: '<duration>' }),
    spec('idle', 'duration', 0, 'an interval; 0 = off', { min: 0, arg: '<duration>' }),
    spec('size', 'bytes', 128 * 1024, 'a size', { min: 1, arg: '<bytes>' }),
    spec('flagOn', 'boolean', true, 'on unless turned off'),
    spec('at', 'hostport', undefined, 'a host:port; unset = off', { arg: '<host:port>' }),
    spec('upstream', 'multiaddr[]', [], 'upstream peers (each ending in /p2p/<peerId>)', { arg: '<multiaddr>', requirePeerId: true }),
    spec('urls', 'string[]', [], 'STUN urls', { arg: '<url>', check: checkStunUrl }),
    spec('low', 'duration', 2_000, 'a lower bound', { min: 1 }),
    spec('high', 'duration', 60_000, 'an upper bound', { min: 1 })
  ],
  check: (o, ctx) => {
    if (o.high < o.low) ctx.fail('high', `must be >= low (${String(o.low)}ms)`)
  }
})


describe('role definitions', () => {
  it('common rows first, then the role\'s own; flags and env names derive from the key', () => {
    const keys = DEMO.specs.map(s => s.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys.slice(0, COMMON_SPECS.length)).toEqual(COMMON_SPECS.map(s => s.key))
    expect(keys.slice(COMMON_SPECS.length)).toEqual(['dhtProtocol', 'count', 'wait', 'idle', 'size', 'flagOn', 'at', 'upstream', 'urls', 'low', 'high'])
    const flagOn = DEMO.specs.find(s => s.key === 'flagOn')
    expect(flagOn?.flag).toBe('--flag-on')
    expect(flagOn?.env).toBe('NATKIT_FLAG_ON')
  })

  it('rejects an unknown role and a key defined twice', () => {
    expect(() => defineRole({ name: 'nope' as 'peer', listen: [], specs: [] })).toThrow(/unknown role/)
    expect(() => defineRole({ name: 'peer', listen: [], specs: [spec('json', 'boolean', false, 'again')] })).toThrow(/option json is defined twice/)
  })

  it('knows which roles own which keys, for refusing another role\'s key', () => {
    expect(rolesWithKey('maxReservations')).toEqual(['relay'])
    expect(rolesWithKey('timeout')).toEqual(['peer', 'autonat'])
    // a relay with --bootstrap advertises itself in the DHT (issue 14)
    expect(rolesWithKey('dhtProtocol')).toEqual(['bootstrap', 'relay', 'peer'])
    expect(rolesWithKey('relays')).toEqual(['peer'])
    expect(rolesWithKey('maxReservatons')).toEqual([])
    for (const role of ROLES) {
      for (const key of ROLE_OPTION_KEYS[role]) expect(COMMON_SPECS.map(s => s.key)).not.toContain(key)
    }
  })

  it('distinctLimitFlags gives every limit a value unlike its default and the others, within bounds', () => {
    const { limits, flags } = distinctLimitFlags(DEMO, new Set(['low']))
    expect(limits.map(s => s.key)).toEqual(['maxConnections', 'dialTimeout', 'maxPendingInbound', 'maxPendingInboundPerIp', 'handshakeTimeout', 'count', 'wait', 'idle', 'size', 'high'])
    expect(new Set(Object.values(flags)).size).toBe(limits.length)
    expect(flags.count).not.toBe(3)
    expect(flags.count).toBeLessThanOrEqual(10)
    expect(resolveOptions(DEMO, { flags }).count).toBe(flags.count)
  })
})

describe('defaults', () => {
  it('resolves with only defaults, carrying role, network and the role\'s listen', () => {
    const opts = resolveOptions(DEMO, {})
    expect(opts.role).toBe('peer')
    expect(opts.network).toBe('local')
    expect(opts.listen).toEqual(DEMO_LISTEN)
    expect(opts.bootstrap).toEqual([])
    expect(opts.identity).toBeUndefined()
    expect(opts.metrics).toBeUndefined()
    expect(opts.maxConnections).toBe(300)
    expect(opts.dialTimeout).toBe(10_000)
    expect(opts.logLevel).toBe('info')
    expect(opts.json).toBe(false)
    expect(opts).toMatchObject({ count: 3, wait: 30_000, size: 131072, flagOn: true, upstream: [], urls: [], dhtProtocol: NATKIT_DHT_PROTOCOL })
    expect(opts.at).toBeUndefined()
  })

  it('public preset uses PUBLIC_BOOTSTRAP_PEERS and the IPFS DHT; local and lab do not', () => {
    const pub = resolveOptions(DEMO, { flags: { network: 'public' } })
    expect(pub.bootstrap).toEqual([...PUBLIC_BOOTSTRAP_PEERS])
    expect(pub.dhtProtocol).toBe(PUBLIC_DHT_PROTOCOL)
    expect(pub.urls).toEqual([])

    for (const network of ['local', 'lab']) {
      const opts = resolveOptions(DEMO, { env: { NATKIT_NETWORK: network } })
      expect(opts.network).toBe(network)
      expect(opts.bootstrap).toEqual([])
      expect(opts.dhtProtocol).toBe(NATKIT_DHT_PROTOCOL)
    }
  })

  it('every public bootstrap peer is a valid /p2p/ multiaddr', () => {
    expect(PUBLIC_BOOTSTRAP_PEERS).toHaveLength(5)
    const opts = resolveOptions(DEMO, { flags: { bootstrap: [...PUBLIC_BOOTSTRAP_PEERS] } })
    expect(opts.bootstrap).toEqual([...PUBLIC_BOOTSTRAP_PEERS])
  })
})

describe('precedence', () => {
  it('flag beats env beats file beats default', () => {
    const cfg = file({ count: 3, wait: '7s', size: 2048 })
    const env = { NATKIT_COUNT: '4', NATKIT_WAIT: '8s' }

    const all = resolveOptions(DEMO, { flags: { count: '5' }, env, configFile: cfg })
    expect(all.count).toBe(5)
    expect(all.wait).toBe(8000)
    expect(all.size).toBe(2048)
    expect(all.low).toBe(2000)
    expect(all.config).toBe(cfg)

    expect(resolveOptions(DEMO, { env, configFile: cfg }).count).toBe(4)
    expect(resolveOptions(DEMO, { configFile: cfg }).count).toBe(3)
    expect(resolveOptions(DEMO, {}).count).toBe(3)
  })


  it('takes network from the file and applies its preset defaults', () => {
    const cfg = file({ network: 'public' })
    const opts = resolveOptions(DEMO, { configFile: cfg })
    expect(opts.network).toBe('public')
    expect(opts.bootstrap).toEqual([...PUBLIC_BOOTSTRAP_PEERS])
    expect(opts.dhtProtocol).toBe(PUBLIC_DHT_PROTOCOL)

    // a higher-precedence network overrides the file's, and with it the defaults
    const local = resolveOptions(DEMO, { configFile: cfg, env: { NATKIT_NETWORK: 'lab' } })
    expect(local.network).toBe('lab')
    expect(local.bootstrap).toEqual([])

    // explicitly set values beat preset defaults
    const explicit = resolveOptions(DEMO, { configFile: cfg, flags: { bootstrap: BOOT, dhtProtocol: '/mine/kad/1.0.0' } })
    expect(explicit.bootstrap).toEqual([BOOT])
    expect(explicit.dhtProtocol).toBe('/mine/kad/1.0.0')
  })

  it('reads the config file named by --config, then NATKIT_CONFIG, then sources.configFile', () => {
    const a = file({ maxConnections: 1 }, 'a.json')
    const b = file({ maxConnections: 2 }, 'b.json')
    const c = file({ maxConnections: 3 }, 'c.json')
    expect(resolveOptions(DEMO, { flags: { config: a }, env: { NATKIT_CONFIG: b }, configFile: c }).maxConnections).toBe(1)
    expect(resolveOptions(DEMO, { env: { NATKIT_CONFIG: b }, configFile: c }).maxConnections).toBe(2)
    expect(resolveOptions(DEMO, { configFile: c }).maxConnections).toBe(3)
    expect(resolveOptions(DEMO, { env: { NATKIT_CONFIG: b } }).config).toBe(b)
  })

  it('empty env var unsets a scalar but empties a list', () => {
    const cfg = file({ metrics: '127.0.0.1:9090', network: 'public' })
    const opts = resolveOptions(DEMO, { configFile: cfg, env: { NATKIT_METRICS: '', NATKIT_BOOTSTRAP: '' } })
    expect(opts.metrics).toEqual({ host: '127.0.0.1', port: 9090 })
    expect(opts.bootstrap).toEqual([])
  })


  it('ignores undefined flags and unrelated keys', () => {
    const opts = resolveOptions(DEMO, { flags: { flagOn: undefined, somethingElse: 'x' }, env: { PATH: '/bin', NATKIT_MAX_RESERVATIONS: 'junk' } })
    expect(opts.flagOn).toBe(true)
  })
})

describe('coercion', () => {
  it('multiaddr lists: repeated flags, comma-separated flags and env, JSON arrays', () => {
    expect(resolveOptions(DEMO, { flags: { listen: ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2,/ip4/127.0.0.1/tcp/3/ws'] } }).listen)
      .toEqual(['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3/ws'])
    expect(resolveOptions(DEMO, { env: { NATKIT_ANNOUNCE: '/ip4/11.0.0.4/tcp/1, /dns4/example.test/tcp/2' } }).announce)
      .toEqual(['/ip4/11.0.0.4/tcp/1', '/dns4/example.test/tcp/2'])
    expect(resolveOptions(DEMO, { configFile: file({ upstream: [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER_A}`] }) }).upstream)
      .toEqual([`/ip4/127.0.0.1/tcp/4001/p2p/${PEER_A}`])
  })

  it('ints', () => {
    expect(resolveOptions(DEMO, { flags: { count: '7' } }).count).toBe(7)
    expect(resolveOptions(DEMO, { configFile: file({ count: 9 }) }).count).toBe(9)
    expect(resolveOptions(DEMO, { env: { NATKIT_COUNT: '10' } }).count).toBe(10)
  })

  it('durations', () => {
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('5s')).toBe(5000)
    expect(parseDuration('2m')).toBe(120_000)
    expect(parseDuration('1h')).toBe(3_600_000)
    expect(parseDuration('1500')).toBe(1500)
    expect(parseDuration('1.5s')).toBe(1500)
    expect(parseDuration(42)).toBe(42)
    expect(resolveOptions(DEMO, { env: { NATKIT_WAIT: '2s' } }).wait).toBe(2000)
    expect(resolveOptions(DEMO, { configFile: file({ idle: 1000 }) }).idle).toBe(1000)
    expect(resolveOptions(DEMO, { flags: { idle: '0' } }).idle).toBe(0)
  })

  it('bytes', () => {
    expect(parseBytes('128KiB')).toBe(131072)
    expect(parseBytes('1MiB')).toBe(1048576)
    expect(parseBytes('1kB')).toBe(1000)
    expect(parseBytes('4096')).toBe(4096)
    expect(resolveOptions(DEMO, { flags: { size: '1MiB' } }).size).toBe(1048576)
    expect(resolveOptions(DEMO, { configFile: file({ size: '64KiB' }) }).size).toBe(65536)
  })

  it('booleans', () => {
    for (const [input, want] of [['true', true], ['false', false], ['1', true], ['0', false], ['yes', true], ['NO', false]] as const) {
      expect(resolveOptions(DEMO, { env: { NATKIT_FLAG_ON: input } }).flagOn).toBe(want)
    }
    expect(resolveOptions(DEMO, { flags: { flagOn: false } }).flagOn).toBe(false)
    expect(resolveOptions(DEMO, { configFile: file({ flagOn: false }) }).flagOn).toBe(false)
    expect(resolveOptions(DEMO, { flags: { json: true } }).json).toBe(true)
  })

  it('enums', () => {
    expect(resolveOptions(DEMO, { flags: { logLevel: 'debug' } }).logLevel).toBe('debug')
    expect(resolveOptions(DEMO, { env: { NATKIT_LOG_LEVEL: 'WARN' } }).logLevel).toBe('warn')
  })

  it('hostport', () => {
    expect(resolveOptions(DEMO, { flags: { metrics: '127.0.0.1:9090' } }).metrics).toEqual({ host: '127.0.0.1', port: 9090 })
    expect(resolveOptions(DEMO, { env: { NATKIT_AT: '0.0.0.0:3478' } }).at).toEqual({ host: '0.0.0.0', port: 3478 })
    expect(resolveOptions(DEMO, { flags: { metrics: '[::1]:0' } }).metrics).toEqual({ host: '::1', port: 0 })
  })


  it('paths: as given from flags/env, relative to the config file from the file', () => {
    expect(resolveOptions(DEMO, { flags: { identity: 'keys/peer.key' } }).identity).toBe('keys/peer.key')
    const sub = join(dir, 'etc')
    mkdirSync(sub)
    const cfg = join(sub, 'natkit.json')
    writeFileSync(cfg, JSON.stringify({ identity: 'peer.key' }))
    expect(resolveOptions(DEMO, { configFile: cfg }).identity).toBe(join(sub, 'peer.key'))
  })

  it('stun urls and strings', () => {
    expect(resolveOptions(DEMO, { flags: { urls: 'stun:127.0.0.1:3478,stun:stun.example.test:19302' } }).urls)
      .toEqual(['stun:127.0.0.1:3478', 'stun:stun.example.test:19302'])
    expect(resolveOptions(DEMO, { flags: { seed: 'alice' } }).seed).toBe('alice')
  })
})

describe('errors name the field, the value and the source', () => {
  const cases: Array<[string, ConfigSources, string, string, RegExp]> = [
    ['bad multiaddr flag', { flags: { listen: 'foo' } }, 'listen', 'flag', /^invalid value for --listen \(flag\): "foo" is not a multiaddr: .+/],
    ['int below min env', { env: { NATKIT_COUNT: '-3' } }, 'count', 'env', /^invalid value for NATKIT_COUNT \(env\): "-3" must be an integer >= 1$/],
    ['int above max', { flags: { count: '11' } }, 'count', 'flag', /"11" must be an integer <= 10/],
    ['not an int', { flags: { maxConnections: '3.5' } }, 'maxConnections', 'flag', /--max-connections \(flag\): "3.5" is not an integer/],
    ['bad duration', { env: { NATKIT_DIAL_TIMEOUT: '5 parsecs' } }, 'dialTimeout', 'env', /NATKIT_DIAL_TIMEOUT \(env\): "5 parsecs" is not a duration/],
    ['zero duration', { flags: { wait: '0' } }, 'wait', 'flag', /"0" must be a duration >= 1ms/],
    ['bad bytes', { flags: { size: '12 potatoes' } }, 'size', 'flag', /"12 potatoes" is not a byte size/],
    ['bad boolean', { env: { NATKIT_FLAG_ON: 'maybe' } }, 'flagOn', 'env', /NATKIT_FLAG_ON \(env\): "maybe" is not a boolean/],
    ['bad enum', { flags: { network: 'mars' } }, 'network', 'flag', /"mars" must be one of local, lab, public/],
    ['bad hostport', { flags: { metrics: '9090' } }, 'metrics', 'flag', /"9090" is not host:port/],
    ['port out of range', { flags: { at: '0.0.0.0:70000' } }, 'at', 'flag', /port outside 0-65535/],
    ['empty path', { flags: { identity: '' } }, 'identity', 'flag', /"" must be a non-empty path/],
    ['bootstrap without /p2p/', { flags: { bootstrap: '/ip4/127.0.0.1/tcp/4011' } }, 'bootstrap', 'flag', /--bootstrap \(flag\): "\/ip4\/127.0.0.1\/tcp\/4011" must end with \/p2p\/<peerId>/],
    ['list item without /p2p/', { env: { NATKIT_UPSTREAM: `${BOOT},/ip4/127.0.0.1/tcp/4001` } }, 'upstream', 'env', /NATKIT_UPSTREAM \(env\): "\/ip4\/127.0.0.1\/tcp\/4001" must end with \/p2p/],
    ['bad peer id', { flags: { upstream: '/ip4/127.0.0.1/tcp/4001/p2p/notapeerid' } }, 'upstream', 'flag', /"\/ip4\/127.0.0.1\/tcp\/4001\/p2p\/notapeerid" is not a multiaddr/],
    ['bad stun', { flags: { urls: 'stun.example.test:3478' } }, 'urls', 'flag', /"stun.example.test:3478" is not a STUN server URL/],
    ['bad dht protocol', { flags: { dhtProtocol: 'kad' } }, 'dhtProtocol', 'flag', /"kad" must start with "\/"/],
    ['role check (ctx.fail)', { flags: { low: '10s', high: '5s' } }, 'high', 'flag', /^invalid value for --high \(flag\): "5s" must be >= low \(10000ms\)$/],
    ['role check from the file', { configFile: '' }, 'high', 'file', /^invalid value for high in .*natkit\.json \(file\): 100 must be >= low \(2000ms\)$/]
  ]

  it.each(cases)('%s', (_name, sources, field, source, message) => {
    const err = configError(DEMO, sources.configFile === '' ? { configFile: file({ high: 100 }) } : sources)
    expect(err.name).toBe('ConfigError')
    expect(err.field).toBe(field)
    expect(err.source).toBe(source)
    expect(err.message).toMatch(message)
    expect(err.message).not.toContain('\n')
  })

  it('names the file and key for bad values in the file', () => {
    const cfg = file({ count: 'lots' })
    const err = configError(DEMO, { configFile: cfg })
    expect(err.source).toBe('file')
    expect(err.field).toBe('count')
    expect(err.value).toBe('lots')
    expect(err.message).toBe(`invalid value for count in ${cfg} (file): "lots" is not an integer`)
  })

  it('requires JSON arrays for lists in the file', () => {
    const err = configError(DEMO, { configFile: file({ listen: '/ip4/127.0.0.1/tcp/1' }) })
    expect(err.message).toMatch(/listen in .* \(file\): .* must be a list/)
  })

  it('rejects an unknown key in the file, naming it', () => {
    const cfg = file({ maxConnections: 5, maxReservatons: 3 })
    const err = configError(DEMO, { configFile: cfg })
    expect(err.field).toBe('maxReservatons')
    expect(err.message).toBe(`unknown option "maxReservatons" in config file ${cfg}`)
  })

  it('rejects a key of another role, naming its roles, and "config" in the file', () => {
    const cfg = file({ maxReservations: 3 })
    expect(configError(DEMO, { configFile: cfg }).message).toBe(`option "maxReservations" in config file ${cfg} does not apply to role peer (it is for relay)`)
    const cfg2 = file({ kBucketSize: 3 }, 'k.json')
    expect(configError(DEMO, { configFile: cfg2 }).message).toBe(`option "kBucketSize" in config file ${cfg2} does not apply to role peer (it is for bootstrap)`)
    const cfg3 = file({ config: 'other.json' }, 'c.json')
    expect(configError(DEMO, { configFile: cfg3 }).message).toBe(`option "config" in config file ${cfg3} is not allowed there (use --config or NATKIT_CONFIG)`)
  })

  it.each([
    ['missing', (): string => join(dir, 'missing.json'), /file not found/],
    ['not JSON', (): string => file('{ "network": "lab", }'), /not valid JSON/],
    ['an array', (): string => file('[1, 2]'), /expected a JSON object of options, got an array/],
    ['null', (): string => file('null'), /got null/],
    ['a directory', (): string => dir, /is a directory/]
  ])('config file %s → error naming the file', (_name, make, problem) => {
    const path = make()
    const err = configError(DEMO, { flags: { config: path } })
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
      expect(configError(DEMO, { configFile: path }).message).toMatch(/permission denied/)
      return
    }
    // root reads any file: a child imports this package's source, then drops to
    // nobody before reading, and reports each file's error message (or null)
    chmodSync(dir, 0o755)
    const script = `
      import { defineRole, resolveOptions } from ${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)}
      const role = defineRole({ name: 'peer', listen: [], specs: [] })
      process.setgroups([${NOBODY}]); process.setgid(${NOBODY}); process.setuid(${NOBODY})
      const out = { uid: process.getuid() }
      for (const f of process.argv.slice(1)) {
        try { resolveOptions(role, { configFile: f }); out[f] = null } catch (err) { out[f] = err.message }
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
    const err = configError(DEMO, { flags: { identity: '/tmp/k' }, env: { NATKIT_SEED: 'alice' } })
    expect(err.field).toBe('seed')
    expect(err.source).toBe('env')
    expect(err.message).toContain('NATKIT_SEED (env)')
    expect(err.message).toContain('--identity (flag)')
    // each alone is fine
    expect(resolveOptions(DEMO, { flags: { identity: '/tmp/k' } }).identity).toBe('/tmp/k')
    expect(resolveOptions(DEMO, { env: { NATKIT_SEED: 'alice' } }).seed).toBe('alice')
  })

  it('a repeated scalar flag takes the last value but a list in env/file does not', () => {
    expect(resolveOptions(DEMO, { flags: { maxConnections: ['5', '6'] } }).maxConnections).toBe(6)
    expect(configError(DEMO, { configFile: file({ maxConnections: [5, 6] }) }).message).toMatch(/must be a single integer/)
  })
})

describe('describeOptions', () => {
  it('lists every option of the role with flag, env, default and description', () => {
    const text = describeOptions(DEMO)
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^FLAG\s+ENV\s+DEFAULT\s+DESCRIPTION$/)
    expect(lines).toHaveLength(DEMO.specs.length + 1)
    expect(text).toMatch(/--count <n>\s+NATKIT_COUNT\s+3\s+a count/)
    expect(text).toMatch(/--size <bytes>\s+NATKIT_SIZE\s+128KiB/)
    expect(text).toMatch(/--wait <duration>\s+NATKIT_WAIT\s+30s/)
    expect(text).toMatch(/--listen <multiaddr>\s+NATKIT_LISTEN\s+\/ip4\/0\.0\.0\.0\/tcp\/0\s/)
    expect(text).toMatch(/--flag-on \/ --no-flag-on/)
    expect(text).toMatch(/--json\s+NATKIT_JSON/)
  })

  it('shows preset-dependent defaults', () => {
    const text = describeOptions(DEMO)
    expect(text).toMatch(/local\/lab: \/natkit\/kad\/1\.0\.0; public: \/ipfs\/kad\/1\.0\.0/)
    expect(text).toMatch(/local\/lab: \[\]; public: PUBLIC_BOOTSTRAP_PEERS/)
  })
})


describe('cliFlags', () => {
  it('keeps only values the user typed', () => {
    const values: Record<string, unknown> = { flagOn: true, listen: ['/ip4/127.0.0.1/tcp/5'] }
    const sources: Record<string, string> = { flagOn: 'default', listen: 'cli' }
    const flags = cliFlags({ opts: () => values, getOptionValueSource: (k) => sources[k] })
    expect(flags).toEqual({ listen: ['/ip4/127.0.0.1/tcp/5'] })
    // so the env value is not masked by commander's implied default
    expect(resolveOptions(DEMO, { flags, env: { NATKIT_FLAG_ON: 'false' } }).flagOn).toBe(false)
  })
})
