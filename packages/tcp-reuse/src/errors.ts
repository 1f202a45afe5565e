import { DialError as BaseDialError, ListenError as BaseListenError } from '@libp2p/interface'

/**
 * A multiaddr that this transport cannot listen on (not `/ip4|ip6/.../tcp/N`)
 */
export class InvalidListenAddressError extends Error {
  static override name = 'InvalidListenAddressError'
  override name = 'InvalidListenAddressError'
}

/**
 * Binding or listening on the requested address failed: the `ListenError` of
 * `@libp2p/interface` with the errno name in `code` and the original error in
 * `cause`.
 */
export class ListenError extends BaseListenError {
  static override name = 'ListenError'
  override name = 'ListenError'
  readonly code?: string

  constructor (message: string, options?: ErrorOptions & { code?: string }) {
    super(message)
    if (options != null && 'cause' in options) this.cause = options.cause
    this.code = options?.code
  }
}

/**
 * The TCP connect to a remote failed, e.g.
 * `connection error 1.2.3.4:5: ECONNREFUSED`: the `DialError` of
 * `@libp2p/interface` with the errno name in `code` (when known) and the
 * original error in `cause`.
 */
export class DialError extends BaseDialError {
  static override name = 'DialError'
  override name = 'DialError'
  readonly code?: string

  constructor (message: string, options?: ErrorOptions & { code?: string }) {
    super(message)
    if (options != null && 'cause' in options) this.cause = options.cause
    this.code = options?.code
  }
}

/**
 * The remote did not accept the security protocol an optimistic
 * multistream-select assumed (`optimisticSelect`): it answered something
 * else than that protocol's echo, e.g. `na`.
 */
export class OptimisticSelectError extends Error {
  static override name = 'OptimisticSelectError'
  override name = 'OptimisticSelectError'
}
