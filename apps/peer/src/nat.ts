/**
 * NAT behaviour discovery at start (issue 13): natkit-peer probes its NAT
 * through its `--stun` servers (natkit STUN servers, e.g. the relay's
 * `--stun-listen`) in the background, bounded, and emits one `nat` event.
 * The mapping and allocation also go to hole punching as soon as they are
 * known (before the slower filtering and hairpin tests end), so the peer
 * learns which side is the hard one and how its ports are allocated.
 */
import type { DiscoveredNat } from '@natkit/holepunch'
import type { NatkitEvents } from '@natkit/events'
import type { RunningNode } from '@natkit/node'

/**
 * Bound on the whole discovery at start in ms (every test with its timeouts
 * takes a few seconds behind a filtering NAT); past it the peer warns and
 * hole punching goes on with identify observations only.
 *
 * @default 10000
 */
export const DEFAULT_NAT_DISCOVERY_TIMEOUT = 10_000

/**
 * Mapping lifetime probe at start, in ms: off. Its three extra mappings would
 * move a sequential NAT's next port away from what the peer predicts; run
 * `natkit-autonat nat` for the lifetime.
 *
 * @default 0
 */
export const DEFAULT_NAT_DISCOVERY_LIFETIME_MAX_MS = 0

/** What natkit-peer's discovery at start runs with (`composeInit`'s `natDiscovery`). */
export interface NatDiscoveryInit {
  /** STUN observers (`--stun`, at most `MAX_NAT_OBSERVERS` of them). */
  servers: Array<{ address: string, port: number }>
  /** @default DEFAULT_NAT_DISCOVERY_TIMEOUT */
  timeoutMs: number
  /** @default DEFAULT_NAT_DISCOVERY_LIFETIME_MAX_MS */
  lifetimeMaxMs: number
}

/** Holds what discovery found, for the hole punch service's `natBehavior`. */
export class NatKnowledge {
  #current?: DiscoveredNat
  /** The discovered mapping and allocation (filtering once its test ended), undefined until known. */
  readonly get = (): DiscoveredNat | undefined => this.#current
  set (found: DiscoveredNat): void {
    this.#current = { mapping: found.mapping, allocation: found.allocation, ...(found.stride != null ? { stride: found.stride } : {}), ...(found.filtering != null ? { filtering: found.filtering } : {}) }
  }
}

/**
 * Starts the discovery in the background: `knowledge` gets the mapping and
 * allocation once those tests end, `events` one `nat` event (with `ms`) at
 * the end, or a `warn` if it failed or ran out of time. Stopping the node
 * aborts it.
 */
export function startNatDiscovery (init: NatDiscoveryInit, knowledge: NatKnowledge, events: NatkitEvents, running: Pick<RunningNode, 'onStop'>): void {
  const stop = new AbortController()
  const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(init.timeoutMs)])
  const started = Date.now()
  const run = (async () => {
    const { discoverNat, natEventFields } = await import('@natkit/nat-behavior')
    const discovery = await discoverNat({
      servers: init.servers,
      lifetimeMaxMs: init.lifetimeMaxMs,
      signal,
      onMapping: (partial) => { knowledge.set(partial) }
    })
    knowledge.set(discovery.classification)
    events.emit('nat', { ...natEventFields(discovery), ms: Date.now() - started })
  })().catch((err: Error) => {
    if (stop.signal.aborted) return
    events.emit('warn', { message: signal.aborted ? `NAT discovery: no verdict within ${init.timeoutMs} ms` : `NAT discovery failed: ${err.message}` })
  })
  running.onStop(async () => {
    stop.abort()
    await run
  })
}
