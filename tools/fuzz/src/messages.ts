/**
 * Valid messages of every protocol natkit serves, as generators (the seed of
 * most fuzz inputs). Addresses are loopback or RFC 5737 documentation ones.
 */
import { encodeAutoNATMessage, encodeDialBack, encodeDialBackResponse, type AutoNATMessage } from '@natkit/autonat-check'
import { encodeAck, encodeDirectMessage } from '@natkit/direct-message'
import { encodeChunk, encodeCredit, encodeHeader, encodeRequest } from '@natkit/file-share'
import { encodeHolePunch } from '@natkit/holepunch'
import { multiaddr } from '@multiformats/multiaddr'
import { StunAttribute, StunClass, StunMethod, encodeErrorCode, encodeMappedAddress, encodeSoftware, encodeStunMessage, encodeUnknownAttributes, encodeXorMappedAddress, type StunAttributeRecord } from '@natkit/stun'
import { concat, lengthPrefixed, varint } from './generators.js'
import type { Rng } from './rng.js'

/** Addresses valid messages carry: loopback and documentation (RFC 5737 / RFC 3849) only, never dialled by the fuzz runs. */
export const SAMPLE_ADDRS = [
  '/ip4/127.0.0.1/tcp/4001',
  '/ip4/192.0.2.7/tcp/4001',
  '/ip4/198.51.100.2/udp/4001/quic-v1',
  '/ip4/203.0.113.9/tcp/443/ws',
  '/ip6/2001:db8::1/tcp/4001',
  '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit'
].map(a => multiaddr(a).bytes)

export const SAMPLE_IPS = ['127.0.0.1', '192.0.2.1', '203.0.113.254', '::1', '2001:db8::7']

function addrs (rng: Rng, max: number): Uint8Array[] {
  return Array.from({ length: rng.int(max + 1) }, () => rng.chance(0.1) ? rng.bytes(rng.int(40)) : rng.pick(SAMPLE_ADDRS))
}

/** A DCUtR `HolePunch` body (CONNECT or SYNC). */
export function holePunchBody (rng: Rng): Uint8Array {
  return rng.chance(0.7)
    ? encodeHolePunch({ type: 'CONNECT', obsAddrs: addrs(rng, 8) })
    : encodeHolePunch({ type: 'SYNC', obsAddrs: [] })
}

const u64 = (rng: Rng): bigint => (BigInt(rng.u32()) << 32n) | BigInt(rng.u32())

/** An AutoNAT v2 `Message` body, any variant. */
export function autonatMessage (rng: Rng): Uint8Array {
  const variants: Array<() => AutoNATMessage> = [
    () => ({ dialRequest: { addrs: addrs(rng, 6), nonce: u64(rng) } }),
    () => ({ dialResponse: { status: rng.pick([0, 100, 101, 200]), addrIdx: rng.int(4), dialStatus: rng.pick([0, 100, 101, 200]) } }),
    () => ({ dialDataRequest: { addrIdx: rng.int(4), numBytes: BigInt(rng.int(100_000)) } }),
    () => ({ dialDataResponse: { data: rng.bytes(rng.int(256)) } })
  ]
  return encodeAutoNATMessage(rng.pick(variants)())
}

/** An AutoNAT v2 `DialRequest` message body (what a client opens the dial-request stream with). */
export function autonatDialRequest (rng: Rng): Uint8Array {
  return encodeAutoNATMessage({ dialRequest: { addrs: addrs(rng, 4), nonce: u64(rng) } })
}

export const dialBack = (rng: Rng): Uint8Array => encodeDialBack({ nonce: u64(rng) })
export const dialBackResponse = (rng: Rng): Uint8Array => encodeDialBackResponse({ status: rng.pick([0, 0, 1, 200]) })

/** A STUN message; mostly Binding requests with attributes a client may send. */
export function stunMessage (rng: Rng): Uint8Array {
  const transactionId = rng.bytes(12)
  const pool: Array<() => StunAttributeRecord> = [
    () => ({ type: StunAttribute.Software, value: encodeSoftware('fuzz') }),
    () => ({ type: StunAttribute.Username, value: rng.bytes(rng.int(32)) }),
    () => ({ type: StunAttribute.Priority, value: rng.bytes(4) }),
    () => ({ type: StunAttribute.IceControlling, value: rng.bytes(8) }),
    () => ({ type: StunAttribute.MessageIntegrity, value: rng.bytes(20) }),
    () => ({ type: StunAttribute.XorMappedAddress, value: encodeXorMappedAddress({ address: rng.pick(SAMPLE_IPS), port: rng.int(65536) }, transactionId) }),
    () => ({ type: StunAttribute.ErrorCode, value: encodeErrorCode(rng.range(300, 699), 'x') }),
    // comprehension-required and unknown: the server answers 420
    () => ({ type: rng.int(0x8000), value: rng.bytes(rng.int(16)) })
  ]
  const attributes = Array.from({ length: rng.int(4) }, () => rng.pick(pool)())
  const cls = rng.chance(0.85) ? StunClass.Request : rng.pick([StunClass.Indication, StunClass.SuccessResponse, StunClass.ErrorResponse])
  return encodeStunMessage({ method: rng.chance(0.9) ? StunMethod.Binding : rng.int(0x1000), class: cls, transactionId, attributes, fingerprint: rng.chance(0.5) })
}

