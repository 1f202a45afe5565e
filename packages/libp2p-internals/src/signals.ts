/**
 * Abort signals that many operations listen to at once (docs/upstream.md §11).
 *
 * Node's `EventTarget.addEventListener` walks the target's list of listeners
 * to skip a duplicate, and `removeEventListener` walks it to find the one to
 * remove: O(n) each. @libp2p/circuit-relay-v2 {@link CIRCUIT_RELAY_VERIFIED_VERSION}'s
 * server adds a listener to its one shutdown signal per circuit
 * (`createLimitedRelay` → `anySignal([shutdown, reservation, duration])`) and
 * removes it when the circuit ends, so opening n circuits costs O(n²): with
 * 1,000 circuits this was ~45 ms of the relay's CPU in one burst, the pings
 * of the first circuits waiting behind it.
 */
import { CIRCUIT_RELAY_VERIFIED_VERSION } from './versions.js'
import { Libp2pInternalsChangedError } from './errors.js'

type AbortListener = ((evt: Event) => void) | { handleEvent: (evt: Event) => void }
type AddOptions = Parameters<AbortSignal['addEventListener']>[2]
type RemoveOptions = Parameters<AbortSignal['removeEventListener']>[2]

/** Marks a signal {@link indexAbortListeners} already changed. */
const INDEXED = Symbol.for('natkit.indexAbortListeners')

/**
 * Keeps `signal`'s 'abort' listeners in an insertion-ordered Set behind one
 * native listener: adding and removing one is O(1); on abort each runs once,
 * in the order added, with the abort event (an exception in one is rethrown
 * on the next tick, as Node's EventTarget reports it, and the rest still run).
 * A listener added twice runs once, as with EventTarget; one added after the
 * abort never runs, as with EventTarget. Listeners of other event types, and
 * `onabort`, are left to the signal. Idempotent; an aborted signal is left
 * as it is.
 */
export function indexAbortListeners (signal: AbortSignal): void {
  const marked = signal as AbortSignal & { [INDEXED]?: true }
  if (marked[INDEXED] === true || signal.aborted) return
  const listeners = new Set<AbortListener>()
  const add = signal.addEventListener.bind(signal)
  const remove = signal.removeEventListener.bind(signal)
  add('abort', (evt) => {
    const all = [...listeners]
    listeners.clear()
    for (const l of all) {
      try {
        if (typeof l === 'function') l.call(signal, evt)
        else l.handleEvent(evt)
      } catch (err) {
        process.nextTick(() => { throw err })
      }
    }
  }, { once: true })
  Object.defineProperties(signal, {
    addEventListener: {
      value: (type: string, listener: AbortListener | null, options?: AddOptions) => {
        if (type !== 'abort' || listener == null || (typeof options === 'object' && options.signal != null)) { add(type, listener as Parameters<typeof add>[1], options); return }
        if (!signal.aborted) listeners.add(listener)
      }
    },
    removeEventListener: {
      value: (type: string, listener: AbortListener | null, options?: RemoveOptions) => {
        if (type === 'abort' && listener != null && listeners.delete(listener)) return
        remove(type, listener as Parameters<typeof remove>[1], options)
      }
    },
    [INDEXED]: { value: true }
  })
}

/**
 * {@link indexAbortListeners} on a circuit relay server's shutdown signal
 * (the `relay` service of @libp2p/circuit-relay-v2's `circuitRelayServer`),
 * which every circuit it splices listens to.
 *
 * @throws {Libp2pInternalsChangedError} the server has no `shutdownController` with an AbortSignal
 */
export function indexRelayShutdownListeners (server: unknown): void {
  const signal = (server as { shutdownController?: { signal?: unknown } } | undefined)?.shutdownController?.signal
  if (!(signal instanceof AbortSignal)) {
    throw new Libp2pInternalsChangedError(`the circuit relay server has no shutdownController.signal (signals.ts was written for @libp2p/circuit-relay-v2 ${CIRCUIT_RELAY_VERIFIED_VERSION})`)
  }
  indexAbortListeners(signal)
}
