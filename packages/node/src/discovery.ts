import type { KadDHT, RoutingTable } from '@libp2p/kad-dht'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createHash } from 'node:crypto'
import { isLoopback, isPrivate } from '@libp2p/utils'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

/** The service named `dht`, when a node runs one (@libp2p/kad-dht's routing table is an event target). */
interface DhtService { routingTable?: RoutingTable & EventTarget }

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
export async function waitForDhtPeer (node: Pick<Libp2p, 'services'>, timeout = DEFAULT_DHT_READY_TIMEOUT, signal?: AbortSignal): Promise<void> {
  await waitForRoutingTablePeer((node.services as { dht?: unknown }).dht, timeout, signal)
}

/**
 * Resolves once the routing table of `dht` (a @libp2p/kad-dht service, e.g. a
 * service's `components.dht`) has a peer; throws {@link DhtNotReadyError} when
 * `dht` is no DHT or no peer came within `timeout` ms.
 */
export async function waitForRoutingTablePeer (dht: unknown, timeout = DEFAULT_DHT_READY_TIMEOUT, signal?: AbortSignal): Promise<void> {
  const table = (dht as DhtService | undefined)?.routingTable
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
 * under {@link peerRecordCid} of their own peer id; a DHT server keeps the
 * addresses sent with it (its peer store), relay addresses included, and
 * returns them with the record. Resolves with the number of DHT servers that
 * took the record; throws {@link NoProviderRecipientsError} when none did,
 * {@link DhtNotReadyError} when the node runs no DHT or has no DHT peer.
 */
export async function announceSelf (node: Libp2p, signal?: AbortSignal): Promise<number> {
  await waitForDhtPeer(node, DEFAULT_DHT_READY_TIMEOUT, signal)
  const dht = (node.services as { dht?: Pick<KadDHT, 'provide'> }).dht
  if (dht == null) throw new DhtNotReadyError('this node runs no DHT service named dht')
  return await provideTo(dht, peerRecordCid(node.peerId), anyOf(signal, DEFAULT_DHT_QUERY_TIMEOUT))
}

/** Prefix of the string whose SHA-256 is the DHT key a peer's own record is published under: `/natkit/peer/<peer id>`. */
export const PEER_RECORD_PREFIX = '/natkit/peer/'

/**
 * The DHT key of a peer's own provider record ({@link announceSelf}): CIDv1,
 * raw codec, the SHA-256 of `/natkit/peer/<peer id>`. Not the peer id's own
 * CID: kad-dht sends a provider key as its bare multihash and servers decode
 * it with `CID.decode`, which reads a SHA-256 multihash (as CIDv0) but refuses
 * the identity multihash of an Ed25519 peer id ("Invalid CID"), so a record
 * under `peerId.toCID()` is dropped by every server. Pure.
 */
export function peerRecordCid (id: PeerId): CID {
  const hash = createHash('sha256').update(`${PEER_RECORD_PREFIX}${id.toString()}`).digest()
  return CID.createV1(raw.code, Digest.create(sha256.code, hash))
}

/**
 * Finds a peer's addresses: FIND_NODE first, then the provider record of
 * `announceSelf`. A FIND_NODE answer comes from a DHT server's peer store,
 * which learns a NATed peer's relay addresses only from identify push (sent
 * about a second after a reservation); when that answer holds no address a
 * remote peer could dial (a circuit or a public address: only loopback or
 * private ones), the provider record (republished whenever the peer's
 * circuit addresses change) is asked as well and both are returned.
 */
export async function findPeerAddrs (node: Libp2p, id: PeerId, signal?: AbortSignal): Promise<Multiaddr[]> {
  await waitForDhtPeer(node, DEFAULT_DHT_READY_TIMEOUT, signal)
  const found: Multiaddr[] = []
  try {
    const info = await node.peerRouting.findPeer(id, { signal: anyOf(signal, DEFAULT_DHT_QUERY_TIMEOUT) })
    found.push(...info.multiaddrs)
  } catch {}
  if (found.some(reachableFromOutside)) return found
  let seen = 0
  for await (const prov of node.contentRouting.findProviders(peerRecordCid(id), { signal: anyOf(signal, DEFAULT_DHT_QUERY_TIMEOUT) })) {
    if (prov.id.equals(id) && prov.multiaddrs.length > 0) {
      const known = new Set(found.map(String))
      return [...found, ...prov.multiaddrs.filter(ma => !known.has(String(ma)))]
    }
    if (++seen >= MAX_PROVIDERS_PER_LOOKUP) break
  }
  return found
}

/** A circuit address, or an address whose host is neither loopback nor private. */
function reachableFromOutside (ma: Multiaddr): boolean {
  if (ma.getComponents().some(c => c.name === 'p2p-circuit')) return true
  return !isLoopback(ma) && !isPrivate(ma)
}

/** A provide query reached no DHT server (none took the record). */
export class NoProviderRecipientsError extends Error {
  static override name = 'NoProviderRecipientsError'
  override name = 'NoProviderRecipientsError'
}

/**
 * Publishes a provider record for `cid` through a @libp2p/kad-dht service and
 * resolves with the number of DHT servers that took it; throws
 * {@link NoProviderRecipientsError} when none did (`contentRouting.provide`
 * resolves then too).
 */
export async function provideTo (dht: Pick<KadDHT, 'provide'>, cid: CID, signal: AbortSignal): Promise<number> {
  let took = 0
  for await (const e of dht.provide(cid, { signal })) {
    if (e.name === 'PEER_RESPONSE' && e.messageName === 'ADD_PROVIDER') took++
  }
  if (took === 0) throw new NoProviderRecipientsError('no DHT server took the provider record')
  return took
}

/** Prefix of the string whose SHA-256 is the DHT key relays advertise under: `/natkit/relay/<network>`. */
export const RELAY_RENDEZVOUS_PREFIX = '/natkit/relay/'

/**
 * The well-known DHT key relays of one network advertise themselves under (a
 * provider record) and peers look relays up by: CIDv1, raw codec, the SHA-256
 * of `/natkit/relay/<network>`; `network` is the `--network` preset name
 * (`local`, `lab`, `public`). Pure.
 */
export function relayRendezvousCid (network: string): CID {
  const hash = createHash('sha256').update(`${RELAY_RENDEZVOUS_PREFIX}${network}`).digest()
  return CID.createV1(raw.code, Digest.create(sha256.code, hash))
}

export function anyOf (signal: AbortSignal | undefined, timeout: number): AbortSignal {
  return signal == null ? AbortSignal.timeout(timeout) : AbortSignal.any([signal, AbortSignal.timeout(timeout)])
}
