import { disable, enable } from '@libp2p/logger'
import { afterEach, describe, expect, it } from 'vitest'
import { lazyComponentLogger } from './logger.js'

afterEach(() => { disable() })

describe('lazyComponentLogger', () => {
  it('a name DEBUG leaves off gets a no-op logger; its scopes are looked up again', () => {
    disable()
    const log = lazyComponentLogger().forComponent('natkit-test:conn')
    expect(log.enabled).toBe(false)
    expect(() => { log('x %s', 1); log.error('y'); log.trace('z') }).not.toThrow()
    enable('natkit-test:conn:stream')
    const scoped = log.newScope('stream')
    expect(scoped.enabled, 'a scope DEBUG enables logs even below a disabled name').toBe(true)
    expect(log.newScope('other').enabled).toBe(false)
  })

  it('a name DEBUG enables (for messages, or only for its errors) gets @libp2p/logger\'s logger', () => {
    enable('natkit-test:*')
    expect(lazyComponentLogger().forComponent('natkit-test:relay').enabled).toBe(true)
    disable()
    enable('natkit-test:quiet:error')
    const errorsOnly = lazyComponentLogger().forComponent('natkit-test:quiet')
    expect(errorsOnly.enabled, 'messages stay off').toBe(false)
    expect(errorsOnly.error, 'errors go to a real debug instance').toHaveProperty('namespace', 'natkit-test:quiet:error')
    expect((errorsOnly.error as unknown as { enabled: boolean }).enabled).toBe(true)
  })
})
