/** How often an SSDP M-SEARCH is sent again while a gateway search runs (ms). */
export const DEFAULT_SEARCH_MESSAGE_INTERVAL = 1_000

/** How long one gateway search waits for an answer (ms). */
export const DEFAULT_SEARCH_TIMEOUT = 10_000

/** Pause (ms) after a search no gateway answered; doubled after each such search up to {@link DEFAULT_SEARCH_RETRY_MAX}. */
export const DEFAULT_SEARCH_RETRY = 30_000

/** Longest pause (ms) between gateway searches that found nothing. */
export const DEFAULT_SEARCH_RETRY_MAX = 300_000

/** Lease asked for each port mapping (ms); the mapping is renewed before it ends while the node runs. */
export const DEFAULT_MAPPING_TTL = 3_600_000

/** Timeout (ms) of one request to the gateway: its external address, one mapping. */
export const DEFAULT_REQUEST_TIMEOUT = 5_000

/** Most ports mapped at once (each listen address is one port); further ones are reported, not mapped. */
export const DEFAULT_MAX_MAPPINGS = 8

/** How long stopping waits for the gateway to remove the mappings (ms). */
export const DEFAULT_UNMAP_TIMEOUT = 1_000
