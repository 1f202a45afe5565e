import { describe, expect, it } from 'vitest'
import { SourceRateLimiter } from './rate-limit.js'

describe('SourceRateLimiter', () => {
  it('allows maxRequests per window per source, then resets with the window', () => {
    let now = 1_000
    const limiter = new SourceRateLimiter({ maxRequests: 2, windowMs: 100 }, () => now)

    expect([limiter.allow('a'), limiter.allow('a'), limiter.allow('a')]).toEqual([true, true, false])
    expect(limiter.allow('b')).toBe(true)

    now += 100
    expect(limiter.allow('a')).toBe(true)
  })

  it('never tracks more than maxSources, forgetting the oldest first', () => {
    const now = 0
    const limiter = new SourceRateLimiter({ maxRequests: 1, windowMs: 1_000, maxSources: 3 }, () => now)

    for (let i = 0; i < 50; i++) {
      expect(limiter.allow(`10.0.0.${i}`)).toBe(true)
      expect(limiter.size).toBeLessThanOrEqual(3)
    }

    // the three newest are still limited, an evicted one starts afresh
    expect(limiter.allow('10.0.0.49')).toBe(false)
    expect(limiter.allow('10.0.0.0')).toBe(true)
  })

  it('rejects invalid options', () => {
    expect(() => new SourceRateLimiter({ maxSources: 0 })).toThrow(expect.objectContaining({ name: 'InvalidParametersError' }))
  })
})
