import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { writer } from 'protons-runtime'
import { describe, expect, it } from 'vitest'
import {
  FileFrameMalformedError, FileFrameTooLargeError, FileFrameTruncatedError, InvalidContentIdError, MAX_CHUNK_SIZE, MAX_CONTROL_FRAME_SIZE,
  decodeChunk, decodeCredit, decodeFrame, decodeHeader, decodeRequest, encodeChunk, encodeCredit, encodeFrame, encodeHeader, encodeRequest,
  hashFile, maxChunkFrameBytes, parseContentId
} from '../src/index.js'

const CID_STR = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'

describe('file transfer codec', () => {
  it('round-trips every frame', () => {
    expect(decodeRequest(encodeRequest({ cid: CID_STR }))).toEqual({ cid: CID_STR })
    expect(decodeRequest(encodeRequest({ name: 'a.txt' }))).toEqual({ name: 'a.txt' })
    const header = { status: 'OK' as const, cid: CID_STR, name: 'a.txt', bytes: 5 * 2 ** 32 + 7, chunkSize: 65536 }
    expect(decodeHeader(encodeHeader(header))).toEqual(header)
    expect(decodeHeader(encodeHeader({ status: 'NOT_FOUND', error: 'no' }))).toEqual({ status: 'NOT_FOUND', error: 'no' })
    expect(decodeCredit(encodeCredit({ offset: 123, chunks: 16 }))).toEqual({ offset: 123, chunks: 16 })
    expect(decodeCredit(encodeCredit({ chunks: 8 }))).toEqual({ chunks: 8 })
    const data = new Uint8Array([1, 2, 3])
    const chunk = { offset: 9, data, sha256: createHash('sha256').update(data).digest() }
    expect(decodeChunk(encodeChunk(chunk))).toEqual({ offset: 9, data, sha256: new Uint8Array(chunk.sha256) })
    const { body } = decodeFrame(encodeFrame(encodeChunk(chunk)), maxChunkFrameBytes())
    expect(decodeChunk(body).offset).toBe(9)
  })

  it('refuses oversized frames and chunks', () => {
    const prefix = writer()
    prefix.uint32(maxChunkFrameBytes() + 1)
    expect(() => decodeFrame(prefix.finish(), maxChunkFrameBytes())).toThrow(FileFrameTooLargeError)
    expect(() => decodeRequest(encodeRequest({ name: 'x'.repeat(MAX_CONTROL_FRAME_SIZE) }))).toThrow(FileFrameTooLargeError)
    const big = new Uint8Array(2048)
    expect(() => decodeChunk(encodeChunk({ offset: 0, data: big, sha256: new Uint8Array(32) }), 1024)).toThrow(FileFrameTooLargeError)
    expect(() => decodeChunk(encodeChunk({ offset: 0, data: new Uint8Array(1025), sha256: new Uint8Array(32) }), 1024)).toThrow(/not within 1\.\.1024/)
    expect(() => decodeHeader(encodeHeader({ status: 'OK', cid: CID_STR, name: 'a', bytes: 1, chunkSize: MAX_CHUNK_SIZE + 1 }))).toThrow(FileFrameMalformedError)
  })

  it('reports truncated frames', () => {
    const frame = encodeFrame(encodeHeader({ status: 'OK', cid: CID_STR, name: 'a', bytes: 1, chunkSize: 1 }))
    expect(() => decodeFrame(frame.subarray(0, frame.byteLength - 1), MAX_CONTROL_FRAME_SIZE)).toThrow(FileFrameTruncatedError)
    const body = encodeChunk({ offset: 0, data: new Uint8Array(10), sha256: new Uint8Array(32) })
    expect(() => decodeChunk(body.subarray(0, body.byteLength - 3))).toThrow(FileFrameTruncatedError)
  })

  it('reports malformed frames: wrong wire types, missing fields, bad values', () => {
    expect(() => decodeRequest(new Uint8Array([0x08, 0x01]))).toThrow(/wire type/)
    expect(() => decodeRequest(new Uint8Array([]))).toThrow(/exactly one of "cid" and "name"/)
    // both a cid and a name
    expect(() => decodeRequest(new Uint8Array([...encodeRequest({ cid: CID_STR }), ...encodeRequest({ name: 'n' })]))).toThrow(FileFrameMalformedError)
    expect(() => decodeHeader(new Uint8Array([]))).toThrow(/no known status/)
    expect(() => decodeHeader(encodeHeader({ status: 'OK', cid: CID_STR }))).toThrow(/needs "cid", "name", "bytes" and "chunkSize"/)
    expect(() => decodeCredit(new Uint8Array([]))).toThrow(/"chunks" is missing/)
    expect(() => decodeChunk(encodeChunk({ offset: 0, data: new Uint8Array(1), sha256: new Uint8Array(31) }))).toThrow(/expected 32/)
    // offset beyond 2^53
    const w = writer()
    w.uint32(8); w.uint64(2n ** 60n)
    expect(() => decodeCredit(new Uint8Array([...w.finish(), 0x10, 0x01]))).toThrow(/out of range/)
  })

  it('never throws anything but a typed error on random input', () => {
    let seed = 777
    const rand = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
    for (let i = 0; i < 2000; i++) {
      const buf = new Uint8Array(rand() % 60)
      for (let j = 0; j < buf.byteLength; j++) buf[j] = rand() & 0xff
      for (const decode of [() => decodeRequest(buf), () => decodeHeader(buf), () => decodeCredit(buf), () => decodeChunk(buf), () => decodeFrame(buf, 1024)]) {
        try {
          decode()
        } catch (err) {
          expect((err as Error).name).toMatch(/^FileFrame(Malformed|Truncated|TooLarge)Error$/)
        }
      }
    }
  })
})

describe('content ids', () => {
  it('hashFile streams a file to the CIDv1 (raw, sha2-256) of its bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'natkit-cid-'))
    try {
      const bytes = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff)
      await writeFile(join(dir, 'f'), bytes)
      const expected = CID.createV1(0x55, await sha256.digest(bytes)).toString()
      expect(await hashFile(join(dir, 'f'))).toEqual({ cid: expected, bytes: 200_000 })
      expect(parseContentId(expected).toString()).toBe(expected)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses strings that are not raw sha2-256 CIDv1s', () => {
    expect(() => parseContentId('hello')).toThrow(InvalidContentIdError)
    // CIDv0 (dag-pb)
    expect(() => parseContentId('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG')).toThrow(/not a CIDv1 of raw sha2-256/)
    // dag-cbor codec
    expect(() => parseContentId(CID.createV1(0x71, CID.parse(CID_STR).multihash).toString())).toThrow(InvalidContentIdError)
  })
})
