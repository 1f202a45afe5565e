/**
 * The mark of a user error: bad flags, config, input or key files — a
 * problem the user fixes, reported by every natkit app as one line without a
 * stack and exit status 2. A registered symbol (`Symbol.for`), so that two
 * copies of this module still agree.
 *
 * An error class is a user error when it extends {@link UserError}, or (when
 * it must extend another class, e.g. an `@libp2p/interface` error) declares
 * `readonly [USER_ERROR] = true`.
 */
export const USER_ERROR: unique symbol = Symbol.for('@natkit/user-error')

/** Base class of natkit's user errors (see {@link USER_ERROR}). */
export class UserError extends Error {
  static override name = 'UserError'
  override name = 'UserError'
  readonly [USER_ERROR] = true
}

/** True for an error whose class is marked as a user error (see {@link USER_ERROR}). */
export function isUserError (err: unknown): err is Error {
  return err instanceof Error && (err as Partial<Record<typeof USER_ERROR, unknown>>)[USER_ERROR] === true
}
