/**
 * natkitNoise: interoperates with stock noise, delivers every byte through
 * frames of every size, makes no exception per received frame and no key
 * object per Diffie-Hellman; and a canary for the noise internals it replaces.
 */
import crypto from 'node:crypto'
import { InvalidParametersError, type ConnectionEncrypter, type Libp2p, type Stream } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Libp2pInternalsChangedError, installedVersion } from './index.js'
import { NOISE_VERIFIED_VERSION, natkitNoise, replaceFrameDecoder, reuseX25519KeyObjects } from './noise.js'

const nodes: Libp2p[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
})

const ECHO = '/natkit-test/echo/1.0.0'

async function node (encrypter: 'natkit' | 'stock'): Promise<Libp2p> {
  const n = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [encrypter === 'natkit' ? natkitNoise() : noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false }
  })
  nodes.push(n)
  await n.handle(ECHO, (stream) => { stream.addEventListener('message', (evt) => { stream.send(evt.data) }) })
  return n
}

/** Sends `payload` on `stream` and reads its echo (from message events: breaking a for-await would close the stream). */
async function echoed (stream: Stream, payload: Uint8Array): Promise<Uint8Array> {
  const back = new Uint8ArrayList()
  const done = new Promise<void>((resolve) => {
    const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }): void => {
      back.append(evt.data)
      if (back.byteLength >= payload.byteLength) { stream.removeEventListener('message', onMessage); resolve() }
    }
    stream.addEventListener('message', onMessage)
  })
  stream.send(payload)
  await done
  return back.subarray()
}

const random = (n: number): Uint8Array => {
  const bytes = new Uint8Array(n)
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(n, i + 65536)))
  return bytes
}

/** Sizes around noise's frame limit (65,535 bytes with a 16-byte tag) and several frames per message. */
const SIZES = [1, 100, 65_519, 65_520, 65_535, 200_001]

