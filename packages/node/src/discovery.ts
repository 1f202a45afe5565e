import type { RoutingTable } from '@libp2p/kad-dht'
import type { Libp2p, PeerId } from '@libp2p/interface'

/** The service named `dht`, when a node runs one (@libp2p/kad-dht's routing table is an event target). */
interface DhtService { routingTable?: RoutingTable & EventTarget }
import type { Multiaddr } from '@multiformats/multiaddr'

/** Bound on waiting for the first DHT peer. */
export const DEFAULT_DHT_READY_TIMEOUT = 10_000
/** Bound on one provide or lookup query. */
export const DEFAULT_DHT_QUERY_TIMEOUT = 15_000
/** Provider records looked at per lookup. */
export const MAX_PROVIDERS_PER_LOOKUP = 20

export class DhtNotReadyError extends Error {
  static override name = 'DhtNotReadyError'
  override name = 'DhtNotReadyError'
}

/** Resolves once the DHT routing table has a peer (immediately if it has one). */
export async function waitForDhtPeer (node: Libp2p, timeout = DEFAULT_DHT_READY_TIMEOUT, signal?: AbortSignal): Promise<void> {
  const table = (node.services as { dht?: DhtService }).dht?.routingTable
  if (table == null) throw new DhtNotReadyError('this node runs no DHT')
  if (table.size > 0) return
  const { promise, resolve, reject } = Promise.withResolvers<void>()
  const onAdd = (): void => { resolve() }
  const timer = setTimeout(() => { reject(new DhtNotReadyError(`no DHT peer within ${timeout} ms (is --bootstrap set and reachable?)`)) }, timeout)
  const onAbort = (): void => { reject(signal?.reason) }
  table.addEventListener('peer:add', onAdd)
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await promise
  } finally {
    clearTimeout(timer)
    table.removeEventListener('peer:add', onAdd)
    signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Client-mode DHT peers are not in servers' routing tables, so FIND_NODE
 * cannot find a NATed peer. natkit peers therefore publish a provider record
 * under their own peer id's CID; the record carries their (relay) addresses.
 */
export async function announceSelf (node: Libp2p, signal?: AbortSignal): Promise<void> {
  await waitForDhtPeer(node, DEFAULT_DHT_READY_TIMEOUT, signal)
  await node.contentRouting.provide(node.peerId.toCID(), { signal: anyOf(signal, DEFAULT_DHT_QUERY_TIMEOUT) })
}

/** Finds a peer's addresses: FIND_NODE first, then the provider record of `announceSelf`. */
export async function findPeerAddrs (node: Libp2p, id: PeerId, signal?: AbortSignal): Promise<Multiaddr[]> {
  await waitForDhtPeer(node, DEFAULT_DHT_READY_TIMEOUT, signal)
  try {
    const info = await node.peerRouting.findPeer(id, { signal: anyOf(signal, DEFAULT_DHT_QUERY_TIMEOUT) })
    if (info.multiaddrs.length > 0) return info.multiaddrs
  } catch {}
  let seen = 0
  for await (const prov of node.contentRouting.findProviders(id.toCID(), { signal: anyOf(signal, DEFAULT_DHT_QUERY_TIMEOUT) })) {
    if (prov.id.equals(id) && prov.multiaddrs.length > 0) return prov.multiaddrs
    if (++seen >= MAX_PROVIDERS_PER_LOOKUP) break
  }
  return []
}

function anyOf (signal: AbortSignal | undefined, timeout: number): AbortSignal {
  return signal == null ? AbortSignal.timeout(timeout) : AbortSignal.any([signal, AbortSignal.timeout(timeout)])
}
