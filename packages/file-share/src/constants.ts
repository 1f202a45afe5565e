/** Protocol id of natkit file transfers. */
export const FILE_PROTOCOL = '/natkit/file/1.0.0'

/**
 * Bytes per chunk frame the server sends (each carries its own sha-256).
 * 256 KiB chunks with a 3 MiB credit window ran about twice as fast on
 * loopback as 64 KiB chunks with 1 MiB (per-chunk costs: frame, hash, write).
 *
 * @default 262144
 */
export const DEFAULT_CHUNK_SIZE = 256 * 1024

/**
 * Largest chunk size a client accepts in a header (and a server may be
 * configured with). Bounds the largest frame read: `maxChunkSize + CHUNK_FRAME_OVERHEAD`.
 *
 * @default 1048576
 */
export const MAX_CHUNK_SIZE = 1024 * 1024

/** Bytes a chunk frame holds beyond its data (offset, sha-256, field tags). */
export const CHUNK_FRAME_OVERHEAD = 64

/** Largest request, header or credit frame in bytes. */
export const MAX_CONTROL_FRAME_SIZE = 1024

/**
 * Largest file `share` accepts and `get` downloads, in bytes.
 *
 * @default 17179869184 (16 GiB)
 */
export const DEFAULT_MAX_FILE_SIZE = 16 * 1024 * 1024 * 1024

/**
 * Most files one node shares at once; `share` of another is refused.
 *
 * @default 1024
 */
export const DEFAULT_MAX_SHARED_FILES = 1024

/**
 * Chunks a receiver lets the server send ahead (credit window). Receiver
 * memory is bounded by `creditChunks × chunkSize`.
 *
 * @default 12
 */
export const DEFAULT_CREDIT_CHUNKS = 12

/**
 * Most bytes of chunks a receiver lets the server send ahead, whatever the
 * chunk size: the credit is `min(creditChunks, maxCreditBytes / chunkSize)`
 * chunks, at least one. Kept under the 4 MiB read buffer of a libp2p stream
 * (`@libp2p/utils` byteStream), which aborts the stream when overrun.
 *
 * @default 3145728
 */
export const DEFAULT_MAX_CREDIT_BYTES = 3 * 1024 * 1024

/**
 * Longest wait (ms) for the next frame (header, chunk, or credit on the
 * server side) before the transfer fails with `FileTransferTimeoutError`.
 *
 * @default 30000
 */
export const DEFAULT_CHUNK_TIMEOUT = 30_000

/**
 * Longest wait (ms) for a direct connection when the only connection to the
 * provider is limited (relayed); then `DirectConnectionTimeoutError`.
 *
 * @default 60000
 */
export const DEFAULT_DIRECT_CONNECTION_TIMEOUT = 60_000

/**
 * Most providers `get` tries, in the order the content router returns them.
 *
 * @default 5
 */
export const DEFAULT_MAX_PROVIDERS = 5

/**
 * Time budget (ms) of finding providers through the content router.
 *
 * @default 30000
 */
export const DEFAULT_FIND_PROVIDERS_TIMEOUT = 30_000

/**
 * Concurrent inbound transfer streams per connection.
 *
 * @default 4
 */
export const DEFAULT_MAX_INBOUND_STREAMS = 4

/**
 * Concurrent outbound transfer streams per connection.
 *
 * @default 4
 */
export const DEFAULT_MAX_OUTBOUND_STREAMS = 4

/**
 * Most files this node sends at once, over all connections; a request beyond
 * it is answered with an `ERROR` header ("busy").
 *
 * @default 16
 */
export const DEFAULT_MAX_CONCURRENT_UPLOADS = 16

/** Suffix of the temporary file a download is written to before verification. */
export const PART_SUFFIX = '.part'