describe('natkitNoise', () => {
  it(`the installed @libp2p/noise is the version noise.ts was checked against (${NOISE_VERIFIED_VERSION})`, () => {
    const version = installedVersion('@libp2p/noise')
    expect(version, `@libp2p/noise is now ${version}: re-read dist/src/noise.js (crypto), crypto.js (wrapCrypto: generateKeypair, dh), crypto/index.js and utils.js (EncryptedMessageStream's decoder), update packages/libp2p-internals/src/noise.ts and NOISE_VERIFIED_VERSION`).toBe(NOISE_VERIFIED_VERSION)
  })

  it('interoperates with stock noise both ways and delivers every byte of messages of every size', async () => {
    const [a, b, c] = await Promise.all([node('natkit'), node('stock'), node('natkit')])
    for (const [from, to, label] of [[a, b, 'natkit → stock'], [b, a, 'stock → natkit'], [a, c, 'natkit → natkit']] as const) {
      const stream = await from.dialProtocol(to.getMultiaddrs()[0], ECHO)
      for (const size of SIZES) {
        const payload = random(size)
        expect(Buffer.from(await echoed(stream, payload)).equals(payload), `${label}: ${size} bytes echoed intact`).toBe(true)
      }
      await stream.close()
    }
  })

  it('receives frames without an exception per frame (stock noise throws a RangeError per frame)', async () => {
    const MESSAGES = 200
    const rangeErrorsDuring = async (kind: 'natkit' | 'stock'): Promise<number> => {
      const [a, b] = await Promise.all([node(kind), node(kind)])
      const stream = await a.dialProtocol(b.getMultiaddrs()[0], ECHO)
      await echoed(stream, random(10))
      let count = 0
      const Original = globalThis.RangeError
      globalThis.RangeError = new Proxy(Original, {
        apply: (target, self, args) => { count++; return Reflect.apply(target, self, args) },
        construct: (target, args) => { count++; return Reflect.construct(target, args) }
      })
      try {
        for (let i = 0; i < MESSAGES; i++) await echoed(stream, random(32))
      } finally {
        globalThis.RangeError = Original
      }
      await stream.close()
      return count
    }
    expect(await rangeErrorsDuring('stock'), `stock noise: a RangeError per frame received (${MESSAGES} echoes: ${2 * MESSAGES} frames)`).toBeGreaterThanOrEqual(2 * MESSAGES)
    expect(await rangeErrorsDuring('natkit'), 'natkitNoise: none').toBe(0)
  })

  it('makes each private key object once (the static key once per node) and one public key object per remote key', async () => {
    const HANDSHAKES = 5
    const keyObjectsFor = async (kind: 'natkit' | 'stock'): Promise<{ privateKeys: number, publicKeys: number }> => {
      const [a, b] = await Promise.all([node(kind), node(kind)])
      const createPrivateKey = vi.spyOn(crypto, 'createPrivateKey')
      const createPublicKey = vi.spyOn(crypto, 'createPublicKey')
      for (let i = 0; i < HANDSHAKES; i++) {
        const stream = await a.dialProtocol(b.getMultiaddrs()[0], ECHO)
        expect(Buffer.from(await echoed(stream, Uint8Array.of(i))).equals(Uint8Array.of(i))).toBe(true)
        await a.hangUp(b.peerId)
      }
      const counts = { privateKeys: createPrivateKey.mock.calls.length, publicKeys: createPublicKey.mock.calls.length }
      vi.restoreAllMocks()
      return counts
    }
    const stock = await keyObjectsFor('stock')
    const ours = await keyObjectsFor('natkit')
    // both counts include @libp2p/crypto's Ed25519 payload signature and its check (a private and a public key
    // object per side and handshake); noise's share in stock is a new private and public key object for each
    // of the 3 DHs per side and handshake
    expect(stock.privateKeys - ours.privateKeys, 'private key objects saved: all of the 6 DHs\' per handshake but each node\'s static key, made once').toBe(6 * HANDSHAKES - 2)
    expect(stock.publicKeys - ours.publicKeys, 'public key objects saved: the remote ephemeral key serves 2 DHs per side').toBe(2 * HANDSHAKES)
  })

  it('its frame decoder yields what noise\'s yields, across any chunking, and keeps the buffer limit', () => {
    const frames = [random(3), new Uint8Array(0), random(65_535), random(1)]
    const wire = new Uint8ArrayList()
    for (const f of frames) wire.append(Uint8Array.of(f.byteLength >> 8, f.byteLength & 0xff), f)
    const bytes = wire.subarray()
    const make = (maxBufferSize = 1 << 20): { decoder: LengthPrefixedDecoder } => {
      const connection = { decoder: new LengthPrefixedDecoder({ lengthDecoder: (d) => { if (d.byteLength < 2) throw new RangeError('short'); return d.subarray(0, 2)[0] << 8 | d.subarray(0, 2)[1] }, maxBufferSize, encodingLength: () => 2 }) }
      replaceFrameDecoder(connection)
      return connection
    }
    for (const chunk of [1, 2, 3, 1000, bytes.byteLength]) {
      const { decoder } = make()
      const out: Uint8Array[] = []
      for (let i = 0; i < bytes.byteLength; i += chunk) for (const f of decoder.decode(bytes.subarray(i, i + chunk))) out.push(f.subarray())
      expect(out.map(f => Buffer.from(f).toString('hex')), `chunks of ${chunk} bytes: every non-empty frame, in order`).toEqual(frames.filter(f => f.byteLength > 0).map(f => Buffer.from(f).toString('hex')))
      expect((decoder as unknown as { buffer: Uint8ArrayList }).buffer.byteLength, 'nothing left over').toBe(0)
    }
    const { decoder } = make(100)
    expect(() => [...decoder.decode(Uint8Array.of(0, 200, ...random(99)))], 'a frame that would outgrow the buffer limit').toThrow(InvalidParametersError)
  })

  it('names what moved when noise\'s internals change', () => {
    expect(() => { replaceFrameDecoder({}) }).toThrow(Libp2pInternalsChangedError)
    expect(() => { reuseX25519KeyObjects({} as ConnectionEncrypter) }).toThrow(Libp2pInternalsChangedError)
  })
})
