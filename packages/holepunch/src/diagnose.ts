import type { HolePunchFailureReason } from '@natkit/events'
import { HolePunchAbortedError, HolePunchBusyError, HolePunchProtocolError, PunchBudgetExhaustedError } from './errors.js'

/** Why a hole punch failed, most specific first: the `reason` of the `holepunch:failure` event. */
export type { HolePunchFailureReason }

/** Every failure reason, e.g. to initialise counters. */
export const FAILURE_REASONS: readonly HolePunchFailureReason[] = [
  'no-public-addresses',
  'remote-no-public-addresses',
  'gater-denied',
  'symmetric-nat-suspected',
  'upgrade-failed',
  'reset-by-remote',
  'peer-unreachable',
  'no-answer',
  'dial-budget-exhausted',
  'timeout',
  'protocol-error',
  'aborted',
  'busy'
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
  /** What the punch's direct dials saw, per address (see {@link PunchDials}). */
  dials?: readonly DialRecord[]
}

/** What the dials of one remote address saw during a punch. */
export interface DialRecord {
  /** The remote address (`/ip4/…/tcp/…`, without `/p2p`). */
  addr: string
  /** Connection attempts (each one SYN plus the kernel's retransmissions). */
  dials: number
  /** Answered with a TCP reset (ECONNREFUSED). */
  refused: number
  /** Answered with ICMP unreachable, or no route (EHOSTUNREACH, ENETUNREACH, …). */
  unreachable: number
  /** The TCP connection opened but the libp2p upgrade (security, muxer) failed. */
  upgradeFailed: number
  /**
   * No answer for at least {@link UNANSWERED_AFTER_MS} (the first SYN and its
   * first retransmission timeout), until the window ended or the dial timed out.
   */
  unanswered: number
  /** Cut short by the end of the window before an answer could be expected: not counted as a SYN. */
  cut: number
  /** Failed in another way (see `lastError`). */
  other: number
  /** The last error of an upgrade or of an unexpected kind, one line. */
  lastError?: string
}

/**
 * Collects what a punch's dials saw, per remote address, over all attempts of
 * one punch. Bounded by the number of dial candidates.
 */
export class PunchDials {
  readonly #records = new Map<string, DialRecord>()
  /** Dials not settled yet: address → start times. */
  readonly #pending = new Map<string, number[]>()
  readonly #max: number

  constructor (maxAddrs: number) {
    this.#max = maxAddrs
  }

  /** The record of `addr`, created on first use (undefined beyond `maxAddrs`). */
  record (addr: string): DialRecord | undefined {
    let r = this.#records.get(addr)
    if (r == null && this.#records.size < this.#max) {
      r = { addr, dials: 0, refused: 0, unreachable: 0, upgradeFailed: 0, unanswered: 0, cut: 0, other: 0 }
      this.#records.set(addr, r)
    }
    return r
  }

  /** Files the start of a dial of `addr`; returns its start time for {@link settle}. */
  begin (addr: string): number {
    const r = this.record(addr)
    const start = Date.now()
    if (r == null) return start
    r.dials++
    this.#pending.set(addr, [...(this.#pending.get(addr) ?? []), start])
    return start
  }

  /**
   * Files the end of one dial of `addr` that lasted `ms`: `connected` if the
   * upgrade had started, `aborted` if the punch's window had ended. A dial
   * started with {@link begin} passes its start time as `started`.
   */
  settle (addr: string, err: unknown, connected: boolean, aborted: boolean, ms: number = UNANSWERED_AFTER_MS, started?: number): void {
    const r = this.record(addr)
    if (r == null) return
    if (started != null) {
      const pending = this.#pending.get(addr) ?? []
      const i = pending.indexOf(started)
      if (i >= 0) pending.splice(i, 1)
    }
    if (connected) {
      r.upgradeFailed++
      r.lastError = errorLine(err)
    } else if (isRefusedError(err)) {
      r.refused++
    } else if (isUnreachableError(err)) {
      r.unreachable++
    } else if (aborted || someError(err, (e) => (e as { name?: unknown }).name === 'TimeoutError')) {
      // ended by our window or the dial's own timeout, without any answer
      if (ms >= UNANSWERED_AFTER_MS) r.unanswered++
      else r.cut++
    } else {
      r.other++
      r.lastError = errorLine(err)
    }
  }

  /**
   * The records; a dial still pending (its failure is being reported before
   * its socket gave up) counts as unanswered if it has waited at least
   * {@link UNANSWERED_AFTER_MS}, else as cut short.
   */
  list (): DialRecord[] {
    const now = Date.now()
    return [...this.#records.values()].map(r => {
      const out = { ...r }
      for (const start of this.#pending.get(r.addr) ?? []) {
        if (now - start >= UNANSWERED_AFTER_MS) out.unanswered++
        else out.cut++
      }
      return out
    })
  }
}

/** `Name: message` of an error, on one line. */
export function errorLine (err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return text.replace(/\s+/g, ' ').slice(0, 200)
}

/**
 * A dial that got no answer for this long (ms) counts as unanswered: Linux
 * retransmits an unanswered SYN after 1 s. A dial the window's end cut shorter
 * than this was just sent, and is not counted.
 */
export const UNANSWERED_AFTER_MS = 1_000

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

