/**
 * What the kernel accounts to a process, from /proc/<pid>/stat: CPU time and
 * resident set, read from outside the process under test. One parser for the
 * relay benchmark (tools/bench) and the lab's CPU burner (tools/lab).
 */
import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS_PER_S = 100
/** /proc/<pid>/stat's rss is in pages of this size. */
export const PAGE_BYTES = 4096

/** CPU time (user + system) and resident set of a process. */
export interface ProcStat {
  cpuMs: number
  rssBytes: number
}

/** Parses /proc/<pid>/stat text (fields after the parenthesised command name). */
export function parseProcStat (text: string): ProcStat {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state): utime is field 14, stime 15, rss 24
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  const rss = Number(rest[21])
  if (![utime, stime, rss].every(Number.isFinite)) throw new Error('unreadable /proc stat')
  return { cpuMs: (utime + stime) * 1000 / CLOCK_TICKS_PER_S, rssBytes: rss * PAGE_BYTES }
}

/** `parseProcStat` of a live process (throws when it is gone). */
export function readProcStat (pid: number): ProcStat {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
}
