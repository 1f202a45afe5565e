import { createServer, type Server } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { retryDelay, sleep, tcpTarget, waitToRetry } from './backoff.js'
import { DEFAULT_RESERVATION_JITTER, DEFAULT_RESERVATION_RETRY, DEFAULT_RESERVATION_RETRY_MAX } from './defaults.js'

const schedule = { retry: DEFAULT_RESERVATION_RETRY, retryMax: DEFAULT_RESERVATION_RETRY_MAX, jitter: DEFAULT_RESERVATION_JITTER }

describe('retryDelay', () => {
  it('doubles from retry up to the cap; jitter only shortens, by at most its fraction', () => {
    const top = Array.from({ length: 8 }, (_, i) => retryDelay(i, schedule, () => 0))
    expect(top).toEqual([2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000])
    const bottom = Array.from({ length: 8 }, (_, i) => retryDelay(i, schedule, () => 0.999999))
    expect(bottom).toEqual(top.map(d => Math.round(d * 0.5)))
    // huge attempt counts stay at the cap (no Infinity/NaN)
    expect(retryDelay(10_000, schedule, () => 0)).toBe(60000)
  })

  it('peers that fail together do not retry in lockstep', () => {
    const delays = Array.from({ length: 50 }, () => retryDelay(4, schedule))
    expect(new Set(delays).size).toBeGreaterThan(40)
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(16000)
    expect(Math.max(...delays)).toBeLessThanOrEqual(32000)
  })

  it('without jitter it is the plain exponential schedule', () => {
    expect(Array.from({ length: 5 }, (_, i) => retryDelay(i, { ...schedule, jitter: 0 }))).toEqual([2000, 4000, 8000, 16000, 32000])
  })
})

describe('waitToRetry', () => {
  const servers: Server[] = []
  afterEach(async () => { await Promise.all(servers.splice(0).map(async s => await new Promise(resolve => s.close(resolve)))) })

  /** a free loopback port with nothing listening on it */
  async function freePort (): Promise<number> {
    const s = createServer()
    await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
    const port = (s.address() as { port: number }).port
    await new Promise(resolve => s.close(resolve))
    return port
  }

  it('ends the wait at the first probe that connects once the address listens again', async () => {
    const port = await freePort()
    const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/12D3KooWEDpKMYyRrkmWbL9NEKrtKjBYpPUVpcWtALWniChhTq27`)
    expect(tcpTarget(addr)).toEqual({ host: '127.0.0.1', port })
    const t0 = performance.now()
    const waiting = waitToRetry(addr, 20_000, 100, new AbortController().signal)
    // nothing listens for a while: the wait goes on
    await new Promise(resolve => setTimeout(resolve, 400))
    const s = createServer((c) => c.destroy())
    servers.push(s)
    await new Promise<void>(resolve => s.listen(port, '127.0.0.1', resolve))
    const listening = performance.now()
    expect(await waiting).toBe(true)
    const woke = performance.now()
    expect(listening - t0).toBeGreaterThanOrEqual(390)
    // within a probe interval or so of the port opening, not the 20 s backoff
    expect(woke - listening).toBeLessThan(2_000)
  })

  it('waits the whole delay when nothing listens, and probes nothing with interval 0 or a non-TCP address', async () => {
    const port = await freePort()
    const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}`)
    const t0 = performance.now()
    expect(await waitToRetry(addr, 300, 50, new AbortController().signal)).toBe(false)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
    expect(tcpTarget(multiaddr('/ip4/127.0.0.1/udp/1/quic-v1'))).toBeUndefined()
    const s = createServer((c) => c.destroy())
    servers.push(s)
    await new Promise<void>(resolve => s.listen(port, '127.0.0.1', resolve))
    expect(await waitToRetry(addr, 300, 0, new AbortController().signal)).toBe(false)
  })

  it('stops at once when aborted', async () => {
    const controller = new AbortController()
    const waiting = waitToRetry(multiaddr('/ip4/127.0.0.1/tcp/1'), 60_000, 100, controller.signal)
    controller.abort()
    expect(await waiting).toBe(false)
  })
})

describe('sleep', () => {
  it('ends at once on a signal that aborted before it was called', async () => {
    const woken = new AbortController()
    woken.abort()
    const t0 = performance.now()
    await sleep(60_000, AbortSignal.any([AbortSignal.timeout(60_000), woken.signal]))
    expect(performance.now() - t0).toBeLessThan(1_000)
  })

  it('ends when the signal aborts later, else after its time', async () => {
    const woken = new AbortController()
    const t0 = performance.now()
    setTimeout(() => { woken.abort() }, 20)
    await sleep(60_000, woken.signal)
    expect(performance.now() - t0).toBeLessThan(1_000)
    const t1 = performance.now()
    await sleep(30, new AbortController().signal)
    expect(performance.now() - t1).toBeGreaterThanOrEqual(29)
  })
})
