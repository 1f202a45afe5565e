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
})
