/**
 * @packageDocumentation
 *
 * `@natkit/file-share` — content-addressed file sharing between libp2p peers
 * over `/natkit/file/1.0.0`. A shared file is named by the CIDv1 (raw codec,
 * sha2-256) of its bytes, announced through the node's content routing (the
 * DHT's provider records) and sent in chunks of 256 KiB, each with its sha-256,
 * under receiver-granted credit (bounded memory on both sides). The receiver
 * writes verified chunks to `<dest>.part`, checks the whole file against the
 * CID, and only then links it into place (never over an existing file); a
 * later `get` resumes a `.part`. Transfers never run over limited (relayed)
 * connections: `get` waits, bounded, for a direct one and says so.
 *
 * @example
 *
 * ```ts
 * import { fileShare } from '@natkit/file-share'
 *
 * const node = await createLibp2p({ ..., services: { files: fileShare() } })
 * const { cid } = await node.services.files.share('./photo.jpg')
 * // on another node:
 * await other.services.files.get(cid, { dest: './photo.jpg', onProgress: (n, total) => {} })
 * ```
 */
import { FileShareService } from './file-share.js'
import type { FileShare, FileShareComponents, FileShareInit } from './file-share.js'

/** Creates the file sharing service factory for `createLibp2p({ services })`. */
export function fileShare (init: FileShareInit = {}): (components: FileShareComponents) => FileShare {
  return (components) => new FileShareService(components, init)
}

export { FileShareService } from './file-share.js'
export type {
  FileShare, FileShareComponents, FileShareInit, SharedFile, GetOptions, GetResult, FileShareEvents,
  FileSharedEvent, FileProgressEvent, FileWaitingEvent, FileReceivedEvent, FileProvideEvent
} from './file-share.js'
export {
  FILE_PROTOCOL, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, CHUNK_FRAME_OVERHEAD, MAX_CONTROL_FRAME_SIZE, DEFAULT_MAX_FILE_SIZE,
  DEFAULT_MAX_SHARED_FILES, DEFAULT_CREDIT_CHUNKS, DEFAULT_MAX_CREDIT_BYTES, DEFAULT_CHUNK_TIMEOUT, DEFAULT_DIRECT_CONNECTION_TIMEOUT, DEFAULT_MAX_PROVIDERS,
  DEFAULT_FIND_PROVIDERS_TIMEOUT, DEFAULT_MAX_CONCURRENT_UPLOADS, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS, PART_SUFFIX
} from './constants.js'
export { cidFromDigest, parseContentId, hashFile } from './cid.js'
export {
  encodeRequest, decodeRequest, encodeHeader, decodeHeader, encodeCredit, decodeCredit, encodeChunk, decodeChunk,
  encodeFrame, decodeFrame, maxChunkFrameBytes
} from './codec.js'
export type { Request, Header, HeaderStatus, Credit, Chunk } from './codec.js'
export * from './errors.js'
