import { InvalidMessageError } from '@libp2p/interface'

/** Why a datagram could not be decoded as a STUN message. */
export type StunDecodeErrorReason =
  | 'too-short'
  | 'too-long'
  | 'not-stun'
  | 'bad-cookie'
  | 'bad-length'
  | 'truncated-attribute'
  | 'attribute-after-fingerprint'
  | 'bad-fingerprint'
  | 'bad-attribute'

/** A datagram or attribute value is not a valid STUN message/attribute (an `InvalidMessageError` of `@libp2p/interface`). */
export class StunDecodeError extends InvalidMessageError {
  static override name = 'StunDecodeError'
  override name = 'StunDecodeError'
  readonly reason: StunDecodeErrorReason

  constructor (reason: StunDecodeErrorReason, message: string) {
    super(message)
    this.reason = reason
  }
}

/** A message or attribute cannot be encoded (value too long, bad address...). */
export class StunEncodeError extends Error {
  static override name = 'StunEncodeError'
  override name = 'StunEncodeError'
}

/** A string is not an IPv4 or IPv6 address literal. */
export class InvalidIpAddressError extends Error {
  static override name = 'InvalidIpAddressError'
  override name = 'InvalidIpAddressError'
}

/** `listen()` was called on a server that is already listening. */
export class StunServerAlreadyListeningError extends Error {
  static override name = 'StunServerAlreadyListeningError'
  override name = 'StunServerAlreadyListeningError'
}

/** The server answered with a Binding Error Response. */
export class StunErrorResponseError extends Error {
  static override name = 'StunErrorResponseError'
  override name = 'StunErrorResponseError'
  readonly code: number
  readonly reason: string
  /** UNKNOWN-ATTRIBUTES listed by the server (for 420 responses). */
  readonly unknownAttributes: number[]

  constructor (code: number, reason: string, unknownAttributes: number[] = []) {
    super(`STUN server answered ${code} ${reason}`)
    this.code = code
    this.reason = reason
    this.unknownAttributes = unknownAttributes
  }
}

/** A success response carried neither XOR-MAPPED-ADDRESS nor MAPPED-ADDRESS. */
export class InvalidStunResponseError extends Error {
  static override name = 'InvalidStunResponseError'
  override name = 'InvalidStunResponseError'
}
