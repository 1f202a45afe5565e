/**
 * @libp2p/noise {@link NOISE_VERIFIED_VERSION}, with two costs per connection
 * and per message taken out (docs/upstream.md §11). Both reach past noise's
 * public API, so they live here with a canary (`noise.test.ts`).
 *
 * - **X25519 key objects made once.** Noise's Node crypto turns raw key bytes
 *   into a `KeyObject` (DER-wrapped, parsed by OpenSSL) for each of the three
 *   Diffie-Hellman operations of a handshake, the node's static key included:
 *   in a relay's profile `createPrivateKey`/`createPublicKey` and their slot
 *   lookups took ~27 % of the CPU of a reservation, four times the DH itself.
 *   Here the ephemeral key pair is generated as key objects, and each private
 *   key object (the static one for the node's life) and each remote public key
 *   is made once and reused for the handshake's DHs.
 * - **No exception per received frame.** Noise reads its frames with
 *   `LengthPrefixedDecoder` and a `uint16BEDecode` that throws a `RangeError`
 *   when fewer than 2 bytes are buffered, which is how the decoder learns it
 *   has consumed everything: one `Error` with a captured stack trace per noise
 *   frame received (4 % of a reservation's CPU, 15 % of the relay's CPU while
 *   forwarding pings). Here each secured connection's decoder reads the
 *   2-byte length only when 2 bytes are there; same frames, same limit.
 */
import crypto, { type KeyObject } from 'node:crypto'
import { InvalidParametersError } from '@libp2p/interface'
import { noise, type NoiseInit } from '@libp2p/noise'
import type { ComponentLogger, ConnectionEncrypter, Metrics, PeerId, PrivateKey, Upgrader } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { Libp2pInternalsChangedError } from './errors.js'

/** The @libp2p/noise version whose internals this module was checked against. */
export const NOISE_VERIFIED_VERSION = '17.0.3'

/** DER prefixes of an X25519 SubjectPublicKeyInfo and PKCS#8 private key (the 32 raw bytes follow). */
const SPKI_X25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00])
const PKCS8_X25519_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])
/** Bytes of noise's frame length prefix (big-endian uint16). */
const LENGTH_BYTES = 2

interface KeyPair { publicKey: Uint8Array | Uint8ArrayList, privateKey: Uint8Array | Uint8ArrayList }

/** What noise's `Noise` instance holds as `crypto` (dist/src/crypto.js `wrapCrypto`). */
interface NoiseCryptoLike {
  generateKeypair: () => KeyPair
  dh: (keyPair: KeyPair, publicKey: Uint8Array | Uint8ArrayList) => Uint8Array
}

/** noise's `LengthPrefixedDecoder` (@libp2p/utils dist/src/length-prefixed-decoder.js) as noise builds it. */
interface FrameDecoderLike {
  buffer: Uint8ArrayList
  maxBufferSize: number
  encodingLength: (n: number) => number
  decode: (buf: Uint8Array | Uint8ArrayList) => Generator<Uint8ArrayList>
}

/** The components noise's factory takes. */
export interface NoiseComponents {
  privateKey: PrivateKey
  peerId: PeerId
  logger: ComponentLogger
  upgrader: Upgrader
  metrics?: Metrics
}

/** `noise(init)` with its key objects reused and its frame decoder not throwing per frame (see the module comment). */
export function natkitNoise (init: NoiseInit = {}): (components: NoiseComponents) => ConnectionEncrypter {
  return (components) => {
    const encrypter = noise(init)(components)
    reuseX25519KeyObjects(encrypter)
    decodeFramesWithoutThrowing(encrypter)
    return encrypter
  }
}

const der = (prefix: Uint8Array, raw: Uint8Array | Uint8ArrayList): Buffer => {
  const bytes = raw instanceof Uint8Array ? raw : raw.subarray()
  return Buffer.concat([prefix, bytes], prefix.byteLength + bytes.byteLength)
}

/**
 * Replaces the encrypter's `crypto.generateKeypair` and `crypto.dh`: key pairs
 * are generated as key objects, private key objects are kept per key pair and
 * remote public key objects per key (WeakMaps: they go with the handshake).
 *
 * @throws {Libp2pInternalsChangedError} the encrypter has no `crypto` with `generateKeypair` and `dh`
 */
