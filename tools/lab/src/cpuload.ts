/**
 * CPU contention for a lab trial: busy-loop processes beside the peers.
 *
 * Each burner is `timeout -s KILL <s> sh -c 'while :; do :; done' <prefix>cpuburn` started in
 * a peer's namespace in its own process group, so it is bounded three ways:
 * {@link CpuBurner.stop} kills its group, `timeout` kills it after
 * `maxSeconds` whatever happens to the lab process, and `lab.destroy()` kills
 * every process left in the namespace. Burners open no socket.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import type { Lab } from './netns.js'
import { readProcStat } from '@natkit/testkit/proc'
import type { ChildProcess } from 'node:child_process'

/** The `$0` of a lab's burner shells (`ps` shows it): `<lab prefix>cpuburn`. */
export function burnerName (prefix: string): string {
  return `${prefix}cpuburn`
}

/**
 * Hard bound on one burner's life (seconds): longer than a trial
 * (DEFAULT_TRIAL_TIMEOUT_MS) so it never ends early, short enough that a
 * leaked one stops by itself.
 *
 * @default 120
 */
export const DEFAULT_CPU_BURN_MAX_SECONDS = 120

/** Most burners one call may start. @default 64 */
export const MAX_CPU_BURNERS = 64

/** How long {@link CpuBurner.stop} waits for the burners to exit. @default 5000 */
export const DEFAULT_CPU_BURN_STOP_TIMEOUT_MS = 5_000

export class CpuBurnerError extends Error {
  static override name = 'CpuBurnerError'
  override name = 'CpuBurnerError'
}

export interface CpuBurnerOptions {
  /** Busy-loop processes in all, spread round-robin over the hosts. @default availableParallelism() (one per core) */
  workers?: number
  /** Hard bound on each burner (SIGKILL by `timeout`). @default DEFAULT_CPU_BURN_MAX_SECONDS */
  maxSeconds?: number
}

export interface CpuBurnerStats {
  workers: number
  /** Hosts (namespaces) the burners ran in. */
  hosts: string[]
  /** CPU seconds the burners used (user + system, from /proc), read just before they were killed. */
  cpuSeconds: number
  /** Wall-clock seconds they ran. */
  wallSeconds: number
}

export interface CpuBurner {
  /** Process ids of the burners (the `timeout` processes, each leading its own process group). */
  readonly pids: number[]
  readonly hosts: string[]
  /** Kills every burner (idempotent) and resolves with what they used. */
  stop: () => Promise<CpuBurnerStats>
}

/** Interval of the bounded wait for killed burners to disappear from /proc. */
const CPU_BURN_EXIT_POLL_MS = 20

/** CPU seconds (user + system) used so far by the live processes of group `pgid`, from /proc. */
export function groupCpuSeconds (pgid: number): number {
  let cpuMs = 0
  for (const pid of pidsInGroup(pgid)) {
    try {
      cpuMs += readProcStat(pid).cpuMs
    } catch {}
  }
  return cpuMs / 1000
}

function procComm (pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return 'gone'
  }
}

/** Live processes whose process group is `pgid`. */
export function pidsInGroup (pgid: number): number[] {
  const out: number[] = []
  const pids = readdirSync('/proc').filter(n => /^\d+$/.test(n))
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // state is rest[0]; pgrp is field 5 → rest[2]
      if (Number(rest[2]) === pgid && rest[0] !== 'Z') out.push(Number(p))
    } catch {}
  }
  return out
}

/**
 * Starts `workers` busy loops spread over `hosts` (lab hosts, normally the
 * two peers). Throws CpuBurnerError (after killing what started) if one fails.
 */
export async function startCpuBurner (lab: Lab, hosts: string[], opts: CpuBurnerOptions = {}): Promise<CpuBurner> {
  const workers = opts.workers ?? availableParallelism()
  const maxSeconds = opts.maxSeconds ?? DEFAULT_CPU_BURN_MAX_SECONDS
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_CPU_BURNERS) throw new RangeError(`workers must be an integer 1..${MAX_CPU_BURNERS}, got ${workers}`)
  if (!Number.isInteger(maxSeconds) || maxSeconds < 1 || maxSeconds > 3600) throw new RangeError(`maxSeconds must be an integer 1..3600, got ${maxSeconds}`)
  if (hosts.length === 0) throw new RangeError('hosts must name at least one lab host')
  const children: ChildProcess[] = []
  const kill = (): void => {
    for (const c of children) {
      if (c.pid == null) continue
      try { process.kill(-c.pid, 'SIGKILL') } catch {}
    }
  }
  const t0 = Date.now()
  try {
    for (let i = 0; i < workers; i++) {
      const host = hosts[i % hosts.length]
      // the lab's prefix as the shell's $0 names whose burner it is in `ps` (a test checks its own trial's)
      const child = lab.exec(host, 'timeout', ['-s', 'KILL', String(maxSeconds), 'sh', '-c', 'while :; do :; done', burnerName(lab.prefix)], { detached: true, stdio: 'ignore' })
      children.push(child)
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve)
        child.once('error', (err) => { reject(new CpuBurnerError(`CPU burner in ${host} did not start: ${err.message}`)) })
      })
    }
  } catch (err) {
    kill()
    throw err
  }
  const pids = children.map(c => c.pid as number)
  let stopping: Promise<CpuBurnerStats> | undefined
  return {
    pids,
    hosts: [...new Set(hosts.slice(0, workers))],
    stop: async () => {
      stopping ??= (async () => {
        const cpuSeconds = pids.reduce((sum, pid) => sum + groupCpuSeconds(pid), 0)
        const wallSeconds = (Date.now() - t0) / 1000
        kill()
        const deadline = Date.now() + DEFAULT_CPU_BURN_STOP_TIMEOUT_MS
        for (const c of children) {
          if (c.exitCode != null || c.signalCode != null) continue
          const left = deadline - Date.now()
          if (left <= 0) break
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, left)
            c.once('exit', () => { clearTimeout(timer); resolve() })
          })
        }
        // the busy loops are the `timeout` processes' children: SIGKILL reaches them
        // with the group, but they may take a moment to die after their parent
        let alive = pids.flatMap(pidsInGroup)
        while (alive.length > 0 && Date.now() < deadline) {
          await new Promise(resolve => setTimeout(resolve, CPU_BURN_EXIT_POLL_MS))
          alive = pids.flatMap(pidsInGroup)
        }
        if (alive.length > 0) throw new CpuBurnerError(`CPU burner processes still alive ${DEFAULT_CPU_BURN_STOP_TIMEOUT_MS} ms after SIGKILL: ${alive.map(p => `${p} (${procComm(p)})`).join(', ')}`)
        return { workers, hosts: [...new Set(hosts.slice(0, workers))], cpuSeconds: Math.round(cpuSeconds * 100) / 100, wallSeconds: Math.round(wallSeconds * 100) / 100 }
      })()
      return await stopping
    }
  }
}
