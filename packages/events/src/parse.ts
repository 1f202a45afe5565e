import type { NatkitEvent } from './index.js'

/** Upper bound for one JSON event line. */
export const MAX_EVENT_LINE_LENGTH = 64 * 1024

export class InvalidEventLineError extends Error {
  static override name = 'InvalidEventLineError'
  override name = 'InvalidEventLineError'
}

/** Parses one `--json` line; throws InvalidEventLineError naming the problem. */
export function parseEventLine (line: string): NatkitEvent {
  if (line.length > MAX_EVENT_LINE_LENGTH) throw new InvalidEventLineError(`event line longer than ${MAX_EVENT_LINE_LENGTH} characters`)
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    throw new InvalidEventLineError(`not JSON: ${line.slice(0, 80)}`)
  }
  if (value == null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidEventLineError('event line is not a JSON object')
  const v = value as Record<string, unknown>
  for (const k of ['ts', 'event', 'peerId'] as const) {
    if (typeof v[k] !== 'string') throw new InvalidEventLineError(`event line has no string "${k}" field`)
  }
  return v as unknown as NatkitEvent
}

/**
 * Splits a chunked text stream into events. Non-JSON lines (for example a
 * library writing to stdout) are passed to `onOther` instead of failing.
 */
export function parseEventStream (onEvent: (e: NatkitEvent) => void, onOther: (line: string) => void = () => {}): (chunk: string | Buffer) => void {
  let buf = ''
  return (chunk) => {
    buf += chunk.toString()
    if (buf.length > MAX_EVENT_LINE_LENGTH * 4 && !buf.includes('\n')) {
      onOther(buf.slice(0, MAX_EVENT_LINE_LENGTH))
      buf = ''
    }
    let i: number
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim()
      buf = buf.slice(i + 1)
      if (line === '') continue
      if (line.startsWith('{')) {
        try {
          onEvent(parseEventLine(line))
          continue
        } catch {}
      }
      onOther(line)
    }
  }
}
