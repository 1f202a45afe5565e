import { ConfigError } from '@natkit/config'
import { HelpShown, UsageError } from '@natkit/cli'
import { describe, expect, it } from 'vitest'
import { parseArgs } from './options.js'

describe('natkit-relay parseArgs', () => {
  it('gives documented defaults', () => {
    const { options } = parseArgs([])
    expect(options.role).toBe('relay')
    expect(options.listen).toEqual(['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'])
    expect(options.maxReservations).toBe(128)
    expect(options.reservationTtl).toBe(2 * 60 * 60 * 1000)
    expect(options.circuitDuration).toBe(120_000)
    expect(options.circuitData).toBe(131072)
    expect(options.autonat).toBe(true)
    expect(options.bootstrap).toEqual([])
  })

  it('reads every relay limit from flags', () => {
    const { options } = parseArgs(['--max-reservations', '5', '--reservation-ttl', '10m', '--circuit-duration', '30s', '--circuit-data', '1MiB', '--max-circuits-per-peer', '2', '--no-autonat', '--stun-listen', '0.0.0.0:3478', '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/tcp/0/ws'])
    expect(options).toMatchObject({ maxReservations: 5, reservationTtl: 600_000, circuitDuration: 30_000, circuitData: 1024 * 1024, maxCircuitsPerPeer: 2, autonat: false, stunListen: { host: '0.0.0.0', port: 3478 } })
    expect(parseArgs(['--stun-listen', '11.0.0.21:3478', '--stun-alternate', '11.0.0.22:3479']).options).toMatchObject({ stunListen: { host: '11.0.0.21', port: 3478 }, stunAlternate: { host: '11.0.0.22', port: 3479 } })
    expect(options.listen).toEqual(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'])
  })

  it('flags beat env', () => {
    expect(parseArgs([], { NATKIT_MAX_RESERVATIONS: '7' }).options.maxReservations).toBe(7)
    expect(parseArgs(['--max-reservations', '9'], { NATKIT_MAX_RESERVATIONS: '7' }).options.maxReservations).toBe(9)
    expect(parseArgs([], { NATKIT_AUTONAT: 'false' }).options.autonat).toBe(false)
  })

  it('rejects bad values with the flag and the value named', () => {
    expect(() => parseArgs(['--max-reservations', 'lots'])).toThrow(ConfigError)
    expect(() => parseArgs(['--max-reservations', 'lots'])).toThrow(/--max-reservations.*"lots"/)
    expect(() => parseArgs(['--listen', 'nope'])).toThrow(/--listen.*"nope"/)
    expect(() => parseArgs(['--unknown-flag'])).toThrow(UsageError)
    expect(() => parseArgs(['--metrics', 'localhost'])).toThrow(/--metrics/)
  })

  it('--help is not an error', () => {
    expect(() => parseArgs(['--help'])).toThrow(HelpShown)
    try { parseArgs(['--help']) } catch (err) { expect((err as HelpShown).text).toContain('--max-reservations') }
  })
})
