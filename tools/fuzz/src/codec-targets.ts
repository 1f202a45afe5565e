/**
 * The decoders natkit runs on bytes from the network, as codec fuzz targets.
 * To add one: a name, its decode, the typed errors it may throw, a generator
 * of valid inputs and its size limit.
 */
import { AutoNATCodecError, decodeAutoNATMessage, decodeDialBack, decodeDialBackResponse, MAX_MESSAGE_SIZE as AUTONAT_MAX_MESSAGE_SIZE } from '@natkit/autonat-check'
import { decodeAck, decodeDirectMessage, decodeFrame as decodeDmFrame, DirectMessageProtocolError, encodeFrame as encodeDmFrame, FRAME_OVERHEAD as DM_FRAME_OVERHEAD, maxFrameBytes } from '@natkit/direct-message'
import { decodeChunk, decodeCredit, decodeFrame as decodeFileFrame, decodeHeader, decodeRequest, encodeFrame as encodeFileFrame, FileProtocolError, MAX_CONTROL_FRAME_SIZE, maxChunkFrameBytes } from '@natkit/file-share'
import { decodeFrame, decodeHolePunch, encodeFrame, HolePunchProtocolError, MAX_MESSAGE_SIZE as DCUTR_MAX_MESSAGE_SIZE } from '@natkit/holepunch'
import { MAX_STUN_MESSAGE_SIZE, StunDecodeError, decodeErrorCode, decodeMappedAddress, decodeStunMessage, decodeUnknownAttributes, decodeXorMappedAddress } from '@natkit/stun'
import { autonatMessage, dialBack, dialBackResponse, directMessageAck, directMessageBody, fileChunk, fileCredit, fileHeader, fileRequest, holePunchBody, stunAddressValue, stunErrorCodeValue, stunMessage, stunOversized, stunUnknownAttributesValue } from './messages.js'
import type { CodecTarget } from './codec.js'

const isHolePunchError = (err: unknown): boolean => err instanceof HolePunchProtocolError
const isAutoNATError = (err: unknown): boolean => err instanceof AutoNATCodecError
const isStunError = (err: unknown): boolean => err instanceof StunDecodeError
const isDmError = (err: unknown): boolean => err instanceof DirectMessageProtocolError
const isFileError = (err: unknown): boolean => err instanceof FileProtocolError
/** `decodeAck` refuses acks over this (its error text is bounded to 256 bytes). */
const DM_MAX_ACK_SIZE = DM_FRAME_OVERHEAD + 256
/** A fixed transaction id for the XOR-MAPPED-ADDRESS decoder. */
const TRANSACTION_ID = new Uint8Array(12).fill(7)

export const CODEC_TARGETS: readonly CodecTarget[] = [
  // DCUtR (packages/holepunch): what the responder and the initiator read
  {
    name: 'dcutr/frame',
    decode: (b) => decodeFrame(b),
    expected: isHolePunchError,
    valid: (rng) => encodeFrame(decodeHolePunch(holePunchBody(rng))),
    maxSize: DCUTR_MAX_MESSAGE_SIZE
  },
  { name: 'dcutr/body', decode: (b) => decodeHolePunch(b), expected: isHolePunchError, valid: holePunchBody, maxSize: DCUTR_MAX_MESSAGE_SIZE },
  // AutoNAT v2 (packages/autonat-check): the checker reads DialResponse, DialDataRequest and DialBack
  { name: 'autonat/message', decode: (b) => decodeAutoNATMessage(b), expected: isAutoNATError, valid: autonatMessage, maxSize: AUTONAT_MAX_MESSAGE_SIZE },
  { name: 'autonat/dial-back', decode: (b) => decodeDialBack(b), expected: isAutoNATError, valid: dialBack, maxSize: AUTONAT_MAX_MESSAGE_SIZE },
  { name: 'autonat/dial-back-response', decode: (b) => decodeDialBackResponse(b), expected: isAutoNATError, valid: dialBackResponse, maxSize: AUTONAT_MAX_MESSAGE_SIZE },
  // STUN (packages/stun): the server parses every datagram, the client the responses
  { name: 'stun/message', decode: (b) => decodeStunMessage(b), expected: isStunError, valid: stunMessage, maxSize: MAX_STUN_MESSAGE_SIZE, oversized: stunOversized },
  { name: 'stun/xor-mapped-address', decode: (b) => decodeXorMappedAddress(b, TRANSACTION_ID), expected: isStunError, valid: stunAddressValue, maxSize: 20, maxGarbage: 64 },
  { name: 'stun/mapped-address', decode: (b) => decodeMappedAddress(b), expected: isStunError, valid: stunAddressValue, maxSize: 20, maxGarbage: 64 },
  { name: 'stun/error-code', decode: (b) => decodeErrorCode(b), expected: isStunError, valid: stunErrorCodeValue, maxSize: 763, maxGarbage: 256 },
  { name: 'stun/unknown-attributes', decode: (b) => decodeUnknownAttributes(b), expected: isStunError, valid: stunUnknownAttributesValue, maxSize: 64, maxGarbage: 128 },
  // PEER APP PROTOCOLS (issue 12): direct messages (packages/direct-message) and file sharing (packages/file-share)
  { name: 'dm/frame', decode: (b) => decodeDmFrame(b), expected: isDmError, valid: (rng) => encodeDmFrame(directMessageBody(rng)), maxSize: maxFrameBytes() },
  { name: 'dm/message', decode: (b) => decodeDirectMessage(b), expected: isDmError, valid: directMessageBody, maxSize: maxFrameBytes() },
  { name: 'dm/ack', decode: (b) => decodeAck(b), expected: isDmError, valid: directMessageAck, maxSize: DM_MAX_ACK_SIZE },
  { name: 'file/frame', decode: (b) => decodeFileFrame(b, MAX_CONTROL_FRAME_SIZE), expected: isFileError, valid: (rng) => encodeFileFrame(fileRequest(rng)), maxSize: MAX_CONTROL_FRAME_SIZE },
  { name: 'file/request', decode: (b) => decodeRequest(b), expected: isFileError, valid: (rng) => fileRequest(rng), maxSize: MAX_CONTROL_FRAME_SIZE },
  { name: 'file/header', decode: (b) => decodeHeader(b), expected: isFileError, valid: fileHeader, maxSize: MAX_CONTROL_FRAME_SIZE },
  { name: 'file/credit', decode: (b) => decodeCredit(b), expected: isFileError, valid: fileCredit, maxSize: MAX_CONTROL_FRAME_SIZE },
  { name: 'file/chunk', decode: (b) => decodeChunk(b), expected: isFileError, valid: fileChunk, maxSize: maxChunkFrameBytes() }
]
