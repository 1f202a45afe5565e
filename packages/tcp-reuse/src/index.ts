/**
 * @packageDocumentation
 *
 * A libp2p TCP transport that binds its listeners with SO_REUSEPORT and dials
 * outbound connections from the listening port, so the address a remote peer
 * (or a NAT) observes is the one we listen on. That makes identify's observed
 * address useful behind a NAT and makes TCP hole punching (simultaneous open,
 * e.g. via DCUtR) possible. Derived from `@libp2p/tcp` 11.0.28 (Apache-2.0 OR MIT,
 * used under MIT): see NOTICE.
 *
 * @example
 *
 * ```TypeScript
 * import { createLibp2p } from 'libp2p'
 * import { tcpReuse } from '@natkit/tcp-reuse'
 *
 * const node = await createLibp2p({
 *   addresses: { listen: ['/ip4/0.0.0.0/tcp/0'] },
 *   transports: [tcpReuse()]
 * })
 * ```
 */

import { TcpReuseTransport } from './transport.js'
import type { TcpReuseComponents, TcpReuseInit } from './transport.js'
import type { Transport } from '@libp2p/interface'

export {
  DEFAULT_ALLOW_HALF_OPEN,
  DEFAULT_EXCLUSIVE_PORT,
  DEFAULT_KEEP_ALIVE,
  DEFAULT_NO_DELAY,
  DEFAULT_REUSE_PORT,
  FALLBACK_ERROR_CODES,
  MAX_INITIATOR_CLAIMS,
  TcpReuseTransport
} from './transport.js'
export type {
  ConnectionDialSource,
  ExpectInitiatorOptions,
  InitiatorClaim,
  OptimisticSelectDialOptions,
  ReuseStatus,
  TcpReuseComponents,
  TcpReuseDialEvents,
  TcpReuseInit,
  TcpReuseOpenConnectionEvent,
  TcpReuseSocketOptions
} from './transport.js'
export { DEFAULT_LISTENER_CLOSE_TIMEOUT } from './listener.js'
export type { ReuseAddress } from './listener.js'
export { DEFAULT_SOCKET_INACTIVITY_TIMEOUT, multistreamSelectLines } from './socket-to-conn.js'
export { probeListen } from './probe.js'
export { DialError, InvalidListenAddressError, ListenError, OptimisticSelectError } from './errors.js'

/**
 * Create a TCP transport that dials from its listening port
 */
export function tcpReuse (init: TcpReuseInit = {}): (components: TcpReuseComponents) => TcpReuseTransport & Transport {
  return (components) => new TcpReuseTransport(components, init)
}
