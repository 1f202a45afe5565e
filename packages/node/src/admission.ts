/**
 * Inbound admission: how many inbound connections may be in their handshake
 * (noise, muxer) at once, in total and per IP, and for how long.
 *
 * js-libp2p counts pending inbound handshakes against one global limit
 * (`connectionManager.maxIncomingPendingConnections`, default 10, with a 10 s
 * `inboundUpgradeTimeout`): 10 idle sockets lock everyone out. natkit raises
 * the total (`--max-pending-inbound`), shortens the timeout
 * (`--handshake-timeout`) and adds a per-IP limit (`--max-pending-inbound-per-ip`)
 * in the connection gater: libp2p asks `denyInboundConnection(maConn)` right
 * after it counted the socket as pending and gives the slot back at once when
 * the gater denies, so one address holds at most its per-IP share of the
 * total. An honest peer is admitted while fewer than `maxPendingInbound -
 * 1` handshakes are pending, e.g. during idle sockets from up to
 * `(maxPendingInbound - 1)` other IPs, or `(maxPendingInbound - 1) /
 * maxPendingInboundPerIp` attackers' IPs each holding its full share.
 */
import { ipGroups } from './ip-groups.js'
import type { CommonOptions } from '@natkit/config'
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'

export interface InboundAdmissionInit {
  /** Inbound handshakes pending at once from one IP (IPv6: one /64). */
  maxPendingPerIp: number
  /** A pending handshake is released after this long at the latest (libp2p aborts it by then), in ms. */
  handshakeTimeout: number
}

/** Pure: the admission init from the common options (each role's `composeInit` includes it; a test proves it arrives). */
export function inboundAdmissionInit (options: Pick<CommonOptions, 'maxPendingInboundPerIp' | 'handshakeTimeout'>): InboundAdmissionInit {
  return { maxPendingPerIp: options.maxPendingInboundPerIp, handshakeTimeout: options.handshakeTimeout }
}

/**
 * `gater` plus the per-IP limit on pending inbound handshakes. A handshake
 * stops being pending when libp2p asks `denyInboundUpgradedConnection`
 * (upgrade done), when the socket closes (upgrade failed or aborted) or after
 * `handshakeTimeout`; the map holds only IPs with pending handshakes, so its
 * size is bounded by libp2p's total pending limit.
 */
export function inboundAdmission (gater: ConnectionGater, init: InboundAdmissionInit): ConnectionGater {
  const pending = new Map<string, number>()
  const release = new WeakMap<MultiaddrConnection, () => void>()
  return {
    ...gater,
    denyInboundConnection: async (maConn: MultiaddrConnection): Promise<boolean> => {
      if ((await gater.denyInboundConnection?.(maConn)) === true) return true
      const host = ipGroups(maConn.remoteAddr)?.host
      if (host == null) return false
      const count = pending.get(host) ?? 0
      if (count >= init.maxPendingPerIp) {
        maConn.log?.('inbound connection from %a denied: %d handshakes pending from %s', maConn.remoteAddr, count, host)
        return true
      }
      pending.set(host, count + 1)
      let done = false
      const timer = setTimeout(() => { free() }, init.handshakeTimeout)
      timer.unref?.()
      const free = (): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        const left = (pending.get(host) ?? 1) - 1
        if (left > 0) pending.set(host, left)
        else pending.delete(host)
      }
      maConn.addEventListener('close', free, { once: true })
      release.set(maConn, free)
      return false
    },
    denyInboundUpgradedConnection: async (peer: PeerId, maConn: MultiaddrConnection): Promise<boolean> => {
      release.get(maConn)?.()
      release.delete(maConn)
      return (await gater.denyInboundUpgradedConnection?.(peer, maConn)) === true
    }
  }
}
