import {
  DEFAULT_RATE_LIMIT_MAX_REQUESTS,
  DEFAULT_RATE_LIMIT_MAX_SOURCES,
  DEFAULT_RATE_LIMIT_WINDOW_MS
} from './constants.js'
import { InvalidParametersError } from '@libp2p/interface'

/** Per-source-IP fixed-window rate limit of the STUN server. */
export interface StunRateLimitInit {
  /**
   * Datagrams accepted from one source IP per window; the rest are dropped.
   *
   * @default DEFAULT_RATE_LIMIT_MAX_REQUESTS
   */
  maxRequests?: number

  /**
   * Window length in milliseconds.
   *
   * @default DEFAULT_RATE_LIMIT_WINDOW_MS
   */
  windowMs?: number

  /**
   * Most source IPs tracked at once; when full, the source with the oldest
   * window is forgotten (so it starts a fresh window next time).
   *
   * @default DEFAULT_RATE_LIMIT_MAX_SOURCES
   */
  maxSources?: number
}

interface Window {
  start: number
  count: number
}

function positiveInteger (name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidParametersError(`${name} must be a positive integer, got ${value}`)
  }

  return value
}

/**
 * Fixed-window counter per source, in a Map bounded by `maxSources`. Map
 * insertion order equals window start order (a source is re-inserted when its
 * window restarts), so the oldest windows are always at the front.
 */
export class SourceRateLimiter {
  private readonly maxRequests: number
  private readonly windowMs: number
  private readonly maxSources: number
  private readonly now: () => number
  private readonly windows = new Map<string, Window>()

  constructor (init: StunRateLimitInit = {}, now: () => number = Date.now) {
    this.maxRequests = positiveInteger('maxRequests', init.maxRequests ?? DEFAULT_RATE_LIMIT_MAX_REQUESTS)
    this.windowMs = positiveInteger('windowMs', init.windowMs ?? DEFAULT_RATE_LIMIT_WINDOW_MS)
    this.maxSources = positiveInteger('maxSources', init.maxSources ?? DEFAULT_RATE_LIMIT_MAX_SOURCES)
    this.now = now
  }

  /** Number of sources currently tracked (never above `maxSources`). */
  get size (): number {
    return this.windows.size
  }

  /** Counts one datagram from `source`; false when it is over the limit. */
  allow (source: string): boolean {
    const now = this.now()
    const current = this.windows.get(source)

    if (current != null && now - current.start < this.windowMs) {
      if (current.count >= this.maxRequests) {
        return false
      }

      current.count++
      return true
    }

    this.windows.delete(source)
    this.evict(now)
    this.windows.set(source, { start: now, count: 1 })

    return true
  }

  /** Drops expired windows from the front, then the oldest while full. */
  private evict (now: number): void {
    for (const [source, window] of this.windows) {
      if (now - window.start < this.windowMs && this.windows.size < this.maxSources) {
        break
      }

      this.windows.delete(source)
    }
  }
}
