import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { InvalidContentIdError } from './errors.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Hash } from 'node:crypto'

/** The CIDv1 (raw codec, sha2-256 multihash) of content with sha-256 `digest`. */
export function cidFromDigest (digest: Uint8Array): CID {
  return CID.createV1(raw.code, Digest.create(sha256.code, digest))
}

/**
 * Parses a content id string; it must be a CIDv1 with the raw codec and a
 * sha2-256 multihash (what `share` produces). Throws `InvalidContentIdError`.
 */
export function parseContentId (text: string): CID {
  let cid: CID
  try {
    cid = CID.parse(text)
  } catch (err) {
    throw new InvalidContentIdError(`"${text.slice(0, 80)}" is not a CID: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (cid.version !== 1 || cid.code !== raw.code || cid.multihash.code !== sha256.code || cid.multihash.digest.byteLength !== 32) {
    throw new InvalidContentIdError(`${text} is not a CIDv1 of raw sha2-256 content`)
  }
  return cid
}

/**
 * Feeds bytes `[0, end)` of `path` into `hash` by streaming (64 KiB reads,
 * never the whole file in memory). Returns how many bytes were read.
 */
export async function hashRange (path: string, hash: Hash, end: number | undefined, options: AbortOptions = {}): Promise<number> {
  if (end === 0) return 0
  let bytes = 0
  const stream = createReadStream(path, { end: end != null ? end - 1 : undefined, highWaterMark: 64 * 1024, signal: options.signal })
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk)
    bytes += chunk.byteLength
  }
  return bytes
}

/** Hashes a file by streaming it: its CID string and size in bytes. */
export async function hashFile (path: string, options: AbortOptions = {}): Promise<{ cid: string, bytes: number }> {
  const hash = createHash('sha256')
  const bytes = await hashRange(path, hash, undefined, options)
  return { cid: cidFromDigest(hash.digest()).toString(), bytes }
}
