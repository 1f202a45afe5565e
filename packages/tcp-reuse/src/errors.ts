/**
 * A multiaddr that this transport cannot listen on (not `/ip4|ip6/.../tcp/N`)
 */
export class InvalidListenAddressError extends Error {
  override name = 'InvalidListenAddressError'
}

/**
 * Binding or listening on the requested address failed
 */
export class ListenError extends Error {
  override name = 'ListenError'
  readonly code?: string

  constructor (message: string, options?: ErrorOptions & { code?: string }) {
    super(message, options)
    this.code = options?.code
  }
}

/**
 * The TCP connect to a remote failed, e.g.
 * `connection error 1.2.3.4:5: ECONNREFUSED`. `code` holds the errno name
 * when known and `cause` the original error.
 */
export class DialError extends Error {
  override name = 'DialError'
  readonly code?: string

  constructor (message: string, options?: ErrorOptions & { code?: string }) {
    super(message, options)
    this.code = options?.code
  }
}
