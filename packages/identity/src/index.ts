/**
 * @packageDocumentation
 *
 * The node's long-lived key. A natkit role either runs with an ephemeral key
 * (no `--identity`), a key file (`--identity ./relay.key`) loaded or created
 * by {@link loadOrCreateIdentity}, or - in tests only - a key derived from a
 * seed string with {@link identityFromSeed}.
 *
 * The key file holds the protobuf-encoded libp2p private key (the same format
 * as `privateKeyToProtobuf`), is created with mode `0600` inside a directory
 * created with mode `0700`, is never overwritten, and is refused when readable
 * by group or others. Errors never contain key material.
 *
 * @example
 *
 * ```ts
 * import { loadOrCreateIdentity } from '@natkit/identity'
 *
 * const { privateKey, peerId, created } = await loadOrCreateIdentity('/var/lib/natkit/relay.key')
 * const node = await createLibp2p({ privateKey, ... })
 * ```
 */

import { USER_ERROR } from '@natkit/events'
import { createHash, randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { link, lstat, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { generateKeyPair, generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export { peerIdFromPrivateKey }

/** Mode of a newly created key file (owner read/write only). */
export const KEY_FILE_MODE = 0o600

/** Mode of a key file's parent directory when we have to create it. */
export const KEY_DIR_MODE = 0o700

/**
 * Largest key file we will read. A protobuf Ed25519 key is 68 bytes, an RSA
 * 4096 key is a few KiB; anything larger is not a key file.
 */
export const MAX_KEY_FILE_SIZE = 64 * 1024

/** Bounded number of attempts to pick an unused temporary file name. */
const MAX_TEMP_ATTEMPTS = 8

/**
 * Base class of the errors a user can fix (file mode, file contents, path):
 * callers recognise them with `instanceof IdentityError` and show the message
 * without a stack trace.
 */
export class IdentityError extends Error {
  static override name = 'IdentityError'
  override name = 'IdentityError'
  readonly [USER_ERROR] = true
  readonly path: string

  constructor (path: string, message: string) {
    super(message)
    this.path = path
  }
}

/** The key file is readable or writable by group or others. */
export class IdentityPermissionError extends IdentityError {
  static override name = 'IdentityPermissionError'
  override name = 'IdentityPermissionError'
  readonly mode: number

  constructor (path: string, mode: number) {
    const octal = (mode & 0o777).toString(8).padStart(3, '0')
    super(path, `refusing to use identity key file ${path}: mode ${octal} allows access by group/others; run: chmod 600 ${path}`)
    this.mode = mode & 0o777
  }
}

/** The key file exists but does not hold a usable protobuf-encoded private key. */
export class InvalidKeyFileError extends IdentityError {
  static override name = 'InvalidKeyFileError'
  override name = 'InvalidKeyFileError'

  constructor (path: string, problem: string) {
    super(path, `invalid identity key file ${path}: ${problem} (the file was left unchanged)`)
  }
}

/** The identity path cannot be used (it is a directory, a socket, unreadable, ...). */
export class IdentityPathError extends IdentityError {
  static override name = 'IdentityPathError'
  override name = 'IdentityPathError'

  constructor (path: string, problem: string) {
    super(path, `cannot use identity key file ${path}: ${problem}`)
  }
}

export interface Identity {
  privateKey: PrivateKey
  peerId: PeerId
  /** `true` when the key was generated and written by this call */
  created: boolean
}

/**
 * Load the private key stored at `path`, or generate a new Ed25519 key and
 * store it there when the file does not exist.
 *
 * - the file is created with mode `0600` (written to a temporary file in the
 *   same directory and then linked into place, so an existing file is never
 *   overwritten - if another process creates it first we load theirs)
 * - a missing parent directory is created with mode `0700`
 * - a file readable/writable by group or others → {@link IdentityPermissionError}
 * - an empty, corrupt or unsupported file → {@link InvalidKeyFileError}; the
 *   file is not modified
 * - a directory or other non-regular file → {@link IdentityPathError}
 */
export async function loadOrCreateIdentity (path: string): Promise<Identity> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new IdentityPathError(String(path), 'path must be a non-empty string')
  }

  const existing = await loadIdentity(path)
  if (existing != null) {
    return existing
  }

  const dir = dirname(resolve(path))
  try {
    await mkdir(dir, { recursive: true, mode: KEY_DIR_MODE })
  } catch (err) {
    throw new IdentityPathError(path, `cannot create directory ${dir}: ${describeFsError(err)}`)
  }

  const privateKey = await generateKeyPair('Ed25519')
  const bytes = privateKeyToProtobuf(privateKey)
  const written = await writeNewFile(path, dir, bytes)

  if (!written) {
    // another process created the file between our check and our link - use theirs
    const raced = await loadIdentity(path)
    if (raced == null) {
      throw new IdentityPathError(path, 'the file appeared and disappeared while it was being created')
    }
    return raced
  }

  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), created: true }
}

