/**
 * @packageDocumentation
 *
 * A small RFC 8489 (ex-RFC 5389) STUN Binding server, so WebRTC/ICE peers in
 * the natkit lab learn their server-reflexive candidates from our own relay
 * instead of a public STUN server, plus a Binding client for tests and
 * `natkit-autonat` diagnostics.
 *
 * Only the Binding method is implemented, without authentication:
 * - Binding requests get a success response with XOR-MAPPED-ADDRESS,
 *   MAPPED-ADDRESS (for RFC 3489-era clients) and SOFTWARE, echoing the
 *   transaction id, plus FINGERPRINT when the request had one.
 * - Requests with unknown comprehension-required attributes get a 420 error
 *   response listing them in UNKNOWN-ATTRIBUTES.
 * - Malformed/oversize datagrams, indications, responses and other methods are
 *   dropped silently and counted in `stats.malformed`.
 *
 * @example
 * ```ts
 * import { createStunServer, stunBindingRequest } from '@natkit/stun'
 *
 * const server = createStunServer()
 * const { port } = await server.listen(3478, '0.0.0.0')
 * const mapped = await stunBindingRequest({ host: '127.0.0.1', port }, { timeout: 2000 })
 * // mapped = { address: '127.0.0.1', port: <client port>, family: 'IPv4', ... }
 * await server.close()
 * ```
 */

export * from './constants.js'
export * from './errors.js'
export { bytesToIp, ipToBytes, unmapIPv4 } from './ip.js'
export * from './message.js'
export { SourceRateLimiter } from './rate-limit.js'
export type { StunRateLimitInit } from './rate-limit.js'
export { createStunServer, KNOWN_COMPREHENSION_REQUIRED_ATTRIBUTES } from './server.js'
export type { StunDropReason, StunLogger, StunServer, StunServerEvents, StunServerInit, StunServerStats } from './server.js'
export { stunBindingRequest } from './client.js'
export type { StunBindingRequestOptions, StunBindingResult } from './client.js'
