/**
 * The relay's reservations grouped by the client's IP host and network, so
 * that the per-IP and per-network caps (relay-reservations.ts) count one
 * group instead of scanning every reservation on every RESERVE: that scan
 * (an `ipGroups` parse and a PeerMap key → PeerId conversion per held
 * reservation) made a reservation's CPU cost linear in the number held
 * (profile in docs/upstream.md §10).
 *
 * The server's store deletes reservations on its own (expiry), unseen, so
 * entries are checked lazily: an entry counts while the store still holds
 * that very reservation object (a refresh keeps the object, and its `addr`).
 * A group is checked only when its (possibly stale) size reaches the limit,
 * and the whole index is pruned once it holds more than twice the store's
 * reservations plus {@link INDEX_PRUNE_SLACK}: amortised O(1) per reservation.
 */
import type { IpGroups } from './ip-groups.js'
import type { PeerId } from '@libp2p/interface'

/**
 * Stale entries tolerated beyond twice the reservations held before the whole index is pruned.
 *
 * @default 1024
 */
export const INDEX_PRUNE_SLACK = 1024

/** Whether the store still holds this reservation (the same object) for the peer. */
export type IsHeld<R> = (peer: PeerId, reservation: R) => boolean

interface Entry<R> { peer: PeerId, reservation: R }

export class ReservationGroupIndex<R> {
  readonly #groups = new Map<string, Map<string, Entry<R>>>()
  #entries = 0

  /** Records a granted reservation under its host and network. */
  add (peer: PeerId, reservation: R, groups: IpGroups, isHeld: IsHeld<R>, held: number): void {
    const key = peer.toString()
    for (const group of [`host ${groups.host}`, `net ${groups.network}`]) {
      let members = this.#groups.get(group)
      if (members == null) this.#groups.set(group, members = new Map())
      if (!members.has(key)) this.#entries++
      members.set(key, { peer, reservation })
    }
    if (this.#entries > 2 * held + INDEX_PRUNE_SLACK) this.prune(isHeld)
  }

  /**
   * Reservations held in the host (`kind` 'host') or network of `groups`,
   * exact when it reaches `limit`; below it, an upper bound (stale entries are
   * only dropped when they could cause a refusal).
   */
  count (kind: 'host' | 'net', groups: IpGroups, limit: number, isHeld: IsHeld<R>): number {
    const group = `${kind} ${kind === 'host' ? groups.host : groups.network}`
    const members = this.#groups.get(group)
    if (members == null) return 0
    if (members.size < limit) return members.size
    this.#dropStale(group, members, isHeld)
    return members.size
  }

  /** Entries (per group) held; for tests. */
  get size (): number {
    return this.#entries
  }

  /** Drops every entry whose reservation the store no longer holds. */
  prune (isHeld: IsHeld<R>): void {
    for (const [group, members] of [...this.#groups]) this.#dropStale(group, members, isHeld)
  }

  #dropStale (group: string, members: Map<string, Entry<R>>, isHeld: IsHeld<R>): void {
    for (const [key, e] of [...members]) {
      if (isHeld(e.peer, e.reservation)) continue
      members.delete(key)
      this.#entries--
    }
    if (members.size === 0) this.#groups.delete(group)
  }
}
