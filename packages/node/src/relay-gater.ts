import type { NatkitEvents } from '@natkit/events'
import type { ReservationLimits } from './relay-reservations.js'
import type { ConnectionGater, PeerId } from '@libp2p/interface'

/** Upper bound on source peers tracked by the per-peer circuit cap. */
export const DEFAULT_MAX_TRACKED_PEERS = 4096

export interface RelayGaterInit {
  events: NatkitEvents
  /** Circuits one source peer may open within `windowMs`. */
  maxCircuitsPerPeer: number
  /**
   * Window for the per-peer cap. Set to the circuit duration limit: every
   * circuit ends within it, so the cap also bounds concurrent circuits per peer.
   */
  windowMs: number
  /**
   * Source peers tracked at most (the least recently active are forgotten).
   *
   * @default DEFAULT_MAX_TRACKED_PEERS
   */
  maxTrackedPeers?: number
  onCircuit?: (src: PeerId, dst: PeerId, allowed: boolean) => void
  /** The reservation policy whose per-IP and per-network caps the server asks through `denyInboundRelayReservation`. */
  reservations?: Pick<ReservationLimits, 'denyInboundRelayReservation'>
}

/**
 * A connection gater for the relay: the circuit relay server asks
 * `denyOutboundRelayedConnection(src, dst)` before every circuit, the place to
 * cap circuits per source peer (a denied one is a `warn` event), and
 * `denyInboundRelayReservation(peer)` before every reservation, where the
 * `reservations` policy applies its per-IP and per-network caps. The gater is
 * asked before the outcome is known, so it reports no reservations or circuits:
 * `relay-observer.ts` does, once the relay has answered.
 */
export function relayGater (init: RelayGaterInit): ConnectionGater {
  const maxTracked = init.maxTrackedPeers ?? DEFAULT_MAX_TRACKED_PEERS
  const opened = new Map<string, number[]>()
  return {
    ...(init.reservations != null ? { denyInboundRelayReservation: init.reservations.denyInboundRelayReservation } : {}),
    denyOutboundRelayedConnection: (src: PeerId, dst: PeerId): boolean => {
      const now = Date.now()
      const key = src.toString()
      const times = (opened.get(key) ?? []).filter(t => now - t < init.windowMs)
      const deny = times.length >= init.maxCircuitsPerPeer
      if (!deny) times.push(now)
      opened.delete(key)
      opened.set(key, times)
      // evict the least recently active peers beyond the bound
      while (opened.size > maxTracked) opened.delete(opened.keys().next().value as string)
      init.onCircuit?.(src, dst, !deny)
      if (deny) init.events.emit('warn', { message: `circuit ${key} -> ${dst.toString()} denied: more than ${init.maxCircuitsPerPeer} circuits within ${init.windowMs} ms` })
      return deny
    }
  }
}