export function reuseX25519KeyObjects (encrypter: ConnectionEncrypter): void {
  const c = (encrypter as { crypto?: Partial<NoiseCryptoLike> }).crypto
  if (typeof c?.generateKeypair !== 'function' || typeof c.dh !== 'function') {
    throw new Libp2pInternalsChangedError(`the noise encrypter has no crypto.generateKeypair and crypto.dh (noise.ts was written for @libp2p/noise ${NOISE_VERIFIED_VERSION})`)
  }
  const privateKeys = new WeakMap<KeyPair, KeyObject>()
  const publicKeys = new WeakMap<object, KeyObject>()
  c.generateKeypair = () => {
    const pair = crypto.generateKeyPairSync('x25519')
    const keyPair = {
      publicKey: pair.publicKey.export({ type: 'spki', format: 'der' }).subarray(SPKI_X25519_PREFIX.byteLength),
      privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'der' }).subarray(PKCS8_X25519_PREFIX.byteLength)
    }
    privateKeys.set(keyPair, pair.privateKey)
    return keyPair
  }
  c.dh = (keyPair, publicKey) => {
    let privateKey = privateKeys.get(keyPair)
    if (privateKey == null) {
      privateKey = crypto.createPrivateKey({ key: der(PKCS8_X25519_PREFIX, keyPair.privateKey), type: 'pkcs8', format: 'der' })
      privateKeys.set(keyPair, privateKey)
    }
    let remote = publicKeys.get(publicKey)
    if (remote == null) {
      remote = crypto.createPublicKey({ key: der(SPKI_X25519_PREFIX, publicKey), type: 'spki', format: 'der' })
      publicKeys.set(publicKey, remote)
    }
    return crypto.diffieHellman({ privateKey, publicKey: remote }).subarray(0, 32)
  }
}

/**
 * Wraps the encrypter's `secureInbound`/`secureOutbound` so that each secured
 * connection's frame decoder reads a length only when its 2 bytes are buffered.
 *
 * @throws {Libp2pInternalsChangedError} the encrypter has no secureInbound/secureOutbound
 */
export function decodeFramesWithoutThrowing (encrypter: ConnectionEncrypter): void {
  if (typeof encrypter.secureInbound !== 'function' || typeof encrypter.secureOutbound !== 'function') {
    throw new Libp2pInternalsChangedError(`the noise encrypter has no secureInbound and secureOutbound (noise.ts was written for @libp2p/noise ${NOISE_VERIFIED_VERSION})`)
  }
  const inbound = encrypter.secureInbound.bind(encrypter)
  const outbound = encrypter.secureOutbound.bind(encrypter)
  encrypter.secureInbound = async (connection, options) => {
    const secured = await inbound(connection, options)
    replaceFrameDecoder(secured.connection)
    return secured
  }
  encrypter.secureOutbound = async (connection, options) => {
    const secured = await outbound(connection, options)
    replaceFrameDecoder(secured.connection)
    return secured
  }
}

/**
 * The secured connection's `decoder.decode`, replaced: frames of a 2-byte
 * big-endian length and that many bytes, yielded as noise's decoder yields
 * them (empty frames skipped), the same `maxBufferSize` check and error.
 *
 * @throws {Libp2pInternalsChangedError} the connection has no length-prefixed decoder with 2-byte lengths
 */
export function replaceFrameDecoder (connection: unknown): void {
  const decoder = (connection as { decoder?: Partial<FrameDecoderLike> } | undefined)?.decoder
  if (typeof decoder?.decode !== 'function' || typeof decoder.buffer?.append !== 'function' || typeof decoder.maxBufferSize !== 'number' || decoder.encodingLength?.(0) !== LENGTH_BYTES) {
    throw new Libp2pInternalsChangedError(`the noise connection has no length-prefixed frame decoder with ${LENGTH_BYTES}-byte lengths (noise.ts was written for @libp2p/noise ${NOISE_VERIFIED_VERSION})`)
  }
  const { buffer, maxBufferSize } = decoder as FrameDecoderLike
  decoder.decode = function * (buf: Uint8Array | Uint8ArrayList): Generator<Uint8ArrayList> {
    buffer.append(buf)
    if (buffer.byteLength > maxBufferSize) {
      throw new InvalidParametersError(`Buffer length limit exceeded - ${buffer.byteLength}/${maxBufferSize}`)
    }
    while (buffer.byteLength >= LENGTH_BYTES) {
      const length = (buffer.get(0) << 8) | buffer.get(1)
      const end = LENGTH_BYTES + length
      if (buffer.byteLength < end) break
      const frame = buffer.sublist(LENGTH_BYTES, end)
      buffer.consume(end)
      if (frame.byteLength > 0) yield frame
    }
  }
}
