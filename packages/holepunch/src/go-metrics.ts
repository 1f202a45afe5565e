import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { HolePunchOutcomeEvent, HolePunchRole } from './holepunch.js'

/**
 * Label values of go-libp2p's hole punch metrics (`libp2p_holepunch_*`), computed
 * from natkit's events the way go-libp2p's `metricsTracer` computes them, so
 * its Grafana dashboard works on natkit peers unchanged.
 */

/** go-libp2p's name for a side: the DCUtR initiator (B) or receiver (A). */
export type GoHolePunchSide = 'initiator' | 'receiver'
export type GoHolePunchOutcome = 'success' | 'failed' | 'no_suitable_address'
export type GoAddressOutcome = GoHolePunchOutcome | 'cancelled'

export const GO_SIDES: readonly GoHolePunchSide[] = ['initiator', 'receiver']
/** Label values go-libp2p pre-initialises (so dashboards show zeros, not gaps). */
export const GO_NUM_ATTEMPTS: readonly string[] = ['1', '2', '3', '4']
export const GO_ADDRESS_OUTCOMES: readonly GoAddressOutcome[] = ['success', 'failed', 'cancelled', 'no_suitable_address']
export const GO_IP_VERSIONS: readonly string[] = ['ip4', 'ip6']
export const GO_TRANSPORTS: readonly string[] = ['quic', 'quic-v1', 'tcp', 'webtransport']

/** Transports in go-libp2p's order of precedence: the first one in an address names it. */
const TRANSPORT_PRECEDENCE = ['p2p-circuit', 'webrtc', 'webrtc-direct', 'webtransport', 'quic', 'quic-v1', 'wss', 'ws', 'tcp']

export function goSide (role: HolePunchRole): GoHolePunchSide {
  return role === 'initiator' ? 'initiator' : 'receiver'
}

/** `"0"`…`"5"`, then `"> 5"`, as go-libp2p labels attempt counts. */
export function goNumAttempts (n: number): string {
  return n > 5 ? '> 5' : String(Math.max(0, Math.floor(n)))
}

/** `ip4`, `ip6` or `unknown`. */
export function goIpVersion (ma: Multiaddr): string {
  const first = ma.getComponents()[0]?.name
  return first === 'ip4' || first === 'ip6' ? first : 'unknown'
}

/** The transport protocol of an address, by go-libp2p's precedence; `other` if none. */
export function goTransport (ma: Multiaddr): string {
  const names = new Set(ma.getComponents().map(c => c.name))
  return TRANSPORT_PRECEDENCE.find(t => names.has(t)) ?? 'other'
}

export interface GoAddressOutcomeLabels {
  side: GoHolePunchSide
  num_attempts: string
  ipv: string
  transport: string
  outcome: GoAddressOutcome
}

export interface GoOutcomeLabels {
  side: GoHolePunchSide
  num_attempts: string
  outcome: GoHolePunchOutcome
}

function parse (addrs: string[]): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const a of addrs) {
    try { out.push(multiaddr(a)) } catch { /* not an address: nothing to count */ }
  }
  return out
}

/**
 * One finished attempt → one `outcomes_total` sample and one
 * `address_outcomes_total` sample per own candidate address: `success` if the
 * direct connection used that address's IP version and transport, `cancelled`
 * if a direct connection used another, `failed` if none was made although the
 * peer offered a matching address, `no_suitable_address` if it offered none.
 */
export function goOutcomeLabels (e: HolePunchOutcomeEvent): { outcome: GoOutcomeLabels, addresses: GoAddressOutcomeLabels[] } {
  const side = goSide(e.role)
  const num = goNumAttempts(e.attempt)
  const direct = e.directAddr != null ? parse([e.directAddr])[0] : undefined
  const dipv = direct != null ? goIpVersion(direct) : undefined
  const dtransport = direct != null ? goTransport(direct) : undefined
  const remote = parse(e.remoteAddrs).map(ma => ({ ipv: goIpVersion(ma), transport: goTransport(ma) }))
  let matching = 0
  const addresses: GoAddressOutcomeLabels[] = []
  for (const own of parse(e.ownAddrs)) {
    const ipv = goIpVersion(own)
    const transport = goTransport(own)
    if (!remote.some(r => r.ipv === ipv && r.transport === transport)) {
      addresses.push({ side, num_attempts: num, ipv, transport, outcome: 'no_suitable_address' })
      continue
    }
    matching++
    const outcome: GoAddressOutcome = direct == null ? 'failed' : dipv === ipv && dtransport === transport ? 'success' : 'cancelled'
    addresses.push({ side, num_attempts: num, ipv, transport, outcome })
  }
  const outcome: GoHolePunchOutcome = direct != null ? 'success' : matching === 0 ? 'no_suitable_address' : 'failed'
  return { outcome: { side, num_attempts: num, outcome }, addresses }
}
