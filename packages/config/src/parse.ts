/**
 * Value parsers shared by the option rows. Each returns the coerced value or
 * throws a `ParseProblem` whose message completes the sentence
 * `"<value>" ...` (e.g. `must be an integer >= 1`).
 */

/** Internal: a value could not be coerced; `item` is the offending list item, if any. */
export class ParseProblem extends Error {
  override name = 'ParseProblem'
  readonly item: unknown

  constructor (problem: string, item: unknown) {
    super(problem)
    this.item = item
  }
}

/** Largest duration accepted: the largest delay `setTimeout` honours (~24.8 days). */
export const MAX_DURATION_MS = 2_147_483_647

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3
}

/**
 * Parse a duration: `250ms`, `5s`, `2m`, `1h`, `1.5s`, or a bare number of
 * milliseconds. Returns whole milliseconds.
 */
export function parseDuration (input: unknown): number {
  let ms: number
  if (typeof input === 'number') {
    ms = input
  } else if (typeof input === 'string') {
    const m = splitNumberUnit(input)
    const unit = m != null ? unitSize(DURATION_UNITS, m.unit, 'ms') : undefined
    if (m == null || unit == null) {
      throw new ParseProblem('is not a duration (use e.g. 250ms, 5s, 2m, 1h or a number of milliseconds)', input)
    }
    ms = Number(m.number) * unit
  } else {
    throw new ParseProblem('is not a duration (expected a string like 5s or a number of milliseconds)', input)
  }
  if (!Number.isFinite(ms) || ms < 0) {
    throw new ParseProblem('is not a non-negative duration', input)
  }
  ms = Math.round(ms)
  if (ms > MAX_DURATION_MS) {
    throw new ParseProblem(`is longer than the maximum duration of ${MAX_DURATION_MS}ms`, input)
  }
  return ms
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57

/** The size of `unit` in `table` (own keys only), `fallback`'s when `unit` is empty. */
function unitSize (table: Record<string, number>, unit: string, fallback: string): number | undefined {
  const key = unit === '' ? fallback : unit
  return Object.hasOwn(table, key) ? table[key] : undefined
}

/**
 * Splits `" 1.5 KiB "` into `{ number: '1.5', unit: 'kib' }` (unit lowercased,
 * `''` when absent), or returns `undefined` when the number is not
 * `digits[.digits]`. One pass over the input: linear time, whatever its shape.
 */
function splitNumberUnit (input: string): { number: string, unit: string } | undefined {
  const s = input.trim()
  let i = 0
  while (i < s.length && isDigit(s.charCodeAt(i))) i++
  if (i === 0) return undefined
  if (s[i] === '.') {
    const start = ++i
    while (i < s.length && isDigit(s.charCodeAt(i))) i++
    if (i === start) return undefined
  }
  return { number: s.slice(0, i), unit: s.slice(i).trimStart().toLowerCase() }
}

/** Format milliseconds the way `parseDuration` reads them (`2h`, `30s`, `250ms`). */
export function formatDuration (ms: number): string {
  if (ms === 0) return '0'
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

/**
 * Parse a byte size: `128KiB`, `1MiB`, `64kB`, `512B`, or a bare number of
 * bytes. Units are case-insensitive; `KiB`/`MiB`/`GiB` are powers of 1024,
 * `kB`/`MB`/`GB` powers of 1000.
 */
export function parseBytes (input: unknown): number {
  let n: number
  if (typeof input === 'number') {
    n = input
  } else if (typeof input === 'string') {
    const m = splitNumberUnit(input)
    const unit = m != null ? unitSize(BYTE_UNITS, m.unit, 'b') : undefined
    if (m == null || unit == null) {
      throw new ParseProblem('is not a byte size (use e.g. 128KiB, 1MiB or a number of bytes)', input)
    }
    n = Number(m.number) * unit
  } else {
    throw new ParseProblem('is not a byte size (expected a string like 128KiB or a number of bytes)', input)
  }
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ParseProblem('is not a whole, non-negative number of bytes', input)
  }
  return n
}

/** Format a byte count the way `parseBytes` reads it (`128KiB`, `1MiB`, `100`). */
export function formatBytes (n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n !== 0 && n % size === 0) return `${n / size}${unit}`
  }
  return String(n)
}

/** Parse an integer from a number or a decimal string. */
export function parseInteger (input: unknown): number {
  let n: number
  if (typeof input === 'number') {
    n = input
  } else if (typeof input === 'string' && /^[+-]?\d+$/.test(input.trim())) {
    n = Number(input)
  } else {
    throw new ParseProblem('is not an integer', input)
  }
  if (!Number.isSafeInteger(n)) {
    throw new ParseProblem('is not an integer', input)
  }
  return n
}

/** `true/false/1/0/yes/no/on/off` (case-insensitive) or a JSON boolean. */
export function parseBoolean (input: unknown): boolean {
  if (typeof input === 'boolean') return input
  if (typeof input === 'string') {
    const v = input.trim().toLowerCase()
    if (v === 'true' || v === '1' || v === 'yes' || v === 'on') return true
    if (v === 'false' || v === '0' || v === 'no' || v === 'off') return false
  }
  throw new ParseProblem('is not a boolean (use true/false, 1/0 or yes/no)', input)
}

/** A `host:port` pair; IPv6 hosts are written `[::1]:9090` and returned without brackets. */
export interface HostPort {
  host: string
  port: number
}

export function parseHostPort (input: unknown): HostPort {
  if (typeof input !== 'string') {
    throw new ParseProblem('is not a host:port string', input)
  }
  const m = /^(?:\[([0-9a-fA-F:.%\w]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(input.trim())
  if (m == null) {
    throw new ParseProblem('is not host:port (e.g. 127.0.0.1:9090 or [::1]:9090)', input)
  }
  const port = Number(m[3])
  if (port > 65535) {
    throw new ParseProblem('has a port outside 0-65535', input)
  }
  return { host: m[1] ?? m[2], port }
}

export function formatHostPort (hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`
}

/** `stun:HOST:PORT` (as accepted by WebRTC `iceServers`). */
export function checkStunUrl (url: string): string | undefined {
  const m = /^stun:(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(url)
  if (m == null) {
    return 'is not a STUN server URL of the form stun:HOST:PORT'
  }
  if (Number(m[1]) > 65535) {
    return 'has a port outside 0-65535'
  }
  return undefined
}
