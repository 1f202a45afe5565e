/**
 * @packageDocumentation
 *
 * Ask one specific AutoNAT v2 server whether it can dial us back on given
 * addresses, and get a direct per-address answer (`reachable`,
 * `unreachable`, `unknown`) instead of the stock `@libp2p/autonat-v2`
 * client's "4 confirmations from different network segments" heuristic.
 *
 * @example
 *
 * ```typescript
 * import { createLibp2p } from 'libp2p'
 * import { multiaddr } from '@multiformats/multiaddr'
 * import { checkReachability } from '@natkit/autonat-check'
 *
 * const node = await createLibp2p({ ... }) // must listen on the addresses to check
 * const results = await checkReachability(node, multiaddr('/ip4/203.0.113.7/tcp/4001/p2p/12D3...'), node.getMultiaddrs(), { timeout: 10_000 })
 * // [{ addr: '/ip4/198.51.100.2/tcp/4001', status: 'reachable', detail: '...', dialDataBytes: 0, ... }]
 * ```
 *
 * How the stock js-libp2p server (`@libp2p/autonat-v2` 2.0.x `server.js`)
 * behaves, and what that means for results:
 *
 * - It loops over *every* address of a `DialRequest` and writes one
 *   `DialResponse` per address (the spec says: dial exactly one). We send one
 *   address per request, so both behaviours give one answer per address.
 * - `connectionManager.isDialable()` false (no transport, connection gater)
 *   → `E_DIAL_REFUSED` → `unknown`.
 * - Private/loopback IPs, or an address without an IP (e.g. `/dns4`), make it
 *   throw internally: no response, the stream is just closed → `unknown`.
 * - If the address's IP differs from the IP it observes our connection
 *   from, it first asks for 30 000–100 000 bytes of dial data
 *   (anti-amplification); we pay up to `maxDialDataBytes`. Same IP → no cost.
 *   It may dial any public IP, not only the observed one.
 * - It dials with `force: true`, i.e. a NEW connection from an ephemeral port
 *   (not its listen port); the address is dialed as given (no `/p2p` appended),
 *   so whichever node listens there gets the dial-back — only ours knows the
 *   nonce, so our node must itself listen on the address.
 * - `E_DIAL_ERROR` when the connection fails, `E_DIAL_BACK_ERROR` when the
 *   connection works but opening `/libp2p/autonat/2/dial-back`, the nonce
 *   exchange or the `DialBackResponse` fails; `OK` otherwise. It never sends
 *   `E_REQUEST_REJECTED`; its whole request has a 30 s timeout and it allows
 *   2 inbound dial-request streams per connection.
 * - Our node must not run the stock `autoNATv2()` service: it owns the
 *   dial-back protocol (→ `DialBackHandlerInUseError`).
 * - libp2p 3's `getMultiaddrs()` hides public addresses until they are
 *   confirmed, so pass the addresses to check explicitly.
 */
export { checkReachability, nodeFromComponents } from './check.js'
export type { AutoNATCheckNode, AutoNATCheckComponents, CheckReachabilityOptions, ReachabilityResult, ReachabilityStatus } from './check.js'
export {
  decodeAutoNATMessage,
  decodeDialBack,
  decodeDialBackResponse,
  encodeAutoNATMessage,
  encodeDialBack,
  encodeDialBackResponse,
  DIAL_BACK_STATUS,
  DIAL_STATUS,
  RESPONSE_STATUS
} from './codec.js'
export type { AutoNATMessage, DialBack, DialBackResponse, DialDataRequest, DialDataResponse, DialRequest, DialResponse } from './codec.js'
export * from './constants.js'
export * from './errors.js'
