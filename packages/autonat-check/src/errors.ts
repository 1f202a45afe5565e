/** Base class of every wire-format problem found by the codec. */
export class AutoNATCodecError extends Error {
  override name = 'AutoNATCodecError'
}

/** A message is larger than `MAX_MESSAGE_SIZE` (or the configured limit). */
export class MessageTooLargeError extends AutoNATCodecError {
  override name = 'MessageTooLargeError'
}

/** Bytes are not a valid protobuf encoding of the expected message. */
export class MalformedMessageError extends AutoNATCodecError {
  override name = 'MalformedMessageError'
}

/** Invalid arguments passed to `checkReachability` (no/too many addresses, bad option). */
export class InvalidCheckParametersError extends Error {
  override name = 'InvalidCheckParametersError'
}

/** We could not connect to the AutoNAT server at all. */
export class ServerDialError extends Error {
  override name = 'ServerDialError'
}

/** The server does not speak `/libp2p/autonat/2/dial-request`. */
export class ServerProtocolUnsupportedError extends Error {
  override name = 'ServerProtocolUnsupportedError'
}

/**
 * `/libp2p/autonat/2/dial-back` is already handled on this node by something
 * else (typically the stock `autoNATv2()` service), so we cannot receive the
 * server's nonce.
 */
export class DialBackHandlerInUseError extends Error {
  override name = 'DialBackHandlerInUseError'
}

/** Too many checks are waiting for a dial-back on this node at once. */
export class TooManyPendingChecksError extends Error {
  override name = 'TooManyPendingChecksError'
}
