import { createHash } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { copyFile, link, open, stat, truncate, unlink } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { TypedEventEmitter } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { cidFromDigest, hashFile, hashRange, parseContentId } from './cid.js'
import { decodeChunk, decodeCredit, decodeHeader, decodeRequest, encodeChunk, encodeCredit, encodeHeader, encodeRequest, maxChunkFrameBytes, readFrame } from './codec.js'
import {
  DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_TIMEOUT, DEFAULT_CREDIT_CHUNKS, DEFAULT_DIRECT_CONNECTION_TIMEOUT, DEFAULT_FIND_PROVIDERS_TIMEOUT,
  DEFAULT_MAX_CONCURRENT_UPLOADS, DEFAULT_MAX_CREDIT_BYTES, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS, DEFAULT_MAX_PROVIDERS, DEFAULT_MAX_SHARED_FILES,
  FILE_PROTOCOL, MAX_CHUNK_SIZE, MAX_CONTROL_FRAME_SIZE, PART_SUFFIX
} from './constants.js'
import {
  ChunkVerificationError, DestinationExistsError, DirectConnectionTimeoutError, FileFrameMalformedError, FileTooLargeError,
  FileTransferTimeoutError, FileVerificationError, InvalidContentIdError, NoProvidersError, RemoteFileError, RemoteFileNotFoundError,
  TooManySharedFilesError
} from './errors.js'
import type { Header, Request } from './codec.js'
import type {
  AbortOptions, ComponentLogger, Connection, ConnectionLimits, ContentRouting, Libp2pEvents, Logger, PeerId, PeerStore, Startable,
  Stream, TypedEventTarget
} from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { FileHandle } from 'node:fs/promises'

/** Options of {@link fileShare}. Every bound has a named default. */
export interface FileShareInit {
  /** @default '/natkit/file/1.0.0' ({@link FILE_PROTOCOL}) */
  protocol?: string
  /** Bytes per chunk this node serves. @default 262144 ({@link DEFAULT_CHUNK_SIZE}) */
  chunkSize?: number
  /** Largest chunk size accepted from a server. @default 1048576 ({@link MAX_CHUNK_SIZE}) */
  maxChunkSize?: number
  /** Largest file shared or downloaded. @default 16 GiB ({@link DEFAULT_MAX_FILE_SIZE}) */
  maxFileSize?: number
  /** Most files shared at once. @default 1024 ({@link DEFAULT_MAX_SHARED_FILES}) */
  maxSharedFiles?: number
  /** Chunks the receiver lets the server send ahead. @default 12 ({@link DEFAULT_CREDIT_CHUNKS}) */
  creditChunks?: number
  /** Most bytes of chunks the server may send ahead. @default 3 MiB ({@link DEFAULT_MAX_CREDIT_BYTES}) */
  maxCreditBytes?: number
  /** Longest wait (ms) for the next frame. @default 30000 ({@link DEFAULT_CHUNK_TIMEOUT}) */
  chunkTimeout?: number
  /** Longest wait (ms) for a direct connection when only a relayed one exists. @default 60000 ({@link DEFAULT_DIRECT_CONNECTION_TIMEOUT}) */
  directConnectionTimeout?: number
  /** Most providers tried by `get` without `from`. @default 5 ({@link DEFAULT_MAX_PROVIDERS}) */
  maxProviders?: number
  /** Time budget (ms) of a provider search. @default 30000 ({@link DEFAULT_FIND_PROVIDERS_TIMEOUT}) */
  findProvidersTimeout?: number
  /** Announce shared files through the node's content routing (e.g. the DHT), when it has a content router. @default true */
  provide?: boolean
  /** Where `get` without `dest` saves files (under the name the provider gave). @default process.cwd() */
  downloadDir?: string
  /** Most files sent at once, over all connections. @default 16 ({@link DEFAULT_MAX_CONCURRENT_UPLOADS}) */
  maxConcurrentUploads?: number
  /** @default 4 ({@link DEFAULT_MAX_INBOUND_STREAMS}) */
  maxInboundStreams?: number
  /** @default 4 ({@link DEFAULT_MAX_OUTBOUND_STREAMS}) */
  maxOutboundStreams?: number
}

