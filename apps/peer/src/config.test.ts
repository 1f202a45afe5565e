/** The peer's option rows through @natkit/config (moved from packages/config with the rows, issue 9). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, NATKIT_DHT_PROTOCOL, PUBLIC_DHT_PROTOCOL, ROLE_OPTION_KEYS, COMMON_SPECS, describeOptions, resolveOptions, type ConfigSources } from '@natkit/config'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PEER_ROLE } from './options.js'

const PEER_A = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const BOOT = `/ip4/127.0.0.1/tcp/4011/p2p/${PEER_A}`

let dir: string
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'natkit-peer-config-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

function file (content: unknown): string {
  const path = join(dir, 'natkit.json')
  writeFileSync(path, JSON.stringify(content))
  return path
}

function configError (sources: ConfigSources): ConfigError {
  try {
    resolveOptions(PEER_ROLE, sources)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected resolveOptions to throw')
}

describe('peer options', () => {
  it('the common rows, then the peer\'s, in help order; ROLE_OPTION_KEYS.peer names exactly the peer\'s own', () => {
    const keys = PEER_ROLE.specs.map(s => s.key)
    expect(keys).toEqual([...COMMON_SPECS.map(s => s.key), ...ROLE_OPTION_KEYS.peer])
  })

  it('has the documented defaults', () => {
    const peer = resolveOptions(PEER_ROLE, {})
    expect(peer.role).toBe('peer')
    expect(peer.listen).toEqual(['/ip4/0.0.0.0/tcp/0'])
    expect(peer.timeout).toBe(30_000)
    expect(peer.holepunchAttempts).toBe(3)
    expect(peer.stun).toEqual([])
    expect(peer.pingInterval).toBe(0)
    expect(peer.dhtProtocol).toBe(NATKIT_DHT_PROTOCOL)
    expect(resolveOptions(PEER_ROLE, { flags: { network: 'public' } }).dhtProtocol).toBe(PUBLIC_DHT_PROTOCOL)
    // UPnP multicasts SSDP on the LAN and changes the router: opt-in only
    expect(peer.upnp).toBe(false)
    expect(resolveOptions(PEER_ROLE, { flags: { upnp: true } }).upnp).toBe(true)
  })

  it('reads its rows from flags, env and the file', () => {
    expect(resolveOptions(PEER_ROLE, { configFile: file({ relay: [BOOT] }) }).relay).toEqual([BOOT])
    expect(resolveOptions(PEER_ROLE, { env: { NATKIT_HOLEPUNCH_ATTEMPTS: '10' } }).holepunchAttempts).toBe(10)
    expect(resolveOptions(PEER_ROLE, { env: { NATKIT_HOLEPUNCH_TIMEOUT: '2s' } }).holepunchTimeout).toBe(2000)
    expect(resolveOptions(PEER_ROLE, { env: { NATKIT_HOLEPUNCH: 'no' } }).holepunch).toBe(false)
    expect(resolveOptions(PEER_ROLE, { flags: { stun: 'stun:127.0.0.1:3478,stun:stun.example.test:19302' } }).stun)
      .toEqual(['stun:127.0.0.1:3478', 'stun:stun.example.test:19302'])
  })

  it.each([
    ['int above max', { flags: { holepunchAttempts: '11' } }, 'holepunchAttempts', /"11" must be an integer <= 10/],
    ['zero timeout', { flags: { timeout: '0' } }, 'timeout', /"0" must be a duration >= 1ms/],
    ['relay without /p2p/', { env: { NATKIT_RELAY: `${BOOT},/ip4/127.0.0.1/tcp/4001` } }, 'relay', /NATKIT_RELAY \(env\): "\/ip4\/127.0.0.1\/tcp\/4001" must end with \/p2p/],
    ['bad stun', { flags: { stun: 'stun.example.test:3478' } }, 'stun', /"stun.example.test:3478" is not a STUN server URL/],
    ['retry max below retry', { flags: { reservationRetry: '10s', reservationRetryMax: '5s' } }, 'reservationRetryMax', /^invalid value for --reservation-retry-max \(flag\): "5s" must be >= reservationRetry \(10000ms\)$/],
    ['retry max below retry (env)', { env: { NATKIT_RESERVATION_RETRY_MAX: '1s' } }, 'reservationRetryMax', /^invalid value for NATKIT_RESERVATION_RETRY_MAX \(env\): "1s" must be >= reservationRetry \(2000ms\)$/]
  ] as Array<[string, ConfigSources, string, RegExp]>)('%s', (_name, sources, field, message) => {
    const err = configError(sources)
    expect(err.field).toBe(field)
    expect(err.message).toMatch(message)
  })

  it('retry max equal to retry is fine', () => {
    expect(resolveOptions(PEER_ROLE, { flags: { reservationRetry: '5s', reservationRetryMax: '5s' } }).reservationRetryMax).toBe(5000)
  })

  it('refuses another role\'s key in the config file, naming its role', () => {
    const cfg = file({ maxReservations: 3 })
    expect(configError({ configFile: cfg }).message).toBe(`option "maxReservations" in config file ${cfg} does not apply to role peer (it is for relay)`)
    const cfg2 = file({ server: [] })
    expect(configError({ configFile: cfg2 }).message).toBe(`option "server" in config file ${cfg2} does not apply to role peer (it is for autonat)`)
  })

  it('describeOptions shows preset-dependent defaults', () => {
    const text = describeOptions(PEER_ROLE)
    expect(text).toMatch(/local\/lab: \/natkit\/kad\/1\.0\.0; public: \/ipfs\/kad\/1\.0\.0/)
    expect(text).toMatch(/local\/lab: \[\]; public: PUBLIC_BOOTSTRAP_PEERS/)
    expect(text).toMatch(/--timeout <duration>\s+NATKIT_TIMEOUT\s+30s/)
    expect(text).not.toContain('--max-reservations')
  })
})
