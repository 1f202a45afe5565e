/**
 * Every protocol handler the relay and peer roles serve, as stream fuzz
 * targets. To add one: the role, the protocol id, a generator of valid
 * (length-prefixed) input and the handler's size limit; a `sanitize` when a
 * complete request would make the node dial the addresses inside it; `via:
 * 'relayed'` when the handler answers only on a relayed connection the node
 * dialed (DCUtR).
 */
import { decodeAutoNATMessage, MAX_MESSAGE_SIZE as AUTONAT_MAX_MESSAGE_SIZE } from '@natkit/autonat-check'
import { decodeFrame, HOLEPUNCH_PROTOCOL, MAX_MESSAGE_SIZE as DCUTR_MAX_MESSAGE_SIZE } from '@natkit/holepunch'
import { DIRECT_MESSAGE_PROTOCOL, maxFrameBytes } from '@natkit/direct-message'
import { FILE_PROTOCOL, MAX_CONTROL_FRAME_SIZE } from '@natkit/file-share'
import { PING_PROTOCOL, RELAY_V2_STOP_PROTOCOL } from '@natkit/node'
import { reader as createReader } from 'protons-runtime'
import { NATKIT_DHT_PROTOCOL } from '@natkit/config'
import { autonatDialRequest, directMessageBody, fileClientFrames, holePunchBody, hopMessage, identifyMessage, kadMessage, lengthPrefixed, stopMessage } from './messages.js'
import type { StreamTarget } from './stream.js'

export const RELAY_V2_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
export const IDENTIFY_PROTOCOL = '/ipfs/id/1.0.0'
export const IDENTIFY_PUSH_PROTOCOL = '/ipfs/id/push/1.0.0'
export const AUTONAT_DIAL_REQUEST_PROTOCOL = '/libp2p/autonat/2/dial-request'
/** libp2p's circuit relay and identify readers refuse larger messages (identify: 8 KiB; relay: its stream default). */
const LIBP2P_MESSAGE_SIZE = 8192

/**
 * The first length-prefixed frame of `input`, with everything after it cut
 * when that rest starts with another frame `decodes` accepts: the handler
 * then never gets a complete request plus its follow-up (DCUtR CONNECT +
 * SYNC, AutoNAT DialRequest + dial data), so it never dials the addresses
 * inside a mutated message. Garbage after the first frame is kept (the
 * handler reads frames in order, so only the one right after matters).
 */
export function oneRequestOnly (decodes: (frames: Uint8Array) => boolean): (input: Uint8Array) => Uint8Array {
  return (input) => {
    const r = createReader(input)
    let end: number
    try {
      const length = r.uint32()
      end = r.pos + length
    } catch {
      return input
    }
    if (end >= input.byteLength) return input
    // the handler reads the next frame right where the first ends: cut if it would accept it
    return decodes(input.subarray(end)) ? input.subarray(0, end) : input
  }
}

const decodesDcutr = (b: Uint8Array): boolean => { try { decodeFrame(b); return true } catch { return false } }
const decodesAutonat = (b: Uint8Array): boolean => {
  try {
    const r = createReader(b)
    const length = r.uint32()
    if (r.pos + length > b.byteLength) return false
    decodeAutoNATMessage(b.subarray(r.pos, r.pos + length))
    return true
  } catch {
    return false
  }
}

