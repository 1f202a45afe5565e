/**
 * Named defaults of @natkit/node that apps' option rows use, in a module that
 * imports nothing: `@natkit/node/defaults` loads no libp2p code, so a role's
 * `--help` and usage errors stay fast (issue 14).
 */

/** First delay before retrying a failed or lost reservation. @default 2000 */
export const DEFAULT_RESERVATION_RETRY = 2_000
/** Upper bound of the exponential retry delay. @default 60000 */
export const DEFAULT_RESERVATION_RETRY_MAX = 60_000
/**
 * Fraction of each reservation retry delay that is random: a delay `d`
 * becomes a value in `[d * (1 - jitter), d]`, so peers that lost the same
 * relay do not come back in lockstep.
 *
 * @default 0.5
 */
export const DEFAULT_RESERVATION_JITTER = 0.5
/**
 * While a relay is unreachable, its address is probed with a TCP connect this
 * often (ms); once the address accepts connections again, the reservation is retried at once
 * instead of waiting out the backoff. 0 = no probe.
 *
 * @default 1000
 */
export const DEFAULT_RELAY_PROBE_INTERVAL = 1_000

/** Reservations held at once by peers of one IP (IPv6: one /64). @default 8 */
export const DEFAULT_MAX_RESERVATIONS_PER_IP = 8
/** Reservations held at once by peers of one IPv4 /16 or IPv6 /32. @default 32 */
export const DEFAULT_MAX_RESERVATIONS_PER_NETWORK = 32
/** How long a reservation outlives the last connection of the peer that made it, in ms. @default 10000 */
export const DEFAULT_RESERVATION_GRACE = 10_000

/**
 * Relays a peer without `--relay` finds through the DHT and keeps a
 * reservation on (`--relays`); 0 = find none.
 *
 * @default 2
 */
export const DEFAULT_DISCOVERED_RELAYS = 2
/** Upper bound of `--relays`. @default 8 */
export const MAX_DISCOVERED_RELAYS = 8
