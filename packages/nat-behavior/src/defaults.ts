/**
 * Named defaults that option rows use, in a module that imports nothing:
 * `@natkit/nat-behavior/defaults` keeps `natkit-autonat --help` free of
 * libp2p code (issue 14).
 */

/**
 * Longest idle time the mapping lifetime probe waits for: fresh mappings ask
 * the primary observer to answer after a quarter, half and all of it
 * (natkit's NATKIT-RESPONSE-DELAY); 0 skips the probe.
 *
 * @default 2000
 */
export const DEFAULT_LIFETIME_MAX_MS = 2_000

/** Longest `lifetimeMaxMs` (the observer's DEFAULT_MAX_RESPONSE_DELAY_MS). */
export const MAX_LIFETIME_MS = 10_000

/** Most observers (`servers`) one discovery asks. */
export const MAX_NAT_OBSERVERS = 8
