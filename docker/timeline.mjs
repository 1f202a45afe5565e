#!/usr/bin/env node
// Reads natkit JSON event lines (optionally with a "service" field added) on stdin
// and prints the hole-punch timeline, ordered by time.
//   docker compose logs --no-log-prefix peer-a | docker run -i --rm natkit node /app/docker/timeline.mjs
import { createInterface } from 'node:readline'

const SHOWN = new Set(['listening', 'reservation', 'reservation:failed', 'peer:connect', 'peer:disconnect', 'holepunch:attempt', 'holepunch:success', 'holepunch:failure', 'ping', 'dial:result', 'reachability', 'upnp:mapping', 'error', 'warn'])
const MAX_LINES = 100_000
const events = []
for await (const line of createInterface({ input: process.stdin })) {
  if (events.length >= MAX_LINES) break
  if (!line.startsWith('{')) continue
  try {
    const e = JSON.parse(line)
    if (typeof e.ts === 'string' && SHOWN.has(e.event)) events.push(e)
  } catch {}
}
events.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts))
const t0 = events.length > 0 ? Date.parse(events[0].ts) : 0
const SKIP = new Set(['ts', 'event', 'peerId', 'service', 'level'])
for (const e of events) {
  const details = Object.entries(e).filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
  const who = e.service ?? String(e.peerId ?? '').slice(-6)
  console.log(`+${((Date.parse(e.ts) - t0) / 1000).toFixed(3).padStart(7)}s  ${who.padEnd(7)} ${e.event.padEnd(18)} ${details}`.slice(0, 400))
}
if (events.length === 0) console.log('(no events)')
