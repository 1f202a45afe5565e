import { describe, expect, it } from 'vitest'
import { dialRetrying, isTransientDialError } from './dial-retry.js'

const unreachable = (): Error => Object.assign(new Error('connection error 11.0.0.10:4001: EHOSTUNREACH'), { code: 'EHOSTUNREACH' })
const timeout = (): Error => Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' })
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })

describe('dialRetrying', () => {
  it('tries again after a failure in transit and returns the attempt that worked', async () => {
    const errors = [unreachable(), timeout()]
    const retries: number[] = []
    let calls = 0
    const conn = await dialRetrying(async () => {
      calls++
      const err = errors.shift()
      if (err != null) throw err
      return 'connected'
    }, { signal: AbortSignal.timeout(5_000), retryDelayMs: 1, onRetry: (n) => retries.push(n) })
    expect(conn).toBe('connected')
    expect(calls).toBe(3)
    expect(retries).toEqual([1, 2])
  })

  it('stops after `attempts` and throws the last error', async () => {
    let calls = 0
    await expect(dialRetrying(async () => { calls++; throw unreachable() }, { signal: AbortSignal.timeout(5_000), attempts: 2, retryDelayMs: 1 })).rejects.toThrow(/EHOSTUNREACH/)
    expect(calls).toBe(2)
  })

  it('does not retry a refusal, a denial or any other answer', async () => {
    let calls = 0
    await expect(dialRetrying(async () => { calls++; throw refused() }, { signal: AbortSignal.timeout(5_000), retryDelayMs: 1 })).rejects.toThrow(/ECONNREFUSED/)
    expect(calls).toBe(1)
    const denied = Object.assign(new Error('The dial request was blocked by the gater'), { name: 'DialDeniedError' })
    expect(isTransientDialError(denied)).toBe(false)
  })

  it('starts no attempt once the caller\'s budget ran out', async () => {
    const budget = new AbortController()
    let calls = 0
    await expect(dialRetrying(async () => { calls++; budget.abort(); throw timeout() }, { signal: budget.signal, retryDelayMs: 1 })).rejects.toThrow(/aborted due to timeout/)
    expect(calls).toBe(1)
  })

  it('an aggregate of several addresses\' dials is transient only when each of them is', () => {
    expect(isTransientDialError(new AggregateError([unreachable(), timeout()], 'All multiaddr dials failed'))).toBe(true)
    expect(isTransientDialError(new AggregateError([unreachable(), refused()], 'All multiaddr dials failed'))).toBe(false)
    expect(isTransientDialError('EHOSTUNREACH')).toBe(false)
  })
})