/**
 * Load the key at `path`; `undefined` when no file exists there.
 */
async function loadIdentity (path: string): Promise<Identity | undefined> {
  let info
  try {
    info = await stat(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      // a dangling symlink is not "missing" - creating a key through it would be surprising
      const link = await lstat(path).catch(() => undefined)
      if (link?.isSymbolicLink() === true) {
        throw new IdentityPathError(path, 'it is a symbolic link to a missing file')
      }
      return undefined
    }
    throw new IdentityPathError(path, describeFsError(err))
  }

  if (info.isDirectory()) {
    throw new IdentityPathError(path, 'it is a directory, expected a key file')
  }
  if (!info.isFile()) {
    throw new IdentityPathError(path, 'it is not a regular file')
  }
  if ((info.mode & 0o077) !== 0) {
    throw new IdentityPermissionError(path, info.mode)
  }
  if (info.size === 0) {
    throw new InvalidKeyFileError(path, 'the file is empty')
  }
  if (info.size > MAX_KEY_FILE_SIZE) {
    throw new InvalidKeyFileError(path, `the file is ${info.size} bytes, larger than any key (max ${MAX_KEY_FILE_SIZE})`)
  }

  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new IdentityPathError(path, describeFsError(err))
  }

  let privateKey: PrivateKey
  try {
    privateKey = privateKeyFromProtobuf(bytes)
  } catch {
    // deliberately not including the parser message: it may quote key bytes
    throw new InvalidKeyFileError(path, 'not a protobuf-encoded libp2p private key')
  }

  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), created: false }
}

/**
 * Write `bytes` to `path` without ever replacing an existing file: write a
 * 0600 temporary file next to it, then hard-link it into place (link fails
 * with EEXIST instead of overwriting). Returns `false` if `path` already
 * exists.
 */
async function writeNewFile (path: string, dir: string, bytes: Uint8Array): Promise<boolean> {
  let tmp: string | undefined
  let handle

  for (let i = 0; i < MAX_TEMP_ATTEMPTS && handle == null; i++) {
    const candidate = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
    try {
      handle = await open(candidate, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, KEY_FILE_MODE)
      tmp = candidate
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') {
        throw new IdentityPathError(path, `cannot create a temporary file in ${dir}: ${describeFsError(err)}`)
      }
    }
  }

  if (handle == null || tmp == null) {
    throw new IdentityPathError(path, `cannot pick an unused temporary file name in ${dir}`)
  }

  try {
    try {
      // the umask may have removed bits but never adds any; make sure it is exactly 0600
      await handle.chmod(KEY_FILE_MODE)
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }

    try {
      await link(tmp, path)
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') {
        return false
      }
      if (LINK_UNSUPPORTED.has(errnoCode(err) ?? '')) {
        // filesystem without hard links: rename, after a last existence check
        if (await exists(path)) {
          return false
        }
        await rename(tmp, path)
        return true
      }
      throw new IdentityPathError(path, `cannot move the new key into place: ${describeFsError(err)}`)
    }
    return true
  } catch (err) {
    if (err instanceof IdentityPathError) {
      throw err
    }
    throw new IdentityPathError(path, `cannot write the new key: ${describeFsError(err)}`)
  } finally {
    await rm(tmp, { force: true }).catch(() => {})
  }
}

/**
 * Derive an Ed25519 key deterministically from `seed` (sha256(seed) is the
 * 32-byte Ed25519 seed).
 *
 * **Test only**: anyone who knows the seed string has the private key. Use it
 * to give lab/test nodes stable, predictable peer ids.
 */
export async function identityFromSeed (seed: string): Promise<PrivateKey> {
  if (typeof seed !== 'string' || seed.length === 0) {
    throw new TypeError('identityFromSeed: seed must be a non-empty string')
  }
  const digest = new Uint8Array(createHash('sha256').update(seed, 'utf8').digest())
  return generateKeyPairFromSeed('Ed25519', digest)
}

/** Convenience: the peer id of a private key. */
export function peerIdFromKey (privateKey: PrivateKey): PeerId {
  return peerIdFromPrivateKey(privateKey)
}

/** `link(2)` errors meaning "this filesystem cannot hard-link", not "the target exists". */
const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

async function exists (path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (err) {
    return errnoCode(err) !== 'ENOENT'
  }
}

/** The errno code (`ENOENT`, ...) of a caught fs error, if it has one. */
function errnoCode (err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

function describeFsError (err: unknown): string {
  // fs errors carry the errno code and the path; never any file content
  const code = errnoCode(err)
  if (code != null) {
    return code === 'EACCES' || code === 'EPERM' ? `permission denied (${code})` : code
  }
  return err instanceof Error ? err.message : String(err)
}
