/**
 * Bounded retries that heal quickly: an exponential backoff with a cap and
 * jitter (peers that lost the same relay or bootstrap node do not come back in
 * lockstep), and a cheap TCP connect probe that ends the wait as soon as the
 * lost node accepts connections again.
 */
import { connect } from 'node:net'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A retry schedule: first delay, cap, random fraction. */
export interface RetrySchedule {
  /** first delay (ms), doubled per attempt */
  retry: number
  /** upper bound of the delay (ms) */
  retryMax: number
  /** random fraction (0-1) taken off each delay */
  jitter: number
}

/**
 * Pure: the delay before retry number `attempt` (0 = the first): `retry`
 * doubled per attempt, capped at `retryMax`, then lowered by a random part of
 * at most `jitter` of it (`random` returns a number in [0, 1)).
 */
export function retryDelay (attempt: number, init: RetrySchedule, random: () => number = Math.random): number {
  const base = Math.min(init.retry * 2 ** Math.min(attempt, 31), init.retryMax)
  return Math.round(base * (1 - init.jitter * random()))
}

/** The host and TCP port of an IP or DNS address followed by `/tcp/<port>`, for probing. */
export function tcpTarget (addr: Multiaddr): { host: string, port: number } | undefined {
  const parts = addr.getComponents()
  const host = parts[0]
  const tcp = parts[1]
  if (host == null || tcp?.name !== 'tcp' || !['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(host.name) || host.value == null) return
  return { host: host.value, port: Number(tcp.value) }
}

/** Resolves true at the first TCP connect to `target` that succeeds (one every `interval` ms, each bounded by it), false once `signal` aborts. */
async function probeUntilOpen (target: { host: string, port: number }, interval: number, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted) {
    await sleep(interval, signal)
    if (signal.aborted) return false
    if (await tcpConnects(target, interval, signal)) return true
  }
  return false
}

/** True when a TCP connection to `target` opens within `timeout` ms; it is closed right away. */
async function tcpConnects (target: { host: string, port: number }, timeout: number, signal: AbortSignal): Promise<boolean> {
  const { promise, resolve } = Promise.withResolvers<boolean>()
  const socket = connect({ host: target.host, port: target.port, signal: AbortSignal.any([signal, AbortSignal.timeout(timeout)]) })
  socket.once('connect', () => { resolve(true) })
  socket.once('error', () => { resolve(false) })
  socket.once('close', () => { resolve(false) })
  try {
    return await promise
  } finally {
    socket.destroy()
  }
}

/**
 * Waits `delay` ms, or less: while waiting, the TCP address of `addr` (when it
 * has one) is probed every `probeInterval` ms (0 = never) and the wait ends
 * at the first probe that connects. For a node that was unreachable: the
 * caller passes 0 when the node was reachable and refused (probing it would
 * only retry sooner). Resolves true when a probe ended it.
 */
export async function waitToRetry (addr: Multiaddr, delay: number, probeInterval: number, signal: AbortSignal): Promise<boolean> {
  const target = tcpTarget(addr)
  if (target == null || probeInterval <= 0) { await sleep(delay, signal); return false }
  const done = new AbortController()
  const waiting = AbortSignal.any([signal, done.signal])
  let woken = false
  const probing = probeUntilOpen(target, probeInterval, waiting).then((open) => {
    woken = open
    done.abort()
  })
  await sleep(delay, waiting)
  done.abort()
  await probing
  return woken
}

/** Resolves after `ms`, or at once when `signal` aborts or has aborted already. */
export function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // an 'abort' listener added after the abort never runs (e.g. relay discovery's
    // wake-up, aborted while it was selecting, would have slept ~24 days)
    if (signal.aborted) { resolve(); return }
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve() }
    signal.addEventListener('abort', done, { once: true })
  })
}

