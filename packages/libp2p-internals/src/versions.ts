/** The libp2p version whose internals this module was checked against. */
export const LIBP2P_VERIFIED_VERSION = '3.3.11'
/** The @libp2p/circuit-relay-v2 version whose internals this module (and relay-observer.ts) was checked against. */
export const CIRCUIT_RELAY_VERIFIED_VERSION = '4.2.13'
