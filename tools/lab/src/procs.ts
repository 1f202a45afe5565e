import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseEventStream } from '@natkit/events'
import { assertFreshBuild } from '@natkit/testkit'
import { nodeArgv } from '@natkit/testkit/roles'
export { StaleBuildError } from '@natkit/testkit'
import type { Lab } from './netns.js'
import type { Host } from './topology.js'
import type { NatkitEvent, NatkitEventName } from '@natkit/events'
import type { ChildProcess } from 'node:child_process'

/** Most events kept per role process (older ones are dropped first). */
export const DEFAULT_MAX_EVENTS = 10_000
/** Most non-event output lines kept per process. */
export const DEFAULT_MAX_LINES = 2_000
/** Characters of stderr kept per process (ring buffer). */
export const DEFAULT_STDERR_CHARS = 64 * 1024
/** Time between SIGTERM and SIGKILL in {@link ProcHandle.stop}. */
export const DEFAULT_STOP_GRACE_MS = 3_000
/** Default bound for waiting on an event or line. */
export const DEFAULT_WAIT_TIMEOUT_MS = 30_000

/** The natkit role binaries, by short name. */
export const ROLE_BINARIES = {
  relay: 'apps/relay/bin/natkit-relay.js',
  bootstrap: 'apps/bootstrap/bin/natkit-bootstrap.js',
  peer: 'apps/peer/bin/natkit-peer.js',
  autonat: 'apps/autonat-probe/bin/natkit-autonat.js'
} as const

export type RoleName = keyof typeof ROLE_BINARIES

/** The repository root (this file is at tools/lab/{src,dist}/procs.*). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export class ProcessExitedError extends Error {
  override name = 'ProcessExitedError'
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError'
}

export class RoleBinaryNotFoundError extends Error {
  override name = 'RoleBinaryNotFoundError'
}

/** Absolute path of a role binary. */
export function roleBinary (role: RoleName): string {
  return join(REPO_ROOT, ROLE_BINARIES[role])
}

/**
 * Absolute path of a role binary that is safe to run: it exists, and neither
 * its app's dist/ nor that of a workspace package it depends on is older than
 * the sources (else `StaleBuildError` from @natkit/testkit, naming the newer
 * source file).
 */
export function runnableRoleBinary (role: RoleName): string {
  const script = roleBinary(role)
  if (!existsSync(script)) throw new RoleBinaryNotFoundError(`role binary ${script} not found (build the apps first: npm run build)`)
  assertFreshBuild(script)
  return script
}

interface Waiter {
  test: () => boolean
  resolve: () => void
  reject: (err: Error) => void
}

/**
 * A process running in a lab namespace whose stdout lines are collected.
 * Waits check what already arrived first, so no event can be missed.
 */
export class ProcHandle {
  readonly host: string
  readonly child: ChildProcess
  /** Non-event stdout lines (bounded). */
  readonly lines: string[] = []
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>
  exitCode: number | null | undefined
  readonly #label: string
  #stderr = ''
  readonly #waiters = new Set<Waiter>()