/** What the libp2p node gives the service. */
export interface FileShareComponents {
  /** This node: never tried as a provider of its own search. */
  peerId: PeerId
  connectionManager: ConnectionManager
  registrar: Registrar
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  /** Used to announce shared files and find providers (a node without content routers just skips announcing). */
  contentRouting?: ContentRouting
  /** Provider addresses found by content routing are added here before dialling. */
  peerStore?: PeerStore
}

/** A file this node shares. */
export interface SharedFile {
  /** CIDv1 (raw, sha2-256 of the whole file) string. */
  cid: string
  /** Base name the file is offered under. */
  name: string
  bytes: number
  /** Absolute path on this node. */
  path: string
}

export interface GetOptions extends AbortOptions {
  /**
   * Destination path, or an existing directory to save into under the name the
   * provider gave; default `<downloadDir>/<that name>`. An existing file there
   * is never overwritten (`DestinationExistsError`).
   */
  dest?: string
  /** The peer to fetch from; without it providers are found through content routing (needs a CID). */
  from?: PeerId
  /** Called as verified bytes are written: bytes so far (including a resumed part), total. */
  onProgress?(bytes: number, total: number): void
}

/** What `get` resolves with, once the whole file is verified and in place. */
export interface GetResult {
  cid: string
  name: string
  /** Where the file was saved. */
  path: string
  bytes: number
  /** Peer id string of the provider it came from. */
  from: string
  /** Verified bytes found in a `.part` file and kept (0 for a fresh download). */
  resumedFrom: number
  /** Bytes received over the network in this call. */
  transferred: number
}

export interface FileSharedEvent { path: string, cid: string, name: string, bytes: number }
export interface FileProgressEvent { cid: string, bytes: number, total: number }
export interface FileWaitingEvent { cid: string, peer: string, message: string }
export interface FileReceivedEvent { cid: string, path: string, bytes: number, from: string }
export interface FileProvideEvent { cid: string, error?: string }

export interface FileShareEvents {
  /** `share` recorded a file. */
  'file:shared': CustomEvent<FileSharedEvent>
  /** A download wrote and verified more bytes. */
  'file:progress': CustomEvent<FileProgressEvent>
  /** Only a limited (relayed) connection to the provider: waiting (bounded) for a direct one. */
  'file:waiting': CustomEvent<FileWaitingEvent>
  /** A download finished, verified, and was renamed into place. */
  'file:received': CustomEvent<FileReceivedEvent>
  /** Announcing a shared file through content routing finished (`error` set when it failed; sharing still works). */
  'file:provided': CustomEvent<FileProvideEvent>
}

/** The `fileShare()` service. */
export interface FileShare extends TypedEventTarget<FileShareEvents> {
  readonly protocol: string
  /**
   * Hashes `path` (streaming) and shares it under its base name; announces it
   * through content routing in the background when there is a content router.
   * Sharing the same content again replaces the earlier record.
   */
  share(path: string, options?: AbortOptions): Promise<SharedFile>
  /** Stops sharing a CID; true if it was shared. */
  unshare(cid: string): boolean
  /** The files this node shares, oldest first. */
  list(): SharedFile[]
  /**
   * Downloads a file by CID (from `from`, or from providers found through
   * content routing) or by name (needs `from`), verifying every chunk and the
   * whole file, into `dest` (via `<dest>.part`, resumed if present).
   */
  get(cidOrName: string, options?: GetOptions): Promise<GetResult>
}

export class FileShareService extends TypedEventEmitter<FileShareEvents> implements FileShare, Startable {
  readonly [Symbol.toStringTag] = '@natkit/file-share'
  readonly protocol: string
  readonly #components: FileShareComponents
  readonly #log: Logger
  readonly #chunkSize: number
  readonly #maxChunkSize: number
  readonly #maxFileSize: number
  readonly #maxSharedFiles: number
  readonly #creditChunks: number
  readonly #maxCreditBytes: number
  readonly #chunkTimeout: number
  readonly #directConnectionTimeout: number
  readonly #maxProviders: number
  readonly #findProvidersTimeout: number
  readonly #provide: boolean
  readonly #downloadDir: string
  readonly #maxInboundStreams: number
  readonly #maxConcurrentUploads: number
  #uploads = 0
  readonly #maxOutboundStreams: number
  readonly #shared = new Map<string, SharedFile & { mtimeMs: number }>()
  readonly #downloading = new Set<string>()
  #stopController = new AbortController()
  #started = false

