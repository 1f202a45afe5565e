/** The relay's option rows through @natkit/config (moved from packages/config with the rows, issue 9). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { COMMON_SPECS, ConfigError, ROLE_OPTION_KEYS, describeOptions, resolveOptions, type ConfigSources } from '@natkit/config'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULT_CIRCUIT_DATA, DEFAULT_MAX_RESERVATIONS, RELAY_ROLE } from './options.js'

let dir: string
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'natkit-relay-config-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

function file (content: unknown): string {
  const path = join(dir, 'natkit.json')
  writeFileSync(path, JSON.stringify(content))
  return path
}

function configError (sources: ConfigSources): ConfigError {
  try {
    resolveOptions(RELAY_ROLE, sources)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected resolveOptions to throw')
}

describe('relay options', () => {
  it('the common rows, then the relay\'s, in help order; ROLE_OPTION_KEYS.relay names exactly the relay\'s own', () => {
    expect(RELAY_ROLE.specs.map(s => s.key)).toEqual([...COMMON_SPECS.map(s => s.key), ...ROLE_OPTION_KEYS.relay])
    const row = RELAY_ROLE.specs.find(s => s.key === 'maxReservations')
    expect(row?.flag).toBe('--max-reservations')
    expect(row?.env).toBe('NATKIT_MAX_RESERVATIONS')
  })

  it('has the documented defaults', () => {
    const relay = resolveOptions(RELAY_ROLE, {})
    expect(relay.listen).toEqual(['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'])
    expect(relay.maxReservations).toBe(DEFAULT_MAX_RESERVATIONS)
    expect(relay.reservationTtl).toBe(2 * 3600_000)
    expect(relay.circuitDuration).toBe(120_000)
    expect(relay.circuitData).toBe(131072)
    expect(relay.circuitData).toBe(DEFAULT_CIRCUIT_DATA)
    expect(relay.autonat).toBe(true)
    expect(relay.stunListen).toBeUndefined()
  })

  it('flag beats env beats file beats default', () => {
    const cfg = file({ maxReservations: 10, hopTimeout: '7s', circuitData: '64KiB' })
    const env = { NATKIT_MAX_RESERVATIONS: '20', NATKIT_HOP_TIMEOUT: '8s' }
    const all = resolveOptions(RELAY_ROLE, { flags: { maxReservations: '30' }, env, configFile: cfg })
    expect(all).toMatchObject({ maxReservations: 30, hopTimeout: 8000, circuitData: 65536, maxCircuitsPerPeer: 16 })
    expect(resolveOptions(RELAY_ROLE, { env, configFile: cfg }).maxReservations).toBe(20)
    expect(resolveOptions(RELAY_ROLE, { configFile: cfg }).maxReservations).toBe(10)
    expect(resolveOptions(RELAY_ROLE, { env: { NATKIT_STUN_LISTEN: '0.0.0.0:3478' } }).stunListen).toEqual({ host: '0.0.0.0', port: 3478 })
  })

  it('errors name the row, the value and the source', () => {
    expect(configError({ env: { NATKIT_MAX_RESERVATIONS: '-3' } }).message).toBe('invalid value for NATKIT_MAX_RESERVATIONS (env): "-3" must be an integer >= 1')
    expect(configError({ flags: { circuitData: '12 potatoes' } }).message).toMatch(/"12 potatoes" is not a byte size/)
    expect(configError({ flags: { stunListen: '0.0.0.0:70000' } }).message).toMatch(/port outside 0-65535/)
    const cfg = file({ maxReservations: 'lots' })
    expect(configError({ configFile: cfg }).message).toBe(`invalid value for maxReservations in ${cfg} (file): "lots" is not an integer`)
  })

  it('refuses another role\'s key in the config file, naming its roles', () => {
    const cfg = file({ timeout: '5s' })
    expect(configError({ configFile: cfg }).message).toBe(`option "timeout" in config file ${cfg} does not apply to role relay (it is for peer, autonat)`)
    const cfg2 = file({ maxReservatons: 3 })
    expect(configError({ configFile: cfg2 }).message).toBe(`unknown option "maxReservatons" in config file ${cfg2}`)
  })

  it('describeOptions lists every relay option', () => {
    const text = describeOptions(RELAY_ROLE)
    expect(text.trimEnd().split('\n')).toHaveLength(RELAY_ROLE.specs.length + 1)
    expect(text).toMatch(/--max-reservations <n>\s+NATKIT_MAX_RESERVATIONS\s+128\s+maximum concurrent relay reservations/)
    expect(text).toMatch(/--circuit-data <bytes>\s+NATKIT_CIRCUIT_DATA\s+128KiB/)
    expect(text).toMatch(/--reservation-ttl <duration>\s+NATKIT_RESERVATION_TTL\s+2h/)
    expect(text).toMatch(/--autonat \/ --no-autonat/)
    expect(text).not.toContain('--holepunch')
  })
})
