import { Circuit } from '@multiformats/multiaddr-matcher'
import { observeRelayServer } from './relay-observer.js'
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
 * Translates libp2p events into natkit events: connections, address changes,
 * relay reservations and circuits (relay role, see `relay-observer.ts`) and
 * hole-punch outcomes.
 * Returns `off` (detaches every listener) and `refresh` (emits `listening`
 * if the addresses changed since the last one).
 */
export function observeNode (node: Libp2p<Record<string, any>>, events: NatkitEvents): { off: () => void, refresh: () => void } {
  const offs: Array<() => void> = []
  const on = (target: EventTarget | undefined, name: string, fn: (evt: any) => void): void => {
    if (target == null) return
    target.addEventListener(name, fn)
    offs.push(() => { target.removeEventListener(name, fn) })
  }
  let lastAddrs = ''
  const emitAddrs = (): void => {
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
  const hp = node.services.holepunch as EventTarget | undefined
  for (const name of ['holepunch:attempt', 'holepunch:success', 'holepunch:failure'] as const) {
    on(hp, name, (evt) => { events.emit(name, evt.detail) })
  }
  if (node.services.relay != null) {
    try {
      offs.push(observeRelayServer(node.services.relay, events))
    } catch (err) {
      events.emit('warn', { message: `relay reservation and circuit events are off: ${(err as Error).message}` })
    }
  }
  return { off: () => { offs.forEach(off => { off() }) }, refresh: emitAddrs }
}