/** A STUN datagram longer than the server's 1500-byte limit, or one whose header length lies. */
export function stunOversized (rng: Rng): Uint8Array {
  if (rng.chance(0.5)) return concat(stunMessage(rng), rng.bytes(1500 + rng.int(1000)))
  const m = stunMessage(rng)
  m[2] = 0xff
  m[3] = rng.pick([0xfc, 0xff, 0x00])
  return m
}

/** Attribute values, for the attribute decoders. */
export const stunAddressValue = (rng: Rng): Uint8Array => encodeMappedAddress({ address: rng.pick(SAMPLE_IPS), port: rng.int(65536) })
export const stunErrorCodeValue = (rng: Rng): Uint8Array => encodeErrorCode(rng.range(300, 699), 'reason')
export const stunUnknownAttributesValue = (rng: Rng): Uint8Array => encodeUnknownAttributes(Array.from({ length: rng.int(6) }, () => rng.int(0x10000)))

// --- circuit relay v2 (libp2p's codec is not exported: the few fields are written here) ---

/** protobuf field tag */
const tag = (field: number, wire: number): Uint8Array => varint((field << 3) | wire)
const bytesField = (field: number, value: Uint8Array): Uint8Array => concat(tag(field, 2), varint(value.length), value)
const varintField = (field: number, value: number): Uint8Array => concat(tag(field, 0), varint(value))

/** HopMessage.Type / StopMessage.Type / Status values */
export const RELAY = { HOP_RESERVE: 0, HOP_CONNECT: 1, HOP_STATUS: 2, STOP_CONNECT: 0, STOP_STATUS: 1, OK: 100 } as const

/** `Peer { id = 1; repeated addrs = 2 }` */
const peerField = (field: number, id: Uint8Array, rng: Rng): Uint8Array => bytesField(field, concat(bytesField(1, id), ...addrs(rng, 2).map(a => bytesField(2, a))))

/** A HOP message body: RESERVE, or CONNECT to `target` (a peer id's bytes). */
export function hopMessage (rng: Rng, target: Uint8Array): Uint8Array {
  return rng.chance(0.5)
    ? varintField(1, RELAY.HOP_RESERVE)
    : concat(varintField(1, RELAY.HOP_CONNECT), peerField(2, target, rng))
}

/** A STOP message body: CONNECT from `source` (a peer id's bytes), with a limit sometimes. */
export function stopMessage (rng: Rng, source: Uint8Array): Uint8Array {
  const limit = rng.chance(0.5) ? bytesField(3, concat(varintField(1, rng.int(3600)), varintField(2, rng.int(1 << 20)))) : new Uint8Array(0)
  return concat(varintField(1, RELAY.STOP_CONNECT), peerField(2, source, rng), limit)
}

/** An identify message body (identify push): public key, listen addresses, protocols, observed address, versions. */
export function identifyMessage (rng: Rng, publicKey: Uint8Array): Uint8Array {
  const text = new TextEncoder()
  return concat(
    bytesField(1, publicKey),
    ...addrs(rng, 3).map(a => bytesField(2, a)),
    ...Array.from({ length: rng.int(4) }, () => bytesField(3, text.encode(rng.pick(['/ipfs/ping/1.0.0', '/ipfs/id/1.0.0', '/libp2p/dcutr', '/x/' + rng.int(1000)])))),
    bytesField(4, rng.pick(SAMPLE_ADDRS)),
    bytesField(5, text.encode('ipfs/0.1.0')),
    bytesField(6, text.encode('fuzz/' + rng.int(100)))
  )
}

/** Kademlia `Message.MessageType` values. */
export const KAD = { PUT_VALUE: 0, GET_VALUE: 1, ADD_PROVIDER: 2, GET_PROVIDERS: 3, FIND_NODE: 4, PING: 5 } as const

