import { InvalidMessageError } from '@libp2p/interface'

/**
 * Base class of every wire-format problem found by the codec. An
 * `InvalidMessageError` of `@libp2p/interface`; `cause` is kept when given.
 */
export class AutoNATCodecError extends InvalidMessageError {
  static override name = 'AutoNATCodecError'
  override name = 'AutoNATCodecError'

  constructor (message?: string, options?: ErrorOptions) {
    super(message)
    if (options != null && 'cause' in options) this.cause = options.cause
  }
}

/** A message is larger than `MAX_MESSAGE_SIZE` (or the configured limit). */
export class MessageTooLargeError extends AutoNATCodecError {
  static override name = 'MessageTooLargeError'
  override name = 'MessageTooLargeError'
}

/** Bytes are not a valid protobuf encoding of the expected message. */
export class MalformedMessageError extends AutoNATCodecError {
  static override name = 'MalformedMessageError'
  override name = 'MalformedMessageError'
}

/** We could not connect to the AutoNAT server at all. */
export class ServerDialError extends Error {
  static override name = 'ServerDialError'
  override name = 'ServerDialError'
}

/** The server does not speak `/libp2p/autonat/2/dial-request`. */
export class ServerProtocolUnsupportedError extends Error {
  static override name = 'ServerProtocolUnsupportedError'
  override name = 'ServerProtocolUnsupportedError'
}

/**
 * `/libp2p/autonat/2/dial-back` is already handled on this node by something
 * else (typically the stock `autoNATv2()` service), so we cannot receive the
 * server's nonce.
 */
export class DialBackHandlerInUseError extends Error {
  static override name = 'DialBackHandlerInUseError'
  override name = 'DialBackHandlerInUseError'
}

/** Too many checks are waiting for a dial-back on this node at once. */
export class TooManyPendingChecksError extends Error {
  static override name = 'TooManyPendingChecksError'
  override name = 'TooManyPendingChecksError'
}
