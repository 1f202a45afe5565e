import type { HolePunchFailureReason } from '@natkit/events'
import { HolePunchAbortedError, HolePunchProtocolError } from './errors.js'

/** Why a hole punch failed, most specific first: the `reason` of the `holepunch:failure` event. */
export type { HolePunchFailureReason }

/** Every failure reason, e.g. to initialise counters. */
export const FAILURE_REASONS: readonly HolePunchFailureReason[] = [
  'no-public-addresses',
  'remote-no-public-addresses',
  'gater-denied',
  'symmetric-nat-suspected',
  'peer-unreachable',
  'timeout',
  'protocol-error',
  'aborted'
]

/** What is known about a failed punch. */
export interface DiagnoseInput {
  /** How many candidate addresses we offered (or would have). */
  ownCandidates: number
  /**
   * How many of the peer's addresses we could dial (usable, and allowed by
   * the connection gater); `undefined` if we never got its CONNECT.
   */
  remoteCandidates?: number
  /** How many of the peer's usable addresses the connection gater refused. */
  remoteDenied?: number
  /** From our identify observations (see `ObservedAddresses`). */
  symmetricNatSuspected: boolean
  /** The last error of the punch, if any. */
  error?: unknown
  /** The punch was cancelled from outside (stop, relayed connection closed). */
  aborted?: boolean
}

/** Socket error codes that mean "nobody answered there". */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL'])
/** How deep to look into `cause` / `AggregateError.errors` chains. */
const MAX_ERROR_DEPTH = 4
/** How many errors to look at in total. */
const MAX_ERRORS_VISITED = 64

/** An error (or any object thrown) in a chain, its fields not yet checked. */
type ErrorLike = object & { code?: unknown, message?: unknown }

function someError (err: unknown, test: (e: ErrorLike) => boolean): boolean {
  let visited = 0
  const visit = (e: unknown, depth: number): boolean => {
    if (e == null || typeof e !== 'object' || depth > MAX_ERROR_DEPTH || visited++ > MAX_ERRORS_VISITED) return false
    if (test(e)) return true
    const anyErr = e as { cause?: unknown, errors?: unknown }
    if (visit(anyErr.cause, depth + 1)) return true
    if (Array.isArray(anyErr.errors)) {
      for (const child of anyErr.errors) {
        if (visit(child, depth + 1)) return true
      }
    }
    return false
  }
  return visit(err, 0)
}

/** True if any error in the chain is a refused/unreachable socket error. */
export function isUnreachableError (err: unknown): boolean {
  return someError(err, (e) => {
    if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true
    return typeof e.message === 'string' && /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/.test(e.message)
  })
}

/** True if any error in the chain is a DCUtR protocol violation. */
export function isProtocolError (err: unknown): boolean {
  return someError(err, (e) => e instanceof HolePunchProtocolError)
}

/**
 * Picks the most specific failure reason:
 * aborted → no-public-addresses → protocol-error → gater-denied (every usable
 * remote address refused by our connection gater) → remote-no-public-addresses →
 * symmetric-nat-suspected → peer-unreachable → timeout.
 */
export function diagnose (input: DiagnoseInput): HolePunchFailureReason {
  if (input.aborted === true || input.error instanceof HolePunchAbortedError) return 'aborted'
  if (input.ownCandidates === 0) return 'no-public-addresses'
  if (isProtocolError(input.error)) return 'protocol-error'
  if (input.remoteCandidates === 0 && (input.remoteDenied ?? 0) > 0) return 'gater-denied'
  if (input.remoteCandidates === 0) return 'remote-no-public-addresses'
  if (input.symmetricNatSuspected) return 'symmetric-nat-suspected'
  if (isUnreachableError(input.error)) return 'peer-unreachable'
  return 'timeout'
}
