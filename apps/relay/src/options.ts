import { parseRoleArgs, type ParseInit, type ParsedArgs } from '@natkit/cli'
import { DHT_PROTOCOL_SPEC, defineRole, spec, type CommonOptions, type HostPort } from '@natkit/config'
import { DEFAULT_MAX_RESERVATIONS_PER_IP, DEFAULT_MAX_RESERVATIONS_PER_NETWORK, DEFAULT_RESERVATION_GRACE } from '@natkit/node/defaults'

// ---------------------------------------------------------------------------
// named defaults

/** Default of `listen`: TCP 4001 and WebSockets 4002. */
export const DEFAULT_RELAY_LISTEN: readonly string[] = Object.freeze(['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'])
export const DEFAULT_MAX_RESERVATIONS = 128
export const DEFAULT_RESERVATION_TTL = 2 * 60 * 60 * 1000
export const DEFAULT_CIRCUIT_DURATION = 2 * 60 * 1000
export const DEFAULT_CIRCUIT_DATA = 128 * 1024
export const DEFAULT_MAX_CIRCUITS_PER_PEER = 16
export const DEFAULT_MAX_INBOUND_HOP_STREAMS = 32
export const DEFAULT_MAX_OUTBOUND_STOP_STREAMS = 64
export const DEFAULT_HOP_TIMEOUT = 30_000
export const DEFAULT_RELAY_AUTONAT = true
/**
 * The relay runs no libp2p connection monitor (0 = off): js-libp2p's pings
 * every connection every 10 s in one burst (~0.2 cores idle at 2,000 held
 * reservations, and under CPU pressure it aborts connections whose ping is
 * slow: their reservations are lost). A reservation's connection is kept
 * alive by yamux keep-alive and TCP; a dead one is found by yamux/TCP and
 * the reservation released after `--reservation-grace` (docs/upstream.md §10).
 *
 * @default 0
 */
export const DEFAULT_RELAY_CONNECTION_PING_INTERVAL = 0
export { DEFAULT_MAX_RESERVATIONS_PER_IP, DEFAULT_MAX_RESERVATIONS_PER_NETWORK, DEFAULT_RESERVATION_GRACE } from '@natkit/node/defaults'

export interface RelayOptions extends CommonOptions {
  role: 'relay'
  /**
   * Maximum concurrent relay reservations.
   *
   * @default 128
   */
  maxReservations: number
  /**
   * Reservations held at once by peers of one IP (IPv6: one /64).
   *
   * @default 8
   */
  maxReservationsPerIp: number
  /**
   * Reservations held at once by peers of one IPv4 /16 or IPv6 /32 (an ASN-like network).
   *
   * @default 32
   */
  maxReservationsPerNetwork: number
  /**
   * How long a reservation outlives the last connection of the peer that made it, in milliseconds.
   *
   * @default 10000 (10s)
   */
  reservationGrace: number
  /**
   * Lifetime of a reservation in milliseconds.
   *
   * @default 7200000 (2h)
   */
  reservationTtl: number
  /**
   * Duration limit of a relayed (limited) connection in milliseconds.
   *
   * @default 120000 (2m)
   */
  circuitDuration: number
  /**
   * Data limit of a relayed (limited) connection in bytes (each direction).
   *
   * @default 131072 (128KiB)
   */
  circuitData: number
  /**
   * Maximum concurrent circuits per source/destination peer.
   *
   * @default 16
   */
  maxCircuitsPerPeer: number
  /**
   * Maximum concurrent inbound HOP streams per connection.
   *
   * @default 32
   */
  maxInboundHopStreams: number
  /**
   * Maximum concurrent outbound STOP streams per connection.
   *
   * @default 64
   */
  maxOutboundStopStreams: number
  /**
   * Timeout of a HOP request (including the STOP to the destination) in milliseconds.
   *
   * @default 30000 (30s)
   */
  hopTimeout: number
  /**
   * How often libp2p's connection monitor pings every connection (aborting those whose ping fails), in milliseconds; 0 = off.
   *
   * @default 0 (off)
   */
  connectionPingInterval: number
  /**
   * Run an AutoNAT v2 server.
   *
   * @default true
   */
  autonat: boolean
  /**
   * Run a UDP STUN binding server on this `host:port` (e.g. `0.0.0.0:3478`). Unset = off.
   *
   * @default undefined
   */
  stunListen?: HostPort
  /**
   * The STUN server's alternate address and port: RFC 5780 CHANGE-REQUEST and
   * OTHER-ADDRESS, so a peer's NAT discovery against this relay alone
   * classifies mapping and filtering, plus a TCP connect-back observer on the
   * `--stun-listen` host:port (over TCP) connecting back from the alternate
   * address (what `natkit-autonat nat` uses for the unsolicited-inbound test).
   * Needs `--stun-listen` with a specific address. Unset = off.
   *
   * @default undefined
   */
  stunAlternate?: HostPort
  /**
   * Kademlia protocol id of the DHT the relay advertises itself in (with
   * `--bootstrap`: a provider record under its network's relay key).
   *
   * @default '/natkit/kad/1.0.0' for `local`/`lab`; '/ipfs/kad/1.0.0' for `public`
   */
  dhtProtocol: string
}