/** True if any error in the chain is a TCP reset answering our SYN (ECONNREFUSED). */
export function isRefusedError (err: unknown): boolean {
  return someError(err, (e) => e.code === 'ECONNREFUSED' || (typeof e.message === 'string' && e.message.includes('ECONNREFUSED')))
}

/** True if any error in the chain is a DCUtR protocol violation. */
export function isProtocolError (err: unknown): boolean {
  return someError(err, (e) => e instanceof HolePunchProtocolError)
}

/**
 * Picks the most specific failure reason:
 * aborted → busy (the punch never started: no free slot) → no-public-addresses → protocol-error → gater-denied (every usable
 * remote address refused by our connection gater) → remote-no-public-addresses →
 * symmetric-nat-suspected (only with evidence, see `ObservedAddresses`) →
 * what the dials saw: upgrade-failed (a TCP connection opened, its upgrade
 * failed) → reset-by-remote (SYNs answered with resets) → peer-unreachable
 * (ICMP unreachable / no route) → no-answer (SYNs sent, nothing came back) →
 * dial-budget-exhausted (nothing dialled: the peer's punch dial budget is used
 * up) → else from the last error: peer-unreachable, or timeout (e.g. the
 * exchange over the relay did not finish).
 */
export function diagnose (input: DiagnoseInput): HolePunchFailureReason {
  if (input.aborted === true || input.error instanceof HolePunchAbortedError) return 'aborted'
  if (input.error instanceof HolePunchBusyError) return 'busy'
  if (input.ownCandidates === 0) return 'no-public-addresses'
  if (isProtocolError(input.error)) return 'protocol-error'
  if (input.remoteCandidates === 0 && (input.remoteDenied ?? 0) > 0) return 'gater-denied'
  if (input.remoteCandidates === 0 && someError(input.error, (e) => e instanceof PunchBudgetExhaustedError)) return 'dial-budget-exhausted'
  if (input.remoteCandidates === 0) return 'remote-no-public-addresses'
  if (input.symmetricNatSuspected) return 'symmetric-nat-suspected'
  const dials = sumDials(input.dials ?? [])
  if (dials.upgradeFailed > 0) return 'upgrade-failed'
  if (dials.refused > 0 && dials.refused >= dials.unreachable) return 'reset-by-remote'
  if (dials.unreachable > 0) return 'peer-unreachable'
  if (dials.unanswered > 0) return 'no-answer'
  if (someError(input.error, (e) => e instanceof PunchBudgetExhaustedError)) return 'dial-budget-exhausted'
  if (isUnreachableError(input.error)) return 'peer-unreachable'
  return 'timeout'
}

function sumDials (records: readonly DialRecord[]): Omit<DialRecord, 'addr' | 'lastError'> {
  const sum = { dials: 0, refused: 0, unreachable: 0, upgradeFailed: 0, unanswered: 0, cut: 0, other: 0 }
  for (const r of records) {
    sum.dials += r.dials
    sum.refused += r.refused
    sum.unreachable += r.unreachable
    sum.upgradeFailed += r.upgradeFailed
    sum.unanswered += r.unanswered
  }
  return sum
}

/** `/ip4/1.2.3.4/tcp/5/p2p/Qm…` → `1.2.3.4:5` for messages (the input when it is no plain TCP address). */
function hostPort (addr: string): string {
  const m = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)/.exec(addr)
  return m == null ? addr : addr.startsWith('/ip6/') ? `[${m[1]}]:${m[2]}` : `${m[1]}:${m[2]}`
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/**
 * One sentence per dialled address saying what its dials saw, e.g. "their
 * router answered all 37 SYNs we sent to 11.0.2.1:4100 with a reset (no
 * mapping for us existed there yet)", or undefined if nothing was dialled.
 */
export function describeDials (records: readonly DialRecord[], windowMs?: number): string | undefined {
  const within = windowMs != null ? ` within ${windowMs} ms` : ''
  const parts: string[] = []
  for (const r of records) {
    // dials the window's end cut short were just sent: no SYN to report on
    const sent = r.dials - r.cut
    if (sent <= 0) continue
    const to = hostPort(r.addr)
    const syns = plural(sent, 'SYN')
    const other = r.other > 0 ? `; ${r.other} failed otherwise (${r.lastError ?? 'unknown error'})` : ''
    if (r.upgradeFailed > 0) {
      parts.push(`TCP to ${to} connected ${plural(r.upgradeFailed, 'time')} but the libp2p upgrade failed (${r.lastError ?? 'no error'})`)
    } else if (r.refused > 0 && r.refused === sent) {
      parts.push(`all ${syns} we sent to ${to}${within} were answered with a reset: their router held no mapping for us (or a firewall on the way refused them) until the end of the window`)
    } else if (r.refused > 0) {
      parts.push(`${r.refused} of ${syns} to ${to} were answered with a reset${r.unanswered > 0 ? `, ${r.unanswered} got no answer` : ''}${within}${other}`)
    } else if (r.unreachable > 0) {
      parts.push(`${r.unreachable} of ${syns} to ${to} met "host/network unreachable"${within}${other}`)
    } else if (r.unanswered > 0) {
      parts.push(`no answer to our SYNs to ${to} (${plural(r.unanswered, 'dial')}, kernel retransmissions included)${within}: silently dropped on the way, by a NAT filter on their side or ours${other}`)
    } else {
      parts.push(`${syns} to ${to} failed (${r.lastError ?? 'unknown error'})`)
    }
  }
  return parts.length > 0 ? parts.join('; ') : undefined
}
