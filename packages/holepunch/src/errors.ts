/**
 * Base class of every DCUtR wire/protocol violation (bad message, wrong type,
 * too large, truncated). `diagnose()` maps these to `protocol-error`.
 */
export class HolePunchProtocolError extends Error {
  override name = 'HolePunchProtocolError'
}

/** A message (or its declared length) is larger than `MAX_MESSAGE_SIZE`. */
export class MessageTooLargeError extends HolePunchProtocolError {
  override name = 'MessageTooLargeError'
}

/** The input ended in the middle of a varint, field or message. */
export class TruncatedMessageError extends HolePunchProtocolError {
  override name = 'TruncatedMessageError'
}

/** The `type` field holds a value other than CONNECT (100) or SYNC (300). */
export class UnknownMessageTypeError extends HolePunchProtocolError {
  override name = 'UnknownMessageTypeError'
}

/** A valid message arrived out of order (e.g. SYNC when CONNECT was expected). */
export class UnexpectedMessageTypeError extends HolePunchProtocolError {
  override name = 'UnexpectedMessageTypeError'
}

/** The message is not valid protobuf for `HolePunch` (bad wire type, missing `type`). */
export class MalformedMessageError extends HolePunchProtocolError {
  override name = 'MalformedMessageError'
}

/** We have no usable candidate address to offer in CONNECT. */
export class NoPublicAddressesError extends Error {
  override name = 'NoPublicAddressesError'
}

/** The remote peer's CONNECT carried no address we can dial. */
export class RemoteNoPublicAddressesError extends Error {
  override name = 'RemoteNoPublicAddressesError'
}

/** The node's connection gater refused every remote candidate address. */
export class DialDeniedError extends Error {
  override name = 'DialDeniedError'
}

/** One attempt ran out of its time budget. */
export class HolePunchTimeoutError extends Error {
  override name = 'HolePunchTimeoutError'
}

/** The punch was cancelled (service stopped, relayed connection closed). */
export class HolePunchAbortedError extends Error {
  override name = 'HolePunchAbortedError'
}
