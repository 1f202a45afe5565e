import { ConfigError, defineRole, spec, type CommonOptions } from '@natkit/config'
import { USER_ERROR } from '@natkit/events'
import { IdentityPermissionError } from '@natkit/identity'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseRoleArgs, reportFatal, UsageError, HelpShown, EXIT_USAGE } from './index.js'

afterEach(() => { vi.restoreAllMocks() })

describe('reportFatal', () => {
  it('prints a user error as one line without a stack, exit 2', () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    expect(reportFatal('natkit-x', new UsageError('bad flag'))).toBe(EXIT_USAGE)
    expect(reportFatal('natkit-x', new IdentityPermissionError('/k', 0o644))).toBe(EXIT_USAGE)
    const text = err.mock.calls.map(c => String(c[0])).join('')
    expect(text).toBe('natkit-x: bad flag\nnatkit-x: refusing to use identity key file /k: mode 644 allows access by group/others; run: chmod 600 /k\n')
    expect(text).not.toContain('    at ')
  })

  it('recognises user errors by class, not by name: the USER_ERROR mark counts, a look-alike name does not', () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    /** a class that must extend another error class marks itself */
    class OtherBaseError extends TypeError {}
    class MarkedError extends OtherBaseError {
      readonly [USER_ERROR] = true
    }
    expect(reportFatal('natkit-x', new MarkedError('bad input'))).toBe(EXIT_USAGE)
    expect(reportFatal('natkit-x', Object.assign(new Error('disk on fire'), { name: 'IdentityPermissionError' }))).toBe(1)
    // (with DEBUG set, the unexpected one's stack follows)
    expect(err.mock.calls.map(c => String(c[0])).join('')).toMatch(/^natkit-x: bad input\nnatkit-x: disk on fire\n/)
  })

  it('help goes to stdout with exit 0', () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    expect(reportFatal('natkit-x', new HelpShown('usage text'))).toBe(0)
    expect(out).toHaveBeenCalledWith('usage text')
  })
})

describe('parseRoleArgs', () => {
  /** a role with one boolean row that defaults to true */
  const role = defineRole<CommonOptions & { role: 'peer', webrtc: boolean }>({ name: 'peer', listen: ['/ip4/0.0.0.0/tcp/0'], specs: [spec('webrtc', 'boolean', true, 'enable the WebRTC transport')] })
  const init = { name: 'natkit-peer', description: 'd', role }

  it('takes repeated and comma-separated list flags', () => {
    const { options } = parseRoleArgs(['--listen', '/ip4/127.0.0.1/tcp/1,/ip4/127.0.0.1/tcp/2', '--listen', '/ip4/127.0.0.1/tcp/3'], init)
    expect(options.listen).toEqual(['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3'])
  })

  it('boolean defaults of true are not forced by commander, so env still applies', () => {
    expect(parseRoleArgs([], { ...init, env: { NATKIT_WEBRTC: 'no' } }).options.webrtc).toBe(false)
    expect(parseRoleArgs(['--no-webrtc'], init).options.webrtc).toBe(false)
  })

  it('bad values surface as ConfigError naming the flag', () => {
    expect(() => parseRoleArgs(['--dial-timeout', '-5s'], init)).toThrow(ConfigError)
    expect(() => parseRoleArgs(['--nope'], init)).toThrow(/unknown option '--nope'/)
  })
})

describe('quietEvents', () => {
  it('shows less the higher the level, and everything at debug', async () => {
    const { quietEvents } = await import('./index.js')
    expect(quietEvents('debug')).toEqual([])
    expect(quietEvents('info')).toEqual(['ping'])
    expect(quietEvents('warn')).toContain('info')
    expect(quietEvents('warn')).not.toContain('holepunch:failure')
    expect(quietEvents('error')).toContain('holepunch:failure')
    expect(quietEvents('error')).not.toContain('error')
  })
})
