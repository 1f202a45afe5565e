import { AbortError, ProtocolError, TimeoutError } from '@libp2p/interface'

/**
 * Base class of every DCUtR wire/protocol violation (bad message, wrong type,
 * too large, truncated). `diagnose()` maps these to `protocol-error`. A
 * `ProtocolError` of `@libp2p/interface`; `cause` is kept when given.
 */
export class HolePunchProtocolError extends ProtocolError {
  static override name = 'HolePunchProtocolError'
  override name = 'HolePunchProtocolError'

  constructor (message?: string, options?: ErrorOptions) {
    super(message)
    if (options != null && 'cause' in options) this.cause = options.cause
  }
}

/** A message (or its declared length) is larger than `MAX_MESSAGE_SIZE`. */
export class MessageTooLargeError extends HolePunchProtocolError {
  static override name = 'MessageTooLargeError'
  override name = 'MessageTooLargeError'
}

/** The input ended in the middle of a varint, field or message. */
export class TruncatedMessageError extends HolePunchProtocolError {
  static override name = 'TruncatedMessageError'
  override name = 'TruncatedMessageError'
}

/** The `type` field holds a value other than CONNECT (100) or SYNC (300). */
export class UnknownMessageTypeError extends HolePunchProtocolError {
  static override name = 'UnknownMessageTypeError'
  override name = 'UnknownMessageTypeError'
}

/** A valid message arrived out of order (e.g. SYNC when CONNECT was expected). */
export class UnexpectedMessageTypeError extends HolePunchProtocolError {
  static override name = 'UnexpectedMessageTypeError'
  override name = 'UnexpectedMessageTypeError'
}

/** The message is not valid protobuf for `HolePunch` (bad wire type, missing `type`). */
export class MalformedMessageError extends HolePunchProtocolError {
  static override name = 'MalformedMessageError'
  override name = 'MalformedMessageError'
}

/** We have no usable candidate address to offer in CONNECT. */
export class NoPublicAddressesError extends Error {
  static override name = 'NoPublicAddressesError'
  override name = 'NoPublicAddressesError'
}

/** The remote peer's CONNECT carried no address we can dial. */
export class RemoteNoPublicAddressesError extends Error {
  static override name = 'RemoteNoPublicAddressesError'
  override name = 'RemoteNoPublicAddressesError'
}

/** The node's connection gater refused every remote candidate address. */
export class DialDeniedError extends Error {
  static override name = 'DialDeniedError'
  override name = 'DialDeniedError'
}

/** One attempt ran out of its time budget (a `TimeoutError` of `@libp2p/interface`). */
export class HolePunchTimeoutError extends TimeoutError {
  static override name = 'HolePunchTimeoutError'
  override name = 'HolePunchTimeoutError'
}

/**
 * The punch was cancelled (service stopped, relayed connection closed). An
 * `AbortError` of `@libp2p/interface`; its own class because `diagnose()`
 * reports only these, not every abort inside libp2p, as `aborted`.
 */
export class HolePunchAbortedError extends AbortError {
  static override name = 'HolePunchAbortedError'
  override name = 'HolePunchAbortedError'
}

/** The peer's punch dial budget (`maxPeerPunchDials` per window) is used up. */
export class PunchBudgetExhaustedError extends Error {
  static override name = 'PunchBudgetExhaustedError'
  override name = 'PunchBudgetExhaustedError'
}

/** A punch could not start: the punch table (or this peer's slot) is full. */
export class HolePunchBusyError extends Error {
  static override name = 'HolePunchBusyError'
  override name = 'HolePunchBusyError'
}

/**
 * A DCUtR stream arrived on a connection we may not punch on: not a relayed
 * connection that we dialed (the spec's A side). The stream is reset.
 */
export class HolePunchRefusedError extends Error {
  static override name = 'HolePunchRefusedError'
  override name = 'HolePunchRefusedError'
}
