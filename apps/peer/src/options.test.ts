import { HelpShown, UsageError } from '@natkit/cli'
import { describe, expect, it } from 'vitest'
import { parseArgs } from './options.js'

const RELAY = '/ip4/11.0.0.10/tcp/4001/p2p/12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6'

describe('natkit-peer parseArgs', () => {
  it('runs by default with hole punching, port reuse and WebRTC on', () => {
    const parsed = parseArgs([])
    expect(parsed.command).toBe('run')
    expect(parsed.options).toMatchObject({ role: 'peer', holepunch: true, tcpReuse: true, webrtc: true, holepunchAttempts: 3, stun: [], relay: [] })
  })

  it('dial takes a target and a timeout', () => {
    const parsed = parseArgs(['dial', '/ip4/11.0.0.10/tcp/4001/p2p/12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6/p2p-circuit/p2p/12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C', '--timeout', '20s', '--relay', RELAY, '--no-holepunch'])
    expect(parsed.command).toBe('dial')
    expect(parsed.args[0]).toContain('/p2p-circuit/')
    expect(parsed.options.timeout).toBe(20_000)
    expect(parsed.options.relay).toEqual([RELAY])
    expect(parsed.options.holepunch).toBe(false)
  })

  it('env turns features off unless a flag turns them back on', () => {
    expect(parseArgs([], { NATKIT_HOLEPUNCH: 'false' }).options.holepunch).toBe(false)
    expect(parseArgs(['--holepunch'], { NATKIT_HOLEPUNCH: 'false' }).options.holepunch).toBe(true)
    expect(parseArgs(['run', '--relay', RELAY]).options.relay).toEqual([RELAY])
  })

  it('--direct-paths races tcp and webrtc by default, takes a comma list, and reads NATKIT_DIRECT_PATHS', () => {
    expect(parseArgs([]).options.directPaths).toEqual(['tcp', 'webrtc'])
    expect(parseArgs(['dial', 'x', '--direct-paths', 'webrtc']).options.directPaths).toEqual(['webrtc'])
    expect(parseArgs(['--direct-paths', 'tcp,webrtc']).options.directPaths).toEqual(['tcp', 'webrtc'])
    expect(parseArgs([], { NATKIT_DIRECT_PATHS: 'tcp' }).options.directPaths).toEqual(['tcp'])
    expect(parseArgs(['--direct-paths', 'webrtc'], { NATKIT_DIRECT_PATHS: 'tcp' }).options.directPaths).toEqual(['webrtc'])
  })

  it('--direct-paths refuses unknown and empty lists in one line', () => {
    expect(() => parseArgs(['--direct-paths', 'tcp,quic'])).toThrow(/^invalid value for --direct-paths \(flag\): "quic" is not a direct path \(use tcp, webrtc\)$/)
    expect(() => parseArgs([], { NATKIT_DIRECT_PATHS: '' })).toThrow(/NATKIT_DIRECT_PATHS.*must name at least one of tcp, webrtc/)
  })

  it('rejects bad input with one clear message', () => {
    expect(() => parseArgs(['dial'])).toThrow(UsageError)
    expect(() => parseArgs(['--relay', '/ip4/11.0.0.10/tcp/4001'])).toThrow(/--relay/)
    expect(() => parseArgs(['--stun', 'stun.example.org'])).toThrow(/--stun/)
    expect(() => parseArgs(['--holepunch-attempts', '0'])).toThrow(/--holepunch-attempts/)
    expect(() => parseArgs(['--identity', 'k', '--seed', 's'])).toThrow(/seed|identity/)
    expect(() => parseArgs(['dial', '--help'])).toThrow(HelpShown)
  })

  it('on a terminal without a sub-command the peer starts its shell; scripts, help and explicit commands are left alone', () => {
    expect(parseArgs([], {}, true).command).toBe('shell')
    expect(parseArgs(['--relay', RELAY], {}, true)).toMatchObject({ command: 'shell', options: { relay: [RELAY] } })
    expect(parseArgs([], {}, false).command).toBe('run')
    expect(parseArgs(['--json'], {}, true).command).toBe('run')
    expect(parseArgs(['run'], {}, true).command).toBe('run')
    expect(() => parseArgs(['--help'], {}, true)).toThrow(HelpShown)
  })

  it('mDNS is off unless --mdns; pub/sub bounds have named defaults and limits', () => {
    expect(parseArgs([]).options).toMatchObject({ mdns: false, pubsubMaxMessage: 4096, pubsubMaxTopics: 64, pubsubRelayed: true })
    expect(parseArgs(['--mdns', '--pubsub-max-message', '1KiB', '--no-pubsub-relayed']).options).toMatchObject({ mdns: true, pubsubMaxMessage: 1024, pubsubRelayed: false })
    expect(() => parseArgs(['--pubsub-max-message', '1MiB'])).toThrow(/pubsub-max-message/)
  })
})