  constructor (components: FileShareComponents, init: FileShareInit = {}) {
    super()
    this.#components = components
    this.#log = components.logger.forComponent('natkit:file-share')
    this.protocol = init.protocol ?? FILE_PROTOCOL
    this.#maxChunkSize = positive(init.maxChunkSize, MAX_CHUNK_SIZE, 'maxChunkSize')
    this.#chunkSize = positive(init.chunkSize, DEFAULT_CHUNK_SIZE, 'chunkSize')
    if (this.#chunkSize > MAX_CHUNK_SIZE) throw new RangeError(`chunkSize must be at most ${MAX_CHUNK_SIZE}, got ${this.#chunkSize}`)
    this.#maxFileSize = positive(init.maxFileSize, DEFAULT_MAX_FILE_SIZE, 'maxFileSize')
    this.#maxSharedFiles = positive(init.maxSharedFiles, DEFAULT_MAX_SHARED_FILES, 'maxSharedFiles')
    this.#creditChunks = positive(init.creditChunks, DEFAULT_CREDIT_CHUNKS, 'creditChunks')
    this.#maxCreditBytes = positive(init.maxCreditBytes, DEFAULT_MAX_CREDIT_BYTES, 'maxCreditBytes')
    this.#chunkTimeout = positive(init.chunkTimeout, DEFAULT_CHUNK_TIMEOUT, 'chunkTimeout')
    this.#directConnectionTimeout = positive(init.directConnectionTimeout, DEFAULT_DIRECT_CONNECTION_TIMEOUT, 'directConnectionTimeout')
    this.#maxProviders = positive(init.maxProviders, DEFAULT_MAX_PROVIDERS, 'maxProviders')
    this.#findProvidersTimeout = positive(init.findProvidersTimeout, DEFAULT_FIND_PROVIDERS_TIMEOUT, 'findProvidersTimeout')
    this.#maxConcurrentUploads = positive(init.maxConcurrentUploads, DEFAULT_MAX_CONCURRENT_UPLOADS, 'maxConcurrentUploads')
    this.#maxInboundStreams = positive(init.maxInboundStreams, DEFAULT_MAX_INBOUND_STREAMS, 'maxInboundStreams')
    this.#maxOutboundStreams = positive(init.maxOutboundStreams, DEFAULT_MAX_OUTBOUND_STREAMS, 'maxOutboundStreams')
    this.#provide = init.provide ?? true
    this.#downloadDir = resolve(init.downloadDir ?? process.cwd())
  }

  isStarted (): boolean {
    return this.#started
  }

  async start (): Promise<void> {
    if (this.#started) return
    if (this.#stopController.signal.aborted) this.#stopController = new AbortController()
    await this.#components.registrar.handle(this.protocol, (stream, connection) => {
      this.#serve(stream, connection).catch(err => {
        this.#log('serving %p failed - %e', connection.remotePeer, err)
      })
    }, {
      // transfers never run over relayed connections: the relay's limits would cut them
      runOnLimitedConnection: false,
      maxInboundStreams: this.#maxInboundStreams,
      maxOutboundStreams: this.#maxOutboundStreams
    })
    this.#started = true
  }

  async stop (): Promise<void> {
    this.#stopController.abort(new Error('file share service stopped'))
    await this.#components.registrar.unhandle(this.protocol)
    this.#started = false
  }

  // ---- store ----

  async share (path: string, options: AbortOptions = {}): Promise<SharedFile> {
    const absolute = resolve(path)
    const before = await stat(absolute)
    if (!before.isFile()) throw new Error(`${path} is not a regular file`)
    if (before.size > this.#maxFileSize) throw new FileTooLargeError(`${path} has ${before.size} bytes, more than the maximum of ${this.#maxFileSize}`)
    const { cid, bytes } = await hashFile(absolute, options)
    const after = await stat(absolute)
    if (after.size !== bytes || after.mtimeMs !== before.mtimeMs) throw new Error(`${path} changed while it was hashed; share it again`)
    if (!this.#shared.has(cid) && this.#shared.size >= this.#maxSharedFiles) {
      throw new TooManySharedFilesError(`already sharing ${this.#shared.size} files (maxSharedFiles); unshare one first`)
    }
    const file = { cid, name: basename(absolute), bytes, path: absolute }
    this.#shared.delete(cid)
    this.#shared.set(cid, { ...file, mtimeMs: after.mtimeMs })
    this.safeDispatchEvent('file:shared', { detail: { path: absolute, cid, name: file.name, bytes } })
    if (this.#provide) this.#announce(cid)
    return file
  }

  unshare (cid: string): boolean {
    return this.#shared.delete(cid)
  }

  list (): SharedFile[] {
    return [...this.#shared.values()].map(({ cid, name, bytes, path }) => ({ cid, name, bytes, path }))
  }

  /** Provides `cid` through content routing in the background; failures are reported, not thrown. */
  #announce (cid: string): void {
    const routing = this.#components.contentRouting
    if (routing == null) return
    routing.provide(parseContentId(cid), { signal: this.#stopController.signal })
      .then(() => { this.safeDispatchEvent('file:provided', { detail: { cid } }) })
      .catch((err: unknown) => {
        // a node without content routers simply does not announce
        if (err instanceof Error && err.name === 'NoContentRoutersError') return
        const error = err instanceof Error ? err.message : String(err)
        this.#log('announcing %s failed - %s', cid, error)
        this.safeDispatchEvent('file:provided', { detail: { cid, error } })
      })
  }

  // ---- serving ----

  #lookup (req: Request): (SharedFile & { mtimeMs: number }) | undefined {
    if (req.cid != null) return this.#shared.get(req.cid)
    return [...this.#shared.values()].reverse().find(f => f.name === req.name)
  }

  async #serve (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_CONTROL_FRAME_SIZE })
    const timeout = (): AbortSignal => AbortSignal.any([AbortSignal.timeout(this.#chunkTimeout), this.#stopController.signal])
    let handle: FileHandle | undefined
    let uploading = false
    try {
      const req = decodeRequest(await readFrame(lp, 'file request', { signal: timeout() }))
      const file = this.#lookup(req)
      if (file == null) {
        await lp.write(encodeHeader({ status: 'NOT_FOUND', error: `not shared: ${req.cid ?? req.name ?? ''}`.slice(0, 200) }), { signal: timeout() })
        await stream.close({ signal: timeout() })
        return
      }
      if (this.#uploads >= this.#maxConcurrentUploads) {
        await lp.write(encodeHeader({ status: 'ERROR', error: `busy: already sending ${this.#uploads} files` }), { signal: timeout() })
        await stream.close({ signal: timeout() })
        return
      }
      const now = await stat(file.path).catch(() => undefined)
      if (now?.size !== file.bytes || now.mtimeMs !== file.mtimeMs) {
        await lp.write(encodeHeader({ status: 'ERROR', error: 'the file changed or vanished since it was shared' }), { signal: timeout() })
        await stream.close({ signal: timeout() })
        return
      }
      this.#uploads++
      uploading = true
      handle = await open(file.path, 'r')
      await lp.write(encodeHeader({ status: 'OK', cid: file.cid, name: file.name, bytes: file.bytes, chunkSize: this.#chunkSize }), { signal: timeout() })
      const first = decodeCredit(await readFrame(lp, 'credit', { signal: timeout() }))
      const start = first.offset ?? 0
      if (start > file.bytes) throw new FileFrameMalformedError(`offset ${start} is past the end of the file (${file.bytes} bytes)`)
      this.#log('sending %s to %p from offset %d', file.cid, connection.remotePeer, start)
      const credit = new Credit(first.chunks)
      // credit frames arrive while chunks go out
      const reading = (async () => {
        while (true) {
          const c = decodeCredit(await readFrame(lp, 'credit', { signal: this.#stopController.signal }))
          credit.add(c.chunks)
        }
      })()
      reading.catch((err: unknown) => { credit.fail(err) })
      const buf = Buffer.allocUnsafe(this.#chunkSize)
      for (let offset = start; offset < file.bytes;) {
        await credit.take(timeout())
        const { bytesRead } = await handle.read(buf, 0, Math.min(this.#chunkSize, file.bytes - offset), offset)
        if (bytesRead === 0) throw new Error(`${file.path} ended early at ${offset} bytes`)
        const data = buf.subarray(0, bytesRead)
        const sha256 = createHash('sha256').update(data).digest()
        await lp.write(encodeChunk({ offset, data, sha256 }), { signal: timeout() })
        offset += bytesRead
      }
      await stream.close({ signal: timeout() })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    } finally {
      if (uploading) this.#uploads--
      await handle?.close()
    }
  }

  // ---- downloading ----

  async get (cidOrName: string, options: GetOptions = {}): Promise<GetResult> {
    let req: Request
    try {
      req = { cid: parseContentId(cidOrName).toString() }
    } catch (err) {
      if (options.from == null) {
        throw new InvalidContentIdError(`${(err as Error).message}; to get a file by name, say which peer to ask (from)`)
      }
      if (cidOrName === '' || cidOrName.includes('/') || cidOrName.includes('\\')) throw new InvalidContentIdError(`"${cidOrName}" is neither a CID nor a file name`)
      req = { name: cidOrName }
    }
    if (options.dest != null && !(await isDirectory(options.dest))) await refuseExisting(resolve(options.dest))
    if (options.from != null) return this.#getFrom(options.from, req, options)
    const cid = parseContentId(req.cid ?? '')
    const routing = this.#components.contentRouting
    if (routing == null) throw new NoProvidersError(`no content routing to find providers of ${req.cid ?? ''}; say which peer to ask (from)`)
    const findSignal = AbortSignal.any([AbortSignal.timeout(this.#findProvidersTimeout), ...(options.signal != null ? [options.signal] : [])])
    let tried = 0
    let lastError: unknown
    const seen = new Set<string>()
    try {
      for await (const provider of routing.findProviders(cid, { signal: findSignal })) {
        const id = provider.id.toString()
        if (seen.has(id) || provider.id.equals(this.#components.peerId)) continue
        seen.add(id)
        if (provider.multiaddrs.length > 0) {
          await this.#components.peerStore?.merge(provider.id, { multiaddrs: provider.multiaddrs }).catch(() => {})
        }
        tried++
        try {
          return await this.#getFrom(provider.id, req, options)
        } catch (err) {
          // never try further providers after the caller gave up, or for a local problem
          if (options.signal?.aborted === true || err instanceof DestinationExistsError) throw err
          this.#log('getting %s from %p failed - %e', req.cid, provider.id, err)
          lastError = err
        }
        if (tried >= this.#maxProviders) break
      }
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      // the search ended (timeout, no routers): report what was tried
      lastError ??= err
    }
    const detail = lastError instanceof Error ? `: ${lastError.message}` : ''
    throw new NoProvidersError(tried === 0
      ? `no provider of ${req.cid ?? ''} found${detail}`
      : `${tried} provider(s) of ${req.cid ?? ''} tried, none delivered${detail}`, { cause: lastError })
  }

  /** A connection to `peer` without limits, waiting (bounded) for one if only a relayed one exists. */
  async #directConnection (peer: PeerId, cid: string, signal: AbortSignal): Promise<Connection> {
    const cm = this.#components.connectionManager
    const unlimited = (): Connection | undefined => cm.getConnections(peer).find(c => c.status === 'open' && c.limits == null)
    let found = unlimited()
    if (found != null) return found
    const opened = await cm.openConnection(peer, { signal })
    if (opened.limits == null) return opened
    found = unlimited()
    if (found != null) return found
    const limit = describeLimits(opened.limits)
    const message = `waiting for a direct connection to ${peer.toString()}; relayed limit is ${limit}`
    this.safeDispatchEvent('file:waiting', { detail: { cid, peer: peer.toString(), message } })
    const { promise, resolve: done, reject } = Promise.withResolvers<Connection>()
    const onOpen = (evt: CustomEvent<Connection>): void => {
      if (evt.detail.remotePeer.equals(peer) && evt.detail.limits == null) done(evt.detail)
    }
    const timer = setTimeout(() => {
      reject(new DirectConnectionTimeoutError(`no direct connection to ${peer.toString()} within ${this.#directConnectionTimeout} ms; the relayed connection is limited to ${limit}, too little for a file transfer`))
    }, this.#directConnectionTimeout)
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    this.#components.events.addEventListener('connection:open', onOpen)
    try {
      // it may have opened between the checks and the listener
      found = unlimited()
      if (found != null) return found
      return await promise
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      this.#components.events.removeEventListener('connection:open', onOpen)
    }
  }

  async #getFrom (peer: PeerId, req: Request, options: GetOptions): Promise<GetResult> {
    const signal = AbortSignal.any([this.#stopController.signal, ...(options.signal != null ? [options.signal] : [])])
    const what = req.cid ?? req.name ?? ''
    const frameSignal = (): AbortSignal => AbortSignal.any([signal, AbortSignal.timeout(this.#chunkTimeout)])
    const connection = await this.#directConnection(peer, req.cid ?? req.name ?? '', signal)
    const stream = await connection.newStream(this.protocol, { signal: frameSignal() })
    const lp = lpStream(stream, { maxDataLength: maxChunkFrameBytes(this.#maxChunkSize) })
    let dest: string | undefined
    let handle: FileHandle | undefined
    let verified = 0
    try {
      await lp.write(encodeRequest(req), { signal: frameSignal() })
      const header = await this.#readHeader(lp, peer, what, frameSignal)
      if (req.cid != null && header.cid !== req.cid) throw new FileFrameMalformedError(`asked ${peer.toString()} for ${req.cid}, it offered ${header.cid}`)
      if (header.bytes > this.#maxFileSize) throw new FileTooLargeError(`${header.name} has ${header.bytes} bytes, more than the maximum of ${this.#maxFileSize}`)
      dest = options.dest == null
        ? join(this.#downloadDir, safeName(header.name))
        : await isDirectory(options.dest) ? join(resolve(options.dest), safeName(header.name)) : resolve(options.dest)
      if (this.#downloading.has(dest)) throw new DestinationExistsError(`a download to ${dest} is already running`)
      await refuseExisting(dest)
      this.#downloading.add(dest)
      const part = dest + PART_SUFFIX
      const hash = createHash('sha256')
      const partBytes = (await stat(part).catch(() => undefined))?.size ?? 0
      if (partBytes > header.bytes) await truncate(part, 0)
      // re-hash what an earlier download verified and wrote, to continue the whole-file hash
      const resumedFrom = partBytes > header.bytes ? 0 : await hashRange(part, hash, partBytes, { signal })
      verified = resumedFrom
      handle = await open(part, resumedFrom > 0 ? 'r+' : 'w', 0o644)
      const window = Math.max(1, Math.min(this.#creditChunks, Math.floor(this.#maxCreditBytes / header.chunkSize)))
      await lp.write(encodeCredit({ offset: resumedFrom, chunks: window }), { signal: frameSignal() })
      const report = (): void => {
        options.onProgress?.(verified, header.bytes)
        this.safeDispatchEvent('file:progress', { detail: { cid: header.cid, bytes: verified, total: header.bytes } })
      }
      report()
      let consumed = 0
      while (verified < header.bytes) {
        // buffered frames are read without looking at the signal
        signal.throwIfAborted()
        const chunk = decodeChunk(await this.#readChunk(lp, what, frameSignal), header.chunkSize)
        if (chunk.offset !== verified) throw new ChunkVerificationError(`chunk at offset ${chunk.offset}, expected ${verified}`)
        if (verified + chunk.data.byteLength > header.bytes) throw new ChunkVerificationError(`chunk at ${chunk.offset} runs past the end of the file (${header.bytes} bytes)`)
        const digest = createHash('sha256').update(chunk.data).digest()
        if (!digest.equals(chunk.sha256)) throw new ChunkVerificationError(`chunk at offset ${chunk.offset} of ${header.cid} from ${peer.toString()} does not match its sha-256`)
        await handle.write(chunk.data, 0, chunk.data.byteLength, verified)
        hash.update(chunk.data)
        verified += chunk.data.byteLength
        report()
        if (++consumed >= Math.ceil(window / 2) && verified < header.bytes) {
          await lp.write(encodeCredit({ chunks: consumed }), { signal: frameSignal() })
          consumed = 0
        }
      }
      await handle.datasync()
      await handle.close()
      handle = undefined
      const got = cidFromDigest(hash.digest()).toString()
      if (got !== header.cid) {
        await unlink(part).catch(() => {})
        verified = -1
        throw new FileVerificationError(`${header.name} from ${peer.toString()} hashes to ${got}, not ${header.cid}; discarded`)
      }
      await stream.close({ signal: frameSignal() }).catch(() => {})
      await placeFile(part, dest)
      const result: GetResult = { cid: header.cid, name: header.name, path: dest, bytes: header.bytes, from: peer.toString(), resumedFrom, transferred: header.bytes - resumedFrom }
      this.safeDispatchEvent('file:received', { detail: { cid: header.cid, path: dest, bytes: header.bytes, from: result.from } })
      return result
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (handle != null && dest != null && verified >= 0) {
        // keep exactly the verified prefix, for a later resume
        await handle.truncate(verified).catch(() => {})
      }
      throw err
    } finally {
      await handle?.close().catch(() => {})
      if (dest != null) this.#downloading.delete(dest)
    }
  }

  async #readHeader (lp: ReturnType<typeof lpStream>, peer: PeerId, what: string, frameSignal: () => AbortSignal): Promise<Header & { cid: string, name: string, bytes: number, chunkSize: number }> {
    const header = decodeHeader(await this.#readChunk(lp, what, frameSignal), this.#maxChunkSize)
    if (header.status === 'NOT_FOUND') throw new RemoteFileNotFoundError(`${peer.toString()} does not share ${what}`)
    if (header.status !== 'OK') throw new RemoteFileError(`${peer.toString()} cannot send ${what}: ${header.error ?? header.status}`)
    return header as Header & { cid: string, name: string, bytes: number, chunkSize: number }
  }

  /** Reads a frame; a silent provider becomes `FileTransferTimeoutError`. */
  async #readChunk (lp: ReturnType<typeof lpStream>, what: string, frameSignal: () => AbortSignal): Promise<Uint8Array> {
    const signal = frameSignal()
    try {
      return (await readFrame(lp, 'frame', { signal })).subarray()
    } catch (err) {
      if (signal.aborted && signal.reason instanceof Error && signal.reason.name === 'TimeoutError') {
        throw new FileTransferTimeoutError(`no data for ${what} within ${this.#chunkTimeout} ms`)
      }
      throw err
    }
  }
}

/** Chunks the receiver allows; `take` waits (bounded by its signal) for one. */
class Credit {
  #available: number
  #waiter?: PromiseWithResolvers<void>
  #error?: unknown

  constructor (initial: number) {
    this.#available = initial
  }

  add (chunks: number): void {
    this.#available += chunks
    this.#waiter?.resolve()
  }

  fail (err: unknown): void {
    this.#error = err
    this.#waiter?.reject(err)
  }

  async take (signal: AbortSignal): Promise<void> {
    while (this.#available <= 0) {
      if (this.#error != null) throw this.#error
      this.#waiter = Promise.withResolvers()
      const onAbort = (): void => { this.#waiter?.reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        await this.#waiter.promise
      } finally {
        signal.removeEventListener('abort', onAbort)
      }
    }
    this.#available--
  }
}

/** The tightest limit of a relayed connection, readable ("128 KiB", "2 min"): data if it has one, else time. */
function describeLimits (limits: ConnectionLimits): string {
  if (limits.bytes != null) {
    const n = Number(limits.bytes)
    return n >= 1024 * 1024 ? `${Math.round(n / (1024 * 1024))} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} bytes`
  }
  if (limits.seconds != null) return limits.seconds >= 120 ? `${Math.round(limits.seconds / 60)} min` : `${limits.seconds} s`
  return 'unknown'
}

/** The provider's name reduced to a plain file name (no directories, no dot names). */
function safeName (name: string): string {
  const base = [...basename(name.replaceAll('\\', '/'))].map(ch => ch.charCodeAt(0) < 0x20 || ch === '\x7f' ? '_' : ch).join('')
  return base === '' || base === '.' || base === '..' ? 'download' : base
}

async function isDirectory (path: string): Promise<boolean> {
  return stat(path).then(s => s.isDirectory(), () => false)
}

async function refuseExisting (dest: string): Promise<void> {
  if (await stat(dest).then(() => true, () => false)) {
    throw new DestinationExistsError(`${dest} already exists; it is never overwritten (choose another destination)`)
  }
}

/**
 * Moves the verified part file to `dest` without ever replacing an existing
 * file: a hard link fails if `dest` exists (then the part is kept).
 */
async function placeFile (part: string, dest: string): Promise<void> {
  try {
    await link(part, dest)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new DestinationExistsError(`${dest} appeared during the download; the verified file stays at ${part}`)
    // file systems without hard links: copy, failing if dest exists
    await copyFile(part, dest, fsConstants.COPYFILE_EXCL).catch((copyErr: NodeJS.ErrnoException) => {
      if (copyErr.code === 'EEXIST') throw new DestinationExistsError(`${dest} appeared during the download; the verified file stays at ${part}`)
      throw copyErr
    })
  }
  await unlink(part)
}

function positive (value: number | undefined, fallback: number, name: string): number {
  if (value == null) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`)
  return value
}
