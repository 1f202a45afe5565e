/**
 * Wire constants from RFC 8489 (STUN, which obsoletes RFC 5389) and the
 * defaults used by natkit's STUN server and client.
 */

/** Fixed value in every RFC 5389/8489 message header (bytes 4-7). */
export const STUN_MAGIC_COOKIE = 0x2112A442

/** Length of the STUN message header in bytes. */
export const STUN_HEADER_LENGTH = 20

/** Length of the transaction id in bytes (96 bits). */
export const STUN_TRANSACTION_ID_LENGTH = 12

/** Length of an attribute header (type + length) in bytes. */
export const STUN_ATTRIBUTE_HEADER_LENGTH = 4

/** The CRC-32 in a FINGERPRINT attribute is XOR-ed with this value ("STUN"). */
export const STUN_FINGERPRINT_XOR = 0x5354554e

/**
 * Largest datagram the server will parse, in bytes. Larger datagrams are
 * dropped (counted as malformed) without being decoded.
 *
 * 1500 is the Ethernet MTU, so it is an upper bound for any unfragmented STUN
 * datagram on the lab's links. Binding requests are far smaller (a bare one is
 * 20 bytes; ICE-style ones with USERNAME, PRIORITY, MESSAGE-INTEGRITY and
 * FINGERPRINT are about 100), and RFC 8489 §6.1 tells senders to keep messages
 * under the path MTU (576 bytes for IPv4 when unknown), so nothing legitimate
 * is lost while memory and CPU per datagram stay bounded.
 */
export const MAX_STUN_MESSAGE_SIZE = 1500

/** The IANA-registered STUN port ("stun" over UDP). */
export const DEFAULT_STUN_PORT = 3478

/** Address the server binds when `listen()` is not given one. */
export const DEFAULT_STUN_HOST = '0.0.0.0'

/** Value of the SOFTWARE attribute the server adds to its responses. */
export const DEFAULT_SOFTWARE = 'natkit'

/** RFC 8489 §14.14: SOFTWARE MUST be fewer than 128 characters. */
export const MAX_SOFTWARE_LENGTH = 127

/** Default overall timeout of {@link stunBindingRequest}, in milliseconds. */
export const DEFAULT_STUN_CLIENT_TIMEOUT_MS = 5_000

/**
 * Initial retransmission timeout of the client (RFC 8489 §6.2.1 recommends
 * 500 ms); it doubles after every retransmission.
 */
export const DEFAULT_STUN_INITIAL_RTO_MS = 500

/** Maximum number of transmissions of one request (RFC 8489 §6.2.1 "Rc"). */
export const DEFAULT_STUN_MAX_TRANSMISSIONS = 7

/** Per-source rate limit: requests allowed per source IP in one window. */
export const DEFAULT_RATE_LIMIT_MAX_REQUESTS = 100

/** Per-source rate limit: window length in milliseconds. */
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 1_000

/**
 * Per-source rate limit: how many source IPs are tracked at once. When full,
 * the entries with the oldest windows are evicted first.
 */
export const DEFAULT_RATE_LIMIT_MAX_SOURCES = 10_000

/** STUN methods (RFC 8489 §18.2). Only Binding is implemented. */
export const StunMethod = {
  Binding: 0x001
} as const

/** STUN message classes (RFC 8489 §5), as the 2-bit value C1C0. */
export const StunClass = {
  Request: 0b00,
  Indication: 0b01,
  SuccessResponse: 0b10,
  ErrorResponse: 0b11
} as const

export type StunClassValue = typeof StunClass[keyof typeof StunClass]

/** Full 16-bit message types for the Binding method. */
export const STUN_BINDING_REQUEST = 0x0001
export const STUN_BINDING_INDICATION = 0x0011
export const STUN_BINDING_SUCCESS_RESPONSE = 0x0101
export const STUN_BINDING_ERROR_RESPONSE = 0x0111

/**
 * Attribute types (RFC 8489 §18.3, RFC 8445 for the ICE ones, RFC 5780 for
 * CHANGE-REQUEST). Types below 0x8000 are comprehension-required.
 */
export const StunAttribute = {
  MappedAddress: 0x0001,
  ChangeRequest: 0x0003,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000A,
  Realm: 0x0014,
  Nonce: 0x0015,
  MessageIntegritySha256: 0x001C,
  PasswordAlgorithm: 0x001D,
  Userhash: 0x001E,
  XorMappedAddress: 0x0020,
  Priority: 0x0024,
  UseCandidate: 0x0025,
  PasswordAlgorithms: 0x8002,
  AlternateDomain: 0x8003,
  Software: 0x8022,
  AlternateServer: 0x8023,
  ResponseOrigin: 0x802B,
  NatkitResponseDelay: 0xC0DE,
  OtherAddress: 0x802C,
  Fingerprint: 0x8028,
  IceControlled: 0x8029,
  IceControlling: 0x802A
} as const

/** Address family codes used in (XOR-)MAPPED-ADDRESS. */
export const StunAddressFamily = {
  IPv4: 0x01,
  IPv6: 0x02
} as const

/**
 * CHANGE-REQUEST flags (RFC 5780 §7.2): ask the server to answer from its
 * alternate address (`CHANGE_IP`) and/or its alternate port (`CHANGE_PORT`).
 */
export const STUN_CHANGE_IP = 0x04
export const STUN_CHANGE_PORT = 0x02

/**
 * Upper bound on how many bytes a response may exceed its request by: four
 * IPv6 address attributes (XOR-MAPPED-ADDRESS, MAPPED-ADDRESS,
 * RESPONSE-ORIGIN, OTHER-ADDRESS, 24 bytes each), SOFTWARE of at most
 * MAX_SOFTWARE_LENGTH characters (4 + 128 bytes) and FINGERPRINT (8 bytes).
 * The server never sends more, so it amplifies a spoofed request by at most
 * this constant — and only towards the request's own source address.
 *
 * @default 236
 */
export const MAX_STUN_RESPONSE_GROWTH = 4 * 24 + 4 + 128 + 8

/**
 * Longest delay a natkit STUN server honours in NATKIT-RESPONSE-DELAY
 * (a natkit-private, comprehension-optional attribute: "answer after this many
 * ms", used to measure how long an idle NAT mapping lives). Longer requests
 * are answered at once, so the client sees the delay was not honoured.
 *
 * @default 10000
 */
export const DEFAULT_MAX_RESPONSE_DELAY_MS = 10_000

/**
 * Most delayed responses a server holds at once; beyond it requests are
 * answered at once.
 *
 * @default 64
 */
export const DEFAULT_MAX_DELAYED_RESPONSES = 64

/** Error code sent when a request has unknown comprehension-required attributes. */
export const STUN_ERROR_UNKNOWN_ATTRIBUTE = 420

/** Reason phrase sent with {@link STUN_ERROR_UNKNOWN_ATTRIBUTE}. */
export const STUN_ERROR_UNKNOWN_ATTRIBUTE_REASON = 'Unknown Attribute'