  constructor (lab: Lab, host: string | Host, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv, cwd?: string, label?: string } = {}) {
    this.host = typeof host === 'string' ? host : host.name
    this.#label = opts.label ?? `${cmd} in ${this.host}`
    this.child = lab.exec(host, cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdin?.on('error', () => {})
    this.child.stderr?.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-DEFAULT_STDERR_CHARS)
    })
    this.exited = new Promise<number | null>((resolve) => {
      this.child.once('close', (code) => {
        this.exitCode = code
        resolve(code)
        this.#check()
      })
      this.child.once('error', (err) => {
        this.#stderr += `\nspawn error: ${err.message}`
        this.exitCode = null
        resolve(null)
        this.#check()
      })
    })
  }

  /** Recent stderr output (at most DEFAULT_STDERR_CHARS characters). */
  get stderr (): string {
    return this.#stderr
  }

  get pid (): number | undefined {
    return this.child.pid
  }

  /** Writes one line to the process's stdin. */
  send (line: string): void {
    this.child.stdin?.write(`${line}\n`)
  }

  /** Called by subclasses/feeders when something new arrived. */
  protected notify (): void {
    this.#check()
  }

  protected addLine (line: string): void {
    this.lines.push(line)
    if (this.lines.length > DEFAULT_MAX_LINES) this.lines.shift()
    this.#check()
  }

  /** Resolves when `test()` is true; rejects on timeout or when the process exits first. */
  protected async waitUntil (test: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (test()) return
    if (this.exitCode !== undefined) throw new ProcessExitedError(`${this.#label} exited (${this.exitCode}) before ${what}; stderr: ${this.#stderr.slice(-2000)}`)
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    const waiter: Waiter = { test, resolve, reject }
    this.#waiters.add(waiter)
    const timer = setTimeout(() => { reject(new WaitTimeoutError(`${this.#label}: no ${what} within ${timeoutMs} ms; stderr: ${this.#stderr.slice(-2000)}`)) }, timeoutMs)
    try {
      await promise
    } finally {
      clearTimeout(timer)
      this.#waiters.delete(waiter)
    }
  }

  /** Resolves with the first stdout line (kept in `lines`) matching `predicate`. */
  async waitForLine (predicate: (line: string) => boolean, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<string> {
    let found: string | undefined
    await this.waitUntil(() => (found = this.lines.find(predicate)) != null, 'matching output line', timeoutMs)
    return found as string
  }

  #check (): void {
    for (const w of this.#waiters) {
      if (w.test()) {
        w.resolve()
      } else if (this.exitCode !== undefined) {
        w.reject(new ProcessExitedError(`${this.#label} exited (${this.exitCode}); stderr: ${this.#stderr.slice(-2000)}`))
      }
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop (graceMs = DEFAULT_STOP_GRACE_MS): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, graceMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Collects stdout lines of any lab process. */
export class LineProcess extends ProcHandle {
  constructor (lab: Lab, host: string | Host, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv, cwd?: string, label?: string } = {}) {
    super(lab, host, cmd, args, opts)
    let buf = ''
    this.child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString()
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        this.addLine(buf.slice(0, i))
        buf = buf.slice(i + 1)
      }
      if (buf.length > DEFAULT_STDERR_CHARS) {
        this.addLine(buf)
        buf = ''
      }
    })
  }
}

/** A natkit role process; its `--json` event stream is parsed into `events`. */
export class RoleHandle extends ProcHandle {
  /** Events received so far (bounded by DEFAULT_MAX_EVENTS). */
  readonly events: NatkitEvent[] = []
  readonly #listeners = new Set<(e: NatkitEvent) => void>()

  constructor (lab: Lab, host: string | Host, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv, cwd?: string, label?: string } = {}) {
    super(lab, host, cmd, args, opts)
    const feed = parseEventStream((e) => {
      this.events.push(e)
      if (this.events.length > DEFAULT_MAX_EVENTS) this.events.shift()
      for (const fn of this.#listeners) fn(e)
      this.notify()
    }, (line) => { this.addLine(line) })
    this.child.stdout?.on('data', feed)
  }

  /** Calls `fn` with every event from now on, in arrival order; returns a function that stops it. */
  onEvent (fn: (e: NatkitEvent) => void): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  /** The first event named `name` matching `predicate` (already received or future). */
  async waitForEvent<E extends NatkitEventName>(name: E, predicate: (e: NatkitEvent<E>) => boolean = () => true, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<NatkitEvent<E>> {
    let found: NatkitEvent<E> | undefined
    await this.waitUntil(() => {
      found = this.events.find(e => e.event === name && predicate(e as unknown as NatkitEvent<E>)) as unknown as NatkitEvent<E> | undefined
      return found != null
    }, `${name} event`, timeoutMs)
    return found as NatkitEvent<E>
  }

  /** The peer id reported by the role (from its first event), if any. */
  get peerId (): string | undefined {
    return this.events.find(e => e.peerId !== '')?.peerId
  }
}

export interface SpawnRoleOptions {
  env?: NodeJS.ProcessEnv
  /** Add `--json` unless present. @default true */
  json?: boolean
  /** Working directory of the role. @default the repository root */
  cwd?: string
}

/**
 * Runs a natkit role (`relay`, `bootstrap`, `peer`, `autonat`, or a path to a
 * bin script) with this Node binary inside the host's namespace.
 */
export function spawnRole (lab: Lab, host: string | Host, bin: RoleName | string, args: string[] = [], opts: SpawnRoleOptions = {}): RoleHandle {
  const script = bin in ROLE_BINARIES ? runnableRoleBinary(bin as RoleName) : bin
  if (!existsSync(script)) throw new RoleBinaryNotFoundError(`role binary ${script} not found (build the apps first: npm run build)`)
  const fullArgs = (opts.json ?? true) && !args.includes('--json') ? [...args, '--json'] : args
  const hostName = typeof host === 'string' ? host : host.name
  // with the Node flags of the script's shebang, as when run from the command line
  return new RoleHandle(lab, host, process.execPath, [...nodeArgv(script), ...fullArgs], {
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    cwd: opts.cwd ?? REPO_ROOT,
    label: `${bin} in ${hostName}`
  })
}
