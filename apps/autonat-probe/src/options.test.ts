import { UsageError } from '@natkit/cli'
import { describe, expect, it } from 'vitest'
import { parseArgs } from './options.js'

describe('natkit-autonat parseArgs', () => {
  it('runs the server by default', () => {
    const parsed = parseArgs([])
    expect(parsed.command).toBe('server')
    expect(parsed.options.role).toBe('autonat')
    expect(parsed.options.listen).toEqual(['/ip4/0.0.0.0/tcp/4021'])
  })

  it('check takes servers and a timeout', () => {
    const parsed = parseArgs(['check', '--server', '/ip4/11.0.0.12/tcp/4021/p2p/12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6', '--timeout', '3s'])
    expect(parsed.command).toBe('check')
    expect(parsed.options.server).toHaveLength(1)
    expect(parsed.options.timeout).toBe(3000)
  })

  it('rejects unknown commands and bad durations', () => {
    expect(() => parseArgs(['probe-everything'])).toThrow(UsageError)
    expect(() => parseArgs(['check', '--timeout', 'soon'])).toThrow(/--timeout.*"soon"/)
  })

  it('nat takes --stun observers (HOST:PORT or stun:HOST:PORT) and --no-tcp-probe; the server takes --stun-listen/--stun-alternate', () => {
    const nat = parseArgs(['nat', '--stun', '11.0.0.12:3478', '--stun', 'stun:11.0.0.14:3478', '--no-tcp-probe'])
    expect(nat.command).toBe('nat')
    expect(nat.options.stun).toEqual(['11.0.0.12:3478', 'stun:11.0.0.14:3478'])
    expect(nat.options.tcpProbe).toBe(false)
    expect(parseArgs(['nat']).options.tcpProbe).toBe(true)
    expect(parseArgs(['nat']).options.mappingLifetimeMax).toBe(2000)
    expect(parseArgs(['nat', '--mapping-lifetime-max', '0']).options.mappingLifetimeMax).toBe(0)
    const server = parseArgs(['server', '--stun-listen', '11.0.0.12:3478', '--stun-alternate', '11.0.0.13:3479'])
    expect(server.options.stunListen).toEqual({ host: '11.0.0.12', port: 3478 })
    expect(server.options.stunAlternate).toEqual({ host: '11.0.0.13', port: 3479 })
  })

  it('bad STUN options are one-line errors', () => {
    expect(() => parseArgs(['nat', '--stun', 'observer'])).toThrow(/--stun.*"observer".*host:port/)
    expect(() => parseArgs(['server', '--stun-alternate', '11.0.0.13:3479'])).toThrow(/--stun-alternate.*needs --stun-listen/)
    expect(() => parseArgs(['nat', '--mapping-lifetime-max', '1m'])).toThrow(/--mapping-lifetime-max.*<= 10000ms/)
  })
})