/** The relay's options: the common ones, then its reservation and circuit limits. */
export const RELAY_ROLE = defineRole<RelayOptions>({
  name: 'relay',
  listen: DEFAULT_RELAY_LISTEN,
  specs: [
    spec('maxReservations', 'int', DEFAULT_MAX_RESERVATIONS, 'maximum concurrent relay reservations', { min: 1, max: 100_000, arg: '<n>' }),
    spec('maxReservationsPerIp', 'int', DEFAULT_MAX_RESERVATIONS_PER_IP, 'maximum reservations held by peers of one IP (IPv6: one /64)', { min: 1, max: 100_000, arg: '<n>' }),
    spec('maxReservationsPerNetwork', 'int', DEFAULT_MAX_RESERVATIONS_PER_NETWORK, 'maximum reservations held by peers of one IPv4 /16 or IPv6 /32', { min: 1, max: 100_000, arg: '<n>' }),
    spec('reservationGrace', 'duration', DEFAULT_RESERVATION_GRACE, 'how long a reservation outlives the last connection of its peer', { min: 0, arg: '<duration>' }),
    spec('reservationTtl', 'duration', DEFAULT_RESERVATION_TTL, 'lifetime of a reservation', { min: 1000, arg: '<duration>' }),
    spec('circuitDuration', 'duration', DEFAULT_CIRCUIT_DURATION, 'duration limit of a relayed connection', { min: 1, arg: '<duration>' }),
    spec('circuitData', 'bytes', DEFAULT_CIRCUIT_DATA, 'data limit of a relayed connection', { min: 1, arg: '<bytes>' }),
    spec('maxCircuitsPerPeer', 'int', DEFAULT_MAX_CIRCUITS_PER_PEER, 'maximum concurrent circuits per peer', { min: 1, max: 10_000, arg: '<n>' }),
    spec('maxInboundHopStreams', 'int', DEFAULT_MAX_INBOUND_HOP_STREAMS, 'maximum concurrent inbound HOP streams per connection', { min: 1, max: 10_000, arg: '<n>' }),
    spec('maxOutboundStopStreams', 'int', DEFAULT_MAX_OUTBOUND_STOP_STREAMS, 'maximum concurrent outbound STOP streams per connection', { min: 1, max: 10_000, arg: '<n>' }),
    spec('hopTimeout', 'duration', DEFAULT_HOP_TIMEOUT, 'timeout of a HOP request', { min: 1, arg: '<duration>' }),
    spec('connectionPingInterval', 'duration', DEFAULT_RELAY_CONNECTION_PING_INTERVAL, 'ping every connection this often, aborting those whose ping fails (libp2p connection monitor); 0 = off', { min: 0, arg: '<duration>' }),
    spec('autonat', 'boolean', DEFAULT_RELAY_AUTONAT, 'run an AutoNAT v2 server'),
    spec('stunListen', 'hostport', undefined, 'run a UDP STUN binding server on host:port (e.g. 0.0.0.0:3478); unset = off', { arg: '<host:port>' }),
    spec('stunAlternate', 'hostport', undefined, 'the STUN server\'s alternate address:port (RFC 5780 CHANGE-REQUEST, OTHER-ADDRESS; TCP connect-back from it); needs --stun-listen', { arg: '<host:port>' }),
    // with --bootstrap, the relay advertises itself in this DHT (docs/relay-discovery.md)
    DHT_PROTOCOL_SPEC
  ],
  check: (o, ctx) => {
    if (o.stunAlternate != null && o.stunListen == null) ctx.fail('stunAlternate', 'needs --stun-listen')
  }
})

/** The `natkit-relay` command line: a circuit relay v2 server with AutoNAT v2 and optional STUN. */
export const RELAY_CLI: ParseInit<RelayOptions> = {
  name: 'natkit-relay',
  description: 'Circuit relay v2 server with reservation and circuit limits, an AutoNAT v2 server and an optional STUN binding server',
  role: RELAY_ROLE
}

/** Pure: argv (after the script name) and env → validated relay options. */
export function parseArgs (argv: string[], env: Record<string, string | undefined> = {}): ParsedArgs<RelayOptions> {
  return parseRoleArgs(argv, { ...RELAY_CLI, env })
}
