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

/** A datagram or attribute value is not a valid STUN message/attribute. */
export class StunDecodeError extends Error {
  override name = 'StunDecodeError'
  readonly reason: StunDecodeErrorReason

  constructor (reason: StunDecodeErrorReason, message: string) {
    super(message)
    this.reason = reason
  }
}

/** A message or attribute cannot be encoded (value too long, bad address...). */
export class StunEncodeError extends Error {
  override name = 'StunEncodeError'
}

/** A string is not an IPv4 or IPv6 address literal. */
export class InvalidIpAddressError extends Error {
  override name = 'InvalidIpAddressError'
}

/** Options passed to the server or client are out of range. */
export class InvalidStunOptionsError extends Error {
  override name = 'InvalidStunOptionsError'
}

/** `listen()` was called on a server that is already listening. */
export class StunServerAlreadyListeningError extends Error {
  override name = 'StunServerAlreadyListeningError'
}

/** No matching response arrived before the client's timeout. */
export class StunTimeoutError extends Error {
  override name = 'StunTimeoutError'
}

/** The client's request was aborted through its `signal`. */
export class StunAbortedError extends Error {
  override name = 'StunAbortedError'
}

/** The server answered with a Binding Error Response. */
export class StunErrorResponseError extends Error {
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
  override name = 'InvalidStunResponseError'
}
