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

/**
 * How many hole punches on relayed connections that other peers opened to us
 * (we are DCUtR's initiator, B) may run at once, one per remote peer. Anyone
 * who reaches us through a relay can start one of these, so they have their
 * own table: they never take the slots of {@link DEFAULT_MAX_OWN_PUNCHES}.
 *
 * @default 16
 */
export const DEFAULT_MAX_CONCURRENT_PUNCHES = 16

/**
 * How many hole punches on relayed connections that we dialed (we are
 * DCUtR's responder, A: our own upgrades, e.g. `natkit-peer dial`) may run at
 * once, one per remote peer. Separate from {@link DEFAULT_MAX_CONCURRENT_PUNCHES},
 * so peers that connect to us cannot starve our own upgrades.
 *
 * @default 16
 */
export const DEFAULT_MAX_OWN_PUNCHES = 16

/**
 * Most remote candidate addresses we dial for one peer in total within
 * {@link DEFAULT_PEER_PUNCH_DIAL_WINDOW}, over all attempts, retry rounds and
 * relayed connections (each attempt also dials at most
 * {@link DEFAULT_MAX_DIAL_CANDIDATES}): a peer that names new addresses in
 * every CONNECT gets no dials to them once this many were used.
 *
 * @default 16
 */
export const DEFAULT_MAX_PEER_CANDIDATES = 16

/**
 * Most distinct IP addresses among one peer's dialled candidates in total
 * within {@link DEFAULT_PEER_PUNCH_DIAL_WINDOW}. A peer's observed addresses
 * share its NAT's public IP(s) (say one IPv4 and a few IPv6); a CONNECT that
 * names many hosts is aimed at third parties, so only its first few IPs are
 * dialled.
 *
 * @default 4
 */
export const DEFAULT_MAX_PEER_CANDIDATE_IPS = 4

/**
 * `holepunch:refused` (a DCUtR stream reset because it came on a connection
 * we did not dial as relayed) is reported at most once per this many ms per
 * remote peer; the event's `alsoRefused` counts those not reported since.
 *
 * @default 10_000
 */
export const DEFAULT_REFUSED_REPORT_INTERVAL = 10_000

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
 * Most punch dials (first SYNs and resends) we make to one remote peer within
 * {@link DEFAULT_PEER_PUNCH_DIAL_WINDOW}, over all its attempts, retry rounds
 * and relayed connections: a peer that keeps opening DCUtR streams cannot make
 * us send unbounded SYNs to addresses it names. One punch of
 * {@link DEFAULT_ATTEMPTS} attempts resending {@link DEFAULT_PUNCH_RESENDS}
 * times each takes up to ~3000; this leaves room for a few retry rounds.
 */
export const DEFAULT_MAX_PEER_PUNCH_DIALS = 10_000

/** Window (ms) of {@link DEFAULT_MAX_PEER_PUNCH_DIALS}. */
export const DEFAULT_PEER_PUNCH_DIAL_WINDOW = 3_600_000

/** How many peers' punch dial budgets are remembered (oldest forgotten first). */
export const DEFAULT_MAX_BUDGET_PEERS = 1_024

/**
 * Retry rounds after every attempt of a punch failed while the peer is still
 * reached only through a relay (B side, which starts the exchange). 0 turns
 * retries off.
 */
export const DEFAULT_RETRY_ROUNDS = 4

/** Delay (ms) before the first retry round; doubled for each further round. */
export const DEFAULT_RETRY_DELAY = 30_000

/** Longest delay (ms) between retry rounds. */
export const DEFAULT_RETRY_MAX_DELAY = 600_000

/** Retry delays are multiplied by a random factor in [1 - this, 1 + this]. */
export const DEFAULT_RETRY_JITTER = 0.2

/**
 * Shortest time (ms) between the end of a failed punch and a retry round that
 * a change of our addresses (new observed address, changed reachability)
 * brings forward.
 */
export const DEFAULT_RETRY_MIN_DELAY = 5_000

/**
 * How long (ms) before a relayed connection reaches its duration limit the
 * `relayed:expiring` warning is emitted (or at once, if less time is left).
 */
export const DEFAULT_RELAY_LIMIT_WARNING = 10_000

/** The `relayed:expiring` warning for a data limit fires once this fraction of the relay's data allowance is left. */
export const DEFAULT_RELAY_LIMIT_WARNING_FRACTION = 0.1

/** How often (ms) the limits of open relayed connections are checked. */
export const DEFAULT_RELAY_LIMIT_CHECK_INTERVAL = 1_000

/**
 * Bound (ms) of confirming one direct connection (`confirmDirect`, e.g. a
 * ping round trip over it) before it counts.
 */
export const DEFAULT_CONFIRM_TIMEOUT = 5_000

/**
 * Port prediction (issue 13): when the peer says its NAT maps per destination
 * with sequential (or not yet known) allocation and ours does not, we dial
 * this many predicted ports of its observed IP (its newest observed port plus
 * 1…this times its stride) from our listen port, beside its candidates.
 *
 * @default 16
 */
export const DEFAULT_PREDICTION_WINDOW = 16

/**
 * Most prediction probes (punch dials to predicted ports) one punch sends, over
 * all its attempts.
 *
 * @default 1024
 */
export const DEFAULT_MAX_PROBES = 1024

/**
 * Most prediction probes started per second.
 *
 * @default 250
 */
export const DEFAULT_PROBE_RATE = 250

/**
 * No prediction probe starts later than this many ms after the punch began.
 *
 * @default 10_000
 */
export const DEFAULT_PROBE_TIME = 10_000

/**
 * Hard side of a birthday punch (our NAT maps per destination with random or
 * unknown allocation, the natkit peer's keeps the port): connections opened
 * toward the peer's mapped address from ephemeral ports, each a new mapping
 * the peer's random probes may hit, per attempt (a new attempt's mappings
 * replace the last one's, which are closed); all of them count in
 * {@link DEFAULT_MAX_PROBES} per punch.
 *
 * @default 256
 */
export const DEFAULT_BIRTHDAY_SOCKETS = 256

/**
 * A random-port probe (easy side of a birthday punch) is given up after this
 * many ms: a probe that hits one of the peer's mappings is answered within a
 * round trip, and giving up before the kernel's first SYN retransmission (1 s)
 * keeps each probe to one SYN.
 *
 * @default 900
 */
export const DEFAULT_RANDOM_PROBE_LIFETIME = 900

/**
 * Lowest port random probes try (NATs allocate from 1024 up).
 *
 * @default 1024
 */
export const RANDOM_PROBE_MIN_PORT = 1024
