/**
 * A dial that fails on the network's way (an unanswered ARP or SYN, a dial
 * timeout) is tried again within the caller's time budget: on a lossy link
 * the first connection to a relay can fail where the second one works
 * (tools/lab, 5 % loss per link: 3 of 80 dials never reached the relay).
 * Answers that would not change (refused, denied, bad address, a failed
 * handshake) end the dial at once.
 */
import { setTimeout as delay } from 'node:timers/promises'

/**
 * Attempts of one dial when the earlier ones failed in transit.
 *
 * @default 3
 */
export const DEFAULT_DIAL_ATTEMPTS = 3

/**
 * Pause before each further attempt, in ms.
 *
 * @default 250
 */
export const DEFAULT_DIAL_RETRY_DELAY_MS = 250

const TRANSIENT = /\b(EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EAI_AGAIN)\b|aborted due to timeout|timed out/i

/**
 * True when `err` (or, for an aggregate of several addresses' dials, every
 * one of them) failed in transit: no route to the host yet, no answer in
 * time. Not for refusals, gater denials or protocol failures.
 */
export function isTransientDialError (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const inner = (err as { errors?: unknown }).errors
  if (Array.isArray(inner) && inner.length > 0) return inner.every(isTransientDialError)
  return err.name === 'TimeoutError' || TRANSIENT.test(err.message) || TRANSIENT.test(String((err as { code?: unknown }).code ?? ''))
}

export interface DialRetryInit {
  /** The caller's budget: no attempt starts after it aborted. */
  signal: AbortSignal
  /** @default DEFAULT_DIAL_ATTEMPTS */
  attempts?: number
  /** @default DEFAULT_DIAL_RETRY_DELAY_MS */
  retryDelayMs?: number
  /** Told about each failed attempt that is followed by another one. */
  onRetry?: (attempt: number, err: Error) => void
}

/**
 * Runs `dial` up to `attempts` times while it fails in transit
 * ({@link isTransientDialError}) and `signal` has not aborted; throws the
 * last error otherwise.
 */
export async function dialRetrying<T> (dial: (signal: AbortSignal) => Promise<T>, init: DialRetryInit): Promise<T> {
  const attempts = init.attempts ?? DEFAULT_DIAL_ATTEMPTS
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be a positive integer, got ${attempts}`)
  for (let attempt = 1; ; attempt++) {
    try {
      return await dial(init.signal)
    } catch (err) {
      if (attempt >= attempts || init.signal.aborted || !isTransientDialError(err)) throw err
      init.onRetry?.(attempt, err as Error)
      await delay(init.retryDelayMs ?? DEFAULT_DIAL_RETRY_DELAY_MS, undefined, { signal: init.signal }).catch(() => {})
      if (init.signal.aborted) throw err
    }
  }
}