export const STREAM_TARGETS: readonly StreamTarget[] = [
  // relay: circuit relay v2 HOP (reservations and circuits, behind natkit's caps and gater)
  // (a CONNECT the relay cannot complete keeps the stream until its hop timeout: a shorter one here, a few at once)
  { role: 'relay', protocol: RELAY_V2_HOP_PROTOCOL, valid: (rng, ctx) => lengthPrefixed(hopMessage(rng, rng.chance(0.5) ? ctx.attackerId : ctx.targetId)), maxSize: LIBP2P_MESSAGE_SIZE, timeout: 1_000, concurrency: 3 },
  // relay, peer and the autonat role: AutoNAT v2 server (behind natkit's autonatGuard)
  { role: 'relay', protocol: AUTONAT_DIAL_REQUEST_PROTOCOL, valid: (rng) => lengthPrefixed(autonatDialRequest(rng)), maxSize: AUTONAT_MAX_MESSAGE_SIZE, sanitize: oneRequestOnly(decodesAutonat) },
  { role: 'peer', protocol: AUTONAT_DIAL_REQUEST_PROTOCOL, valid: (rng) => lengthPrefixed(autonatDialRequest(rng)), maxSize: AUTONAT_MAX_MESSAGE_SIZE, sanitize: oneRequestOnly(decodesAutonat) },
  { role: 'autonat', protocol: AUTONAT_DIAL_REQUEST_PROTOCOL, valid: (rng) => lengthPrefixed(autonatDialRequest(rng)), maxSize: AUTONAT_MAX_MESSAGE_SIZE, sanitize: oneRequestOnly(decodesAutonat) },
  // peer: natkit's DCUtR responder (A), on a relayed connection the peer dialed to the fuzzer: the only place it answers
  { role: 'peer', protocol: HOLEPUNCH_PROTOCOL, via: 'relayed', valid: (rng) => lengthPrefixed(holePunchBody(rng)), maxSize: DCUTR_MAX_MESSAGE_SIZE, sanitize: oneRequestOnly(decodesDcutr) },
  // and on a direct connection, where every stream must be reset unread (holepunch:refused)
  { role: 'peer', protocol: HOLEPUNCH_PROTOCOL, valid: (rng) => lengthPrefixed(holePunchBody(rng)), maxSize: DCUTR_MAX_MESSAGE_SIZE, sanitize: oneRequestOnly(decodesDcutr) },
  // peer: circuit relay v2 STOP (behind natkit's stopGuard)
  // (the guard resets a refused STOP stream, often before the opener's newStream resolves: sendOnStream checks the status first)
  { role: 'peer', protocol: RELAY_V2_STOP_PROTOCOL, valid: (rng, ctx) => lengthPrefixed(stopMessage(rng, ctx.attackerId)), maxSize: LIBP2P_MESSAGE_SIZE, timeout: 100, concurrency: 3 },
  // bootstrap: the Kademlia DHT server
  { role: 'bootstrap', protocol: NATKIT_DHT_PROTOCOL, valid: (rng, ctx) => lengthPrefixed(kadMessage(rng, rng.chance(0.5) ? ctx.attackerId : ctx.targetId)), maxSize: LIBP2P_MESSAGE_SIZE },
  // every role: identify, identify push, ping
  ...(['relay', 'peer', 'bootstrap', 'autonat'] as const).flatMap((role): StreamTarget[] => [
    { role, protocol: IDENTIFY_PUSH_PROTOCOL, valid: (rng, ctx) => lengthPrefixed(identifyMessage(rng, ctx.attackerPublicKey)), maxSize: LIBP2P_MESSAGE_SIZE },
    { role, protocol: IDENTIFY_PROTOCOL, valid: (rng, ctx) => lengthPrefixed(identifyMessage(rng, ctx.attackerPublicKey)), maxSize: LIBP2P_MESSAGE_SIZE },
    { role, protocol: PING_PROTOCOL, valid: (rng) => rng.bytes(32 * (1 + rng.int(3))), maxSize: 32 }
  ]),
  // PEER APP PROTOCOLS (issue 12): direct messages and file sharing, on a node of their own
  // until the peer app registers them (see startPeerServices); file requests often name the
  // file that node shares, so chunks are sent and the client's credit frames are read
  { role: 'peer-services', protocol: DIRECT_MESSAGE_PROTOCOL, valid: (rng) => lengthPrefixed(directMessageBody(rng)), maxSize: maxFrameBytes() },
  { role: 'peer-services', protocol: FILE_PROTOCOL, valid: (rng) => fileClientFrames(rng), maxSize: MAX_CONTROL_FRAME_SIZE }
]
