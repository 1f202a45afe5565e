/** Protocol the client opens on the server to request a dial-back. */
export const DIAL_REQUEST_PROTOCOL = '/libp2p/autonat/2/dial-request'

/** Protocol the server opens on the client (over a new connection) to deliver the nonce. */
export const DIAL_BACK_PROTOCOL = '/libp2p/autonat/2/dial-back'

/**
 * Largest protobuf message (without its varint length prefix) we encode or
 * accept, in bytes. Same limit as the js-libp2p AutoNAT v2 implementation.
 */
export const MAX_MESSAGE_SIZE = 8192

/**
 * Largest `data` field of a single `DialDataResponse` the spec allows, in
 * bytes.
 */
export const MAX_DIAL_DATA_CHUNK_SIZE = 4096

/** Most addresses accepted in one decoded `DialRequest`. */
export const MAX_DIAL_REQUEST_ADDRS = 64

/**
 * How long one address check may take, in ms, from opening the dial-request
 * stream to reading the `DialResponse` (covers the server's own dial timeout;
 * the js server gives up after 30 s).
 */
export const DEFAULT_TIMEOUT = 30_000

/**
 * Most dial data (anti-amplification bytes) we agree to send for one address,
 * in bytes. js and go servers ask for 30 000 – 100 000 bytes.
 */
export const DEFAULT_MAX_DIAL_DATA_BYTES = 200 * 1024

/** Size of the `data` field of each `DialDataResponse` we send, in bytes. */
export const DEFAULT_DIAL_DATA_CHUNK_SIZE = MAX_DIAL_DATA_CHUNK_SIZE

/**
 * After the server reports a successful dial-back, how long (ms) we still wait
 * for our dial-back handler to have seen the nonce (it normally already has:
 * the server only answers after our `DialBackResponse`).
 */
export const DEFAULT_DIAL_BACK_GRACE = 1_000

/** How long (ms) the dial-back handler waits for the `DialBack` message. */
export const DEFAULT_DIAL_BACK_READ_TIMEOUT = 10_000

/** Most addresses one `checkReachability` call accepts. */
export const DEFAULT_MAX_ADDRESSES = 32

/** Most nonces awaiting a dial-back at once on one node (all concurrent checks). */
export const DEFAULT_MAX_PENDING_DIAL_BACKS = 64
