import { ProtocolError, TimeoutError } from '@libp2p/interface'

/** Base class of every malformed, truncated or oversized direct message frame. */
export class DirectMessageProtocolError extends ProtocolError {
  static override name = 'DirectMessageProtocolError'
  override name = 'DirectMessageProtocolError'

  constructor (message?: string, options?: ErrorOptions) {
    super(message)
    if (options != null && 'cause' in options) this.cause = options.cause
  }
}

/** A text or frame (or its declared length) is larger than allowed. */
export class DirectMessageTooLargeError extends DirectMessageProtocolError {
  static override name = 'DirectMessageTooLargeError'
  override name = 'DirectMessageTooLargeError'
}

/** A frame ended early (in its length prefix, a field or the stream closed). */
export class DirectMessageTruncatedError extends DirectMessageProtocolError {
  static override name = 'DirectMessageTruncatedError'
  override name = 'DirectMessageTruncatedError'
}

/** A frame is not valid protobuf for its message, or misses a required field. */
export class DirectMessageMalformedError extends DirectMessageProtocolError {
  static override name = 'DirectMessageMalformedError'
  override name = 'DirectMessageMalformedError'
}

/** The receiver answered with an ack other than OK. */
export class DirectMessageRejectedError extends Error {
  static override name = 'DirectMessageRejectedError'
  override name = 'DirectMessageRejectedError'
}

/** `send` did not complete within its timeout. */
export class DirectMessageTimeoutError extends TimeoutError {
  static override name = 'DirectMessageTimeoutError'
  override name = 'DirectMessageTimeoutError'
}
