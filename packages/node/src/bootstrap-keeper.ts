/**
 * Keeps a node connected to its `--bootstrap` peers. @libp2p/bootstrap dials
 * them once, at start; after a bootstrap node restarts nobody dials it again,
 * so the node's DHT records (which live only in the bootstrap's memory) are
 * gone and lookups fail. The keeper redials a lost bootstrap peer on a capped,
 * jittered backoff, retrying at once when its TCP address accepts connections
 * again (see backoff.ts), and calls `onReconnect` so the role re-publishes its
 * records.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { retryDelay, waitToRetry } from './backoff.js'
import { DEFAULT_RELAY_PROBE_INTERVAL, DEFAULT_RESERVATION_JITTER, DEFAULT_RESERVATION_RETRY, DEFAULT_RESERVATION_RETRY_MAX } from './defaults.js'
import type { Libp2p, Libp2pEvents, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { RunningNode } from './node.js'

export interface BootstrapKeeperInit {
  /** Bootstrap multiaddrs, each ending in `/p2p/<peer id>` (addresses without one are skipped). */
  list: Array<string | Multiaddr>
  /** Called once a lost bootstrap peer is connected again (e.g. to re-publish DHT records). */
  onReconnect?: (peer: PeerId) => void
  /** First redial delay (ms), doubled per attempt. @default DEFAULT_RESERVATION_RETRY */
  retry?: number
  /** Upper bound of the redial delay (ms). @default DEFAULT_RESERVATION_RETRY_MAX */
  retryMax?: number
  /** Random fraction of each delay. @default DEFAULT_RESERVATION_JITTER */
  jitter?: number
  /** TCP probe interval while the peer is away (ms; 0 = none). @default DEFAULT_RELAY_PROBE_INTERVAL */
  probeInterval?: number
  /** Bound on one redial (ms). */
  dialTimeout: number
}

/** What the keeper uses of a node: a started `Libp2p` is one (a service builds one from its components, see {@link keeperTarget}). */
export type BootstrapKeeperTarget = Pick<Libp2p, 'getConnections' | 'dial' | 'addEventListener' | 'removeEventListener'>

/** Starts one loop per bootstrap peer; `running.onStop` ends them. */
export function keepBootstrapPeers (node: BootstrapKeeperTarget, init: BootstrapKeeperInit, running: Pick<RunningNode, 'onStop'>): void {
  running.onStop(startBootstrapKeeper(node, init))
}

/** Starts one loop per bootstrap peer; returns the function that ends them. */
export function startBootstrapKeeper (node: BootstrapKeeperTarget, init: BootstrapKeeperInit): () => Promise<void> {
  const controller = new AbortController()
  const schedule = { retry: init.retry ?? DEFAULT_RESERVATION_RETRY, retryMax: init.retryMax ?? DEFAULT_RESERVATION_RETRY_MAX, jitter: init.jitter ?? DEFAULT_RESERVATION_JITTER }
  const probeInterval = init.probeInterval ?? DEFAULT_RELAY_PROBE_INTERVAL
  const loops: Array<Promise<void>> = []
  for (const entry of init.list) {
    const addr = typeof entry === 'string' ? multiaddr(entry) : entry
    const id = addr.getComponents().findLast(c => c.name === 'p2p')?.value
    if (id == null) continue
    loops.push(keepOne(node, addr, id, { ...schedule, probeInterval, dialTimeout: init.dialTimeout, onReconnect: init.onReconnect }, controller.signal).catch(() => {}))
  }
  return async () => {
    controller.abort()
    await Promise.allSettled(loops)
  }
}

/** A keeper target from a libp2p service's components (`connectionManager`, `events`). */
export function keeperTarget (components: { connectionManager: Pick<ConnectionManager, 'getConnections' | 'openConnection'>, events: TypedEventTarget<Libp2pEvents> }): BootstrapKeeperTarget {
  const { connectionManager: cm, events } = components
  return {
    getConnections: (peer?: PeerId) => cm.getConnections(peer),
    dial: async (addr, options) => await cm.openConnection(addr, options),
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events)
  }
}

async function keepOne (node: BootstrapKeeperTarget, addr: Multiaddr, id: string, o: { retry: number, retryMax: number, jitter: number, probeInterval: number, dialTimeout: number, onReconnect?: (peer: PeerId) => void }, signal: AbortSignal): Promise<void> {
  const connected = (): PeerId | undefined => node.getConnections().find(c => c.remotePeer.toString() === id)?.remotePeer
  let lost = false
  let attempt = 0
  while (!signal.aborted) {
    const peer = connected()
    if (peer != null) {
      if (lost) o.onReconnect?.(peer)
      attempt = 0
      await disconnected(node, id, signal)
      lost = true
      continue
    }
    await waitToRetry(addr, retryDelay(attempt++, o), o.probeInterval, signal)
    if (signal.aborted || connected() != null) continue
    // not connected after a wait: also lost when it went away before this loop saw it connected
    lost = true
    await node.dial(addr, { signal: AbortSignal.any([signal, AbortSignal.timeout(o.dialTimeout)]) }).catch(() => {})
  }
}

/** Resolves once the node has no connection to `id` left (or `signal` aborts). */
async function disconnected (node: BootstrapKeeperTarget, id: string, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  const { promise, resolve } = Promise.withResolvers<void>()
  const onDisconnect = (evt: CustomEvent<PeerId>): void => { if (evt.detail.toString() === id) resolve() }
  const onAbort = (): void => { resolve() }
  node.addEventListener('peer:disconnect', onDisconnect)
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    await promise
  } finally {
    node.removeEventListener('peer:disconnect', onDisconnect)
    signal.removeEventListener('abort', onAbort)
  }
}
