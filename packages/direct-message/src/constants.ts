/** Protocol id of natkit direct messages. */
export const DIRECT_MESSAGE_PROTOCOL = '/natkit/dm/1.0.0'

/**
 * Largest message text in bytes (UTF-8). A longer text is refused by `send`
 * before anything is sent, and by the receiver (ack `TOO_LARGE`).
 *
 * @default 4096
 */
export const DEFAULT_MAX_TEXT_BYTES = 4 * 1024

/**
 * Bytes a frame may hold beyond the text (protobuf field tags and lengths).
 * The largest accepted frame is `maxTextBytes + FRAME_OVERHEAD`.
 */
export const FRAME_OVERHEAD = 16

/**
 * Time budget (ms) of one `send`: open the stream, write the message, read
 * the ack. Also bounds how long a receiver waits for the message on a stream.
 *
 * @default 10000
 */
export const DEFAULT_TIMEOUT = 10_000

/**
 * Concurrent inbound direct message streams per connection.
 *
 * @default 4
 */
export const DEFAULT_MAX_INBOUND_STREAMS = 4

/**
 * Concurrent outbound direct message streams per connection.
 *
 * @default 4
 */
export const DEFAULT_MAX_OUTBOUND_STREAMS = 4
