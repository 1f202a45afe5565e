/** The DCUtR protocol id, identical to go-libp2p and rust-libp2p. */
export const HOLEPUNCH_PROTOCOL = '/libp2p/dcutr'

/**
 * Time budget of one hole punch attempt (exchange + dial), in ms. Same as
 * go-libp2p's holepuncher.
 */
export const DEFAULT_TIMEOUT = 5_000

/** How many CONNECT/SYNC attempts the inbound (B) side makes. Same as go-libp2p. */
export const DEFAULT_ATTEMPTS = 3

/** Largest accepted DCUtR protobuf message in bytes (spec: 4 KiB). */
export const MAX_MESSAGE_SIZE = 4 * 1024

/** How many recent public observed TCP addresses are kept as candidates. */
export const DEFAULT_MAX_OBSERVED_ADDRS = 16

/** How many remote peers we keep observations for (symmetric NAT detection). */
export const DEFAULT_MAX_OBSERVERS = 64

/** How many hole punches may be in flight at once (one per remote peer). */
export const DEFAULT_MAX_CONCURRENT_PUNCHES = 16

/** Concurrent inbound DCUtR streams per connection. */
export const DEFAULT_MAX_INBOUND_STREAMS = 2

/** Concurrent outbound DCUtR streams per connection. */
export const DEFAULT_MAX_OUTBOUND_STREAMS = 1

/** Dial priority of punch dials so they jump the dial queue (as in stock). */
export const DEFAULT_DIAL_PRIORITY = 100

/** Upper bound of the RTT/2 wait before B dials, in ms. */
export const MAX_SYNC_DELAY = 2_000

/**
 * Most remote candidate addresses one punch attempt dials (after filtering).
 * A CONNECT may list many more; the rest are ignored, so a peer cannot turn
 * one relayed connection into a burst of dials at third parties.
 */
export const DEFAULT_MAX_DIAL_CANDIDATES = 8

/**
 * How many refused punch SYNs one attempt sends again, in total over its
 * candidates. A router that answers unsolicited inbound with a TCP reset
 * refuses the first SYN to reach it (and the reset removes the sender's own
 * mapping); both sides resending until two SYNs cross in flight gets through
 * it. This also bounds what one relayed peer can make us send to an address it
 * names: (1 + this) dials per attempt.
 */
export const DEFAULT_PUNCH_RESENDS = 1000

/** Mean pause (ms, jittered ×0.5–1.5) before a refused punch SYN is sent again. */
export const DEFAULT_PUNCH_RESEND_INTERVAL = 2

/**
 * Bound (ms) of confirming one direct connection (`confirmDirect`, e.g. a
 * ping round trip over it) before it counts.
 */
export const DEFAULT_CONFIRM_TIMEOUT = 5_000
