import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  IdentityError,
  IdentityPathError,
  IdentityPermissionError,
  InvalidKeyFileError,
  identityFromSeed,
  loadOrCreateIdentity,
  peerIdFromKey
} from './index.js'

let root: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'natkit-identity-'))
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('loadOrCreateIdentity', () => {
  it('creates an Ed25519 key with mode 0600 and a 0700 parent directory', async () => {
    const path = join(root, 'nested', 'dir', 'node.key')
    const id = await loadOrCreateIdentity(path)

    expect(id.created).toBe(true)
    expect(id.privateKey.type).toBe('Ed25519')
    expect(id.peerId.toString()).toMatch(/^12D3KooW/)
    expect(id.peerId.equals(peerIdFromKey(id.privateKey))).toBe(true)

    const fileInfo = await stat(path)
    expect(fileInfo.isFile()).toBe(true)
    expect(fileInfo.mode & 0o777).toBe(0o600)

    const dirInfo = await stat(join(root, 'nested', 'dir'))
    expect(dirInfo.isDirectory()).toBe(true)
    expect(dirInfo.mode & 0o777).toBe(0o700)

    // the file is the protobuf encoding of the returned key
    expect(new Uint8Array(await readFile(path))).toEqual(privateKeyToProtobuf(id.privateKey))

    // no temporary files left behind
    expect(await readdir(join(root, 'nested', 'dir'))).toEqual(['node.key'])
  })

  it('loads the same key again without rewriting it', async () => {
    const path = join(root, 'node.key')
    const first = await loadOrCreateIdentity(path)
    const before = await readFile(path)
    const beforeInfo = await stat(path)

    const second = await loadOrCreateIdentity(path)
    expect(second.created).toBe(false)
    expect(second.peerId.toString()).toBe(first.peerId.toString())
    expect(second.privateKey.equals(first.privateKey)).toBe(true)
    expect(await readFile(path)).toEqual(before)
    expect((await stat(path)).ino).toBe(beforeInfo.ino)
  })

  it('loads a key written by someone else (non-Ed25519 too)', async () => {
    const path = join(root, 'secp.key')
    const key = await generateKeyPair('secp256k1')
    await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600 })

    const id = await loadOrCreateIdentity(path)
    expect(id.created).toBe(false)
    expect(id.privateKey.equals(key)).toBe(true)
  })

  it.each([0o644, 0o640, 0o604, 0o660])('refuses a key file with mode %o', async (mode) => {
    const path = join(root, 'open.key')
    await loadOrCreateIdentity(path)
    await chmod(path, mode)
    const before = await readFile(path)

    const err = await loadOrCreateIdentity(path).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdentityPermissionError)
    expect(err).toBeInstanceOf(IdentityError)
    const e = err as IdentityPermissionError
    expect(e.name).toBe('IdentityPermissionError')
    expect(e.mode).toBe(mode)
    expect(e.message).toContain(path)
    expect(e.message).toContain(mode.toString(8))
    expect(e.message).toContain(`chmod 600 ${path}`)
    expect(await readFile(path)).toEqual(before)
  })

  it('refuses a corrupt key file and leaves it byte-identical', async () => {
    const path = join(root, 'corrupt.key')
    const garbage = new Uint8Array([0x08, 0x01, 0x12, 0x40, 0xde, 0xad, 0xbe, 0xef, 0x53, 0x45, 0x43, 0x52, 0x45, 0x54])
    await writeFile(path, garbage, { mode: 0o600 })
    const before = await stat(path)

    const err = await loadOrCreateIdentity(path).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidKeyFileError)
    expect(err).toBeInstanceOf(IdentityError)
    expect((err as Error).name).toBe('InvalidKeyFileError')
    expect((err as Error).message).toContain(path)
    // no key material / file content in the message
    expect((err as Error).message).not.toMatch(/dead|beef|SECRET|222,173/i)

    expect(new Uint8Array(await readFile(path))).toEqual(garbage)
    const after = await stat(path)
    expect(after.mtimeMs).toBe(before.mtimeMs)
    expect(after.mode & 0o777).toBe(0o600)
  })

  it('refuses an empty key file without replacing it', async () => {
    const path = join(root, 'empty.key')
    await writeFile(path, '', { mode: 0o600 })

    await expect(loadOrCreateIdentity(path)).rejects.toThrow(InvalidKeyFileError)
    expect((await readFile(path)).length).toBe(0)
  })

  it('refuses text that is not a protobuf key', async () => {
    const path = join(root, 'text.key')
    await writeFile(path, 'this is a secret passphrase, not a key\n', { mode: 0o600 })

    const err = await loadOrCreateIdentity(path).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidKeyFileError)
    expect((err as Error).message).not.toContain('passphrase')
    expect(await readFile(path, 'utf8')).toBe('this is a secret passphrase, not a key\n')
  })

  it('gives a clear error when the path is a directory', async () => {
    const path = join(root, 'a-dir')
    await mkdir(path)

    const err = await loadOrCreateIdentity(path).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdentityPathError)
    expect(err).toBeInstanceOf(IdentityError)
    expect((err as IdentityError).path).toBe(path)
    expect((err as Error).message).toContain(path)
    expect((err as Error).message).toContain('directory')
  })

  it('two concurrent creators end up with the same key', async () => {
    const path = join(root, 'race.key')
    const results = await Promise.all([loadOrCreateIdentity(path), loadOrCreateIdentity(path), loadOrCreateIdentity(path)])

    const ids = new Set(results.map(r => r.peerId.toString()))
    expect(ids.size).toBe(1)
    expect(results.filter(r => r.created)).toHaveLength(1)
    expect(await readdir(root)).toEqual(['race.key'])
  })
})

describe('identityFromSeed', () => {
  it('is deterministic per seed', async () => {
    const a1 = await identityFromSeed('alice')
    const a2 = await identityFromSeed('alice')
    const b = await identityFromSeed('bob')

    expect(a1.type).toBe('Ed25519')
    expect(peerIdFromKey(a1).toString()).toBe(peerIdFromKey(a2).toString())
    expect(a1.equals(a2)).toBe(true)
    expect(peerIdFromKey(b).toString()).not.toBe(peerIdFromKey(a1).toString())
  })

  it('produces a key that signs and verifies', async () => {
    const key = await identityFromSeed('signer')
    const data = new TextEncoder().encode('hello')
    const sig = await key.sign(data)
    expect(await key.publicKey.verify(data, sig)).toBe(true)
  })

  it('rejects an empty seed', async () => {
    await expect(identityFromSeed('')).rejects.toThrow(/non-empty/)
  })
})