/**
 * A Kademlia DHT request body: FIND_NODE, GET_PROVIDERS, GET_VALUE, PING,
 * ADD_PROVIDER (with a provider peer) or PUT_VALUE (with a record).
 */
export function kadMessage (rng: Rng, peerId: Uint8Array, type: number = rng.pick(Object.values(KAD))): Uint8Array {
  const key = type === KAD.FIND_NODE || rng.chance(0.5) ? peerId : rng.bytes(rng.int(48))
  const extra = type === KAD.ADD_PROVIDER
    ? peerField(9, peerId, rng)
    : type === KAD.PUT_VALUE
      ? bytesField(3, concat(bytesField(1, key), bytesField(2, rng.bytes(rng.int(64))), bytesField(5, new TextEncoder().encode(new Date(0).toISOString()))))
      : new Uint8Array(0)
  return concat(varintField(1, type), bytesField(2, key), extra, rng.chance(0.3) ? varintField(10, rng.int(10)) : new Uint8Array(0))
}

export { lengthPrefixed }

// --- the peer app's direct messages and file sharing (issue 12) ---

/** The name the fuzz node shares its file under (file requests name it, so the transfer path is reached). */
export const SHARED_FILE_NAME = 'fuzz-shared.txt'
/** A CIDv1 (raw, sha2-256) string no node shares. */
const UNKNOWN_CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const SAMPLE_TEXTS = ['hello', 'héllo wörld ✓', '', '\u0000\u001b[2J', 'x'.repeat(300)]

/** Some UTF-8 text of at most `max` bytes. */
function text (rng: Rng, max: number): string {
  if (rng.chance(0.5)) return rng.pick(SAMPLE_TEXTS)
  return Array.from(rng.bytes(rng.int(max + 1)), b => String.fromCharCode(0x20 + (b % 0x5f))).join('')
}

/** A `DirectMessage` body. */
export function directMessageBody (rng: Rng): Uint8Array {
  return encodeDirectMessage(text(rng, 512))
}

/** A `DirectMessageAck` body. */
export function directMessageAck (rng: Rng): Uint8Array {
  // (an ack's error text is bounded: the sample texts include a longer one)
  return encodeAck(rng.chance(0.5) ? { status: 'OK' } : { status: rng.pick(['TOO_LARGE', 'MALFORMED'] as const), error: text(rng, 64).slice(0, 64) })
}

/** A `FileRequest` body: the shared file's name, an unknown name, or a CID (usually unknown). */
export function fileRequest (rng: Rng, sharedCid?: string): Uint8Array {
  const pick = rng.int(4)
  if (pick === 0) return encodeRequest({ name: SHARED_FILE_NAME })
  if (pick === 1 && sharedCid != null) return encodeRequest({ cid: sharedCid })
  if (pick === 2) return encodeRequest({ cid: rng.chance(0.5) ? UNKNOWN_CID : text(rng, 60) })
  return encodeRequest({ name: text(rng, 60) })
}

/** A `FileHeader` body, any status. */
export function fileHeader (rng: Rng): Uint8Array {
  return rng.chance(0.6)
    ? encodeHeader({ status: 'OK', cid: UNKNOWN_CID, name: text(rng, 40), bytes: rng.int(1 << 30), chunkSize: 1 + rng.int(1 << 20) })
    : encodeHeader({ status: rng.pick(['NOT_FOUND', 'ERROR'] as const), error: text(rng, 64) })
}

/** A `FileCredit` body (the first one of a transfer has an offset). */
export function fileCredit (rng: Rng): Uint8Array {
  return encodeCredit(rng.chance(0.5) ? { offset: rng.int(64), chunks: 1 + rng.int(12) } : { chunks: rng.int(13) })
}

/** A `FileChunk` body (small data: the chunk decoder bounds it, not the generator). */
export function fileChunk (rng: Rng): Uint8Array {
  return encodeChunk({ offset: rng.int(1 << 20), data: rng.bytes(1 + rng.int(256)), sha256: rng.bytes(32) })
}

/** What a file client writes: a request, then usually a first credit and sometimes more. */
export function fileClientFrames (rng: Rng, sharedCid?: string): Uint8Array {
  const frames = [lengthPrefixed(fileRequest(rng, sharedCid))]
  if (rng.chance(0.8)) frames.push(lengthPrefixed(encodeCredit({ offset: rng.chance(0.8) ? 0 : rng.int(64), chunks: 1 + rng.int(4) })))
  if (rng.chance(0.3)) frames.push(lengthPrefixed(encodeCredit({ chunks: 1 + rng.int(4) })))
  return concat(...frames)
}
