import { Circuit } from '@multiformats/multiaddr-matcher'
import type { NatkitEvents } from '@natkit/events'
import type { Connection, Libp2p } from '@libp2p/interface'

/**
 * True when a connection goes through a relay (or carries relay limits).
 * A WebRTC connection signalled over a relay has `/p2p-circuit` in its address
 * but is direct.
 */
export function isLimited (conn: Connection): boolean {
  return conn.limits != null || Circuit.exactMatch(conn.remoteAddr)
}

/**
 * Translates libp2p events into natkit events: connections, address changes
 * and hole-punch outcomes (relay reservations and circuits: the
 * `relayObserver` service, see `relay-observer.ts`).
 * Returns `off` (detaches every listener) and `refresh` (call it once the
 * node has started: emits `listening` if the addresses changed since the
 * last one; no `listening` event is emitted before the first call).
 */
export function observeNode (node: Libp2p, events: NatkitEvents): { off: () => void, refresh: () => void } {
  const offs: Array<() => void> = []
  const on = (target: EventTarget | undefined, name: string, fn: (evt: CustomEvent) => void): void => {
    if (target == null) return
    const listener = fn as (evt: Event) => void
    target.addEventListener(name, listener)
    offs.push(() => { target.removeEventListener(name, listener) })
  }
  let lastAddrs = ''
  // libp2p reports address changes while it starts, before its listeners are
  // bound (with --announce, `getMultiaddrs()` already returns the announced
  // ones): nothing is `listening` until `refresh` is called after start
  let started = false
  const emitAddrs = (): void => {
    if (!started) return
    const addrs = node.getMultiaddrs().map(ma => ma.toString())
    const key = addrs.join(' ')
    if (key === lastAddrs) return
    lastAddrs = key
    events.emit('listening', { addrs })
  }
  on(node, 'self:peer:update', emitAddrs)
  on(node, 'transport:listening', emitAddrs)
  on(node, 'connection:open', (evt) => {
    const c: Connection = evt.detail
    events.emit('peer:connect', { remotePeer: c.remotePeer.toString(), remoteAddr: c.remoteAddr.toString(), direction: c.direction, limited: isLimited(c) })
  })
  on(node, 'connection:close', (evt) => {
    const c: Connection = evt.detail
    events.emit('peer:disconnect', { remotePeer: c.remotePeer.toString(), remoteAddr: c.remoteAddr.toString() })
  })
  const hp = (node.services as Record<string, unknown>).holepunch

  for (const name of ['holepunch:attempt', 'holepunch:success', 'holepunch:failure', 'holepunch:retry', 'holepunch:refused', 'relayed:expiring'] as const) {
    on(hp instanceof EventTarget ? hp : undefined, name, (evt) => { events.emit(name, evt.detail) })
  }
  return { off: () => { offs.forEach(off => { off() }) }, refresh: () => { started = true; emitAddrs() } }
}
