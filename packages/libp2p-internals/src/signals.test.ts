/**
 * indexAbortListeners: the same abort behaviour as EventTarget's, with one
 * native listener however many are added; and on a circuit relay server.
 */
import { getEventListeners } from 'node:events'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { anySignal } from 'any-signal'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Libp2pInternalsChangedError, indexAbortListeners, indexRelayShutdownListeners } from './index.js'

afterEach(() => { vi.restoreAllMocks() })

describe('indexAbortListeners', () => {
  it('n listeners (as anySignal adds them) cost one native listener; each runs once on abort, in order, with the event', () => {
    const N = 1000
    const plain = new AbortController()
    const indexed = new AbortController()
    indexAbortListeners(indexed.signal)
    indexAbortListeners(indexed.signal)
    const combinedPlain = Array.from({ length: N }, () => anySignal([plain.signal]))
    const combined = Array.from({ length: N }, () => anySignal([indexed.signal]))
    expect(getEventListeners(plain.signal, 'abort'), 'a plain signal holds one native listener each').toHaveLength(N)
    expect(getEventListeners(indexed.signal, 'abort'), 'an indexed signal holds one in all').toHaveLength(1)
    const order: number[] = []
    const seen: Event[] = []
    const first = (evt: Event): void => { order.push(1); seen.push(evt) }
    indexed.signal.addEventListener('abort', first)
    indexed.signal.addEventListener('abort', first)
    indexed.signal.addEventListener('abort', { handleEvent: (evt: Event) => { order.push(2); seen.push(evt) } })
    const removed = vi.fn()
    indexed.signal.addEventListener('abort', removed)
    indexed.signal.removeEventListener('abort', removed)
    combined[0].clear()
    indexed.abort(new Error('shutdown'))
    expect(combined.slice(1).every(s => s.aborted && (s.reason as Error).message === 'shutdown'), 'every combined signal still listening aborted with the reason').toBe(true)
    expect(combined[0].aborted, 'a combined signal cleared before the abort is not aborted').toBe(false)
    expect(order, 'a listener added twice runs once; in the order added').toEqual([1, 2])
    expect(seen.every(e => e.type === 'abort'), 'listeners get the abort event').toBe(true)
    expect(removed).not.toHaveBeenCalled()
    const late = vi.fn()
    indexed.signal.addEventListener('abort', late)
    expect(late, 'added after the abort: never runs (as with EventTarget)').not.toHaveBeenCalled()
    plain.abort()
    expect(combinedPlain.every(s => s.aborted)).toBe(true)
  })

  it('an exception in one listener is reported on the next tick, and the others still run', () => {
    const controller = new AbortController()
    indexAbortListeners(controller.signal)
    const deferred: Array<() => void> = []
    vi.spyOn(process, 'nextTick').mockImplementation(((fn: () => void) => { deferred.push(fn) }) as typeof process.nextTick)
    const after = vi.fn()
    controller.signal.addEventListener('abort', () => { throw new Error('listener failed') })
    controller.signal.addEventListener('abort', after)
    controller.abort()
    vi.restoreAllMocks()
    expect(after).toHaveBeenCalledOnce()
    expect(deferred).toHaveLength(1)
    expect(deferred[0]).toThrow('listener failed')
  })

  it('indexRelayShutdownListeners reaches a circuit relay server\'s shutdown signal, which its stop still aborts', async () => {
    const node = await createLibp2p({ services: { identify: identify(), relay: circuitRelayServer() } })
    await node.start()
    indexRelayShutdownListeners(node.services.relay)
    const signal = (node.services.relay as unknown as { shutdownController: AbortController }).shutdownController.signal
    const circuits = Array.from({ length: 100 }, () => anySignal([signal]))
    expect(getEventListeners(signal, 'abort')).toHaveLength(1)
    await node.stop()
    expect(circuits.every(s => s.aborted), 'stopping the server aborts every circuit\'s signal').toBe(true)
    expect(() => { indexRelayShutdownListeners({}) }).toThrow(Libp2pInternalsChangedError)
  })
})
