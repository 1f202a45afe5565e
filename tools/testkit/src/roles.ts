/**
 * Role binaries (apps/*) run as child processes with `--json`, for the apps'
 * end-to-end tests: `new RoleProcess('relay', [...])`, then wait on its events.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseEventStream, type NatkitEvent, type NatkitEventName } from '@natkit/events'
import { assertFreshBuild } from './freshness.js'

/** apps/ (same depth from src/ and dist/). */
const APPS = fileURLToPath(new URL('../../../apps/', import.meta.url))
/** Each role's binary. */
export const BINS = {
  bootstrap: `${APPS}bootstrap/bin/natkit-bootstrap.js`,
  relay: `${APPS}relay/bin/natkit-relay.js`,
  peer: `${APPS}peer/bin/natkit-peer.js`,
  autonat: `${APPS}autonat-probe/bin/natkit-autonat.js`
} as const

/**
 * The Node flags a script's shebang gives it (`#!/usr/bin/env -S node --flag`,
 * e.g. natkit-relay's young-generation cap): what starts a role binary with
 * `process.execPath` passes them too, so the role runs as it does from the
 * command line. None for a script without such a shebang.
 */
export function binNodeFlags (script: string): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0]
  const flags = /^#!\/usr\/bin\/env(?: -S)? node((?: --[\w-]+(?:=\S+)?)*)\s*$/.exec(first)?.[1] ?? ''
  return flags.split(' ').filter(f => f !== '')
}

/** `node`'s arguments to run `script` as its shebang would: {@link binNodeFlags}, then the script. */
export function nodeArgv (script: string): string[] {
  return [...binNodeFlags(script), script]
}

/**
 * A `node --import` hook that writes the URL of every module file the process
 * loaded to the file named by `NATKIT_TRACE_MODULES`, at exit.
 */
export const TRACE_MODULES_HOOK = fileURLToPath(new URL('../trace-modules.mjs', import.meta.url))

/** The npm packages among module URLs (`@scope/name` or `name`, from their node_modules path), sorted, each once. */
export function packagesOf (urls: string[]): string[] {
  const names = urls.map(u => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((n): n is string => n != null)
  return [...new Set(names)].sort()
}

export interface RoleProcessOptions {
  /** Pipe stdin, for {@link RoleProcess.send}. */
  stdin?: boolean
  /** Write the URLs of the modules the process loaded to this file when it exits (see {@link TRACE_MODULES_HOOK}). */
  traceModules?: string
}

/** Bound on the stderr kept per process, for failure messages. */
const MAX_STDERR = 16 * 1024

/** A role binary run with `--json`: its parsed events, exit, and helpers to wait on them. */
export class RoleProcess {
  readonly child: ChildProcess
  readonly events: NatkitEvent[] = []
  readonly other: string[] = []
  stderr = ''
  readonly exited: Promise<number | null>
  #waiters = new Set<() => void>()

  /**
   * Throws StaleBuildError (before spawning) when the binary would run a dist/ older than the sources.
   * With `stdin`, the process reads what {@link RoleProcess.send} writes (e.g. `natkit-peer shell --json`).
   */
  constructor (bin: keyof typeof BINS, args: string[], opts: RoleProcessOptions = {}) {
    assertFreshBuild(BINS[bin])
    const trace = opts.traceModules != null ? { node: ['--import', TRACE_MODULES_HOOK], env: { NATKIT_TRACE_MODULES: opts.traceModules } } : { node: [], env: {} }
    this.child = spawn(process.execPath, [...trace.node, ...nodeArgv(BINS[bin]), ...args, '--json'], { stdio: [opts.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '', ...trace.env } })
    this.child.stdout?.on('data', parseEventStream((e) => {
      this.events.push(e)
      for (const w of [...this.#waiters]) w()
    }, (line) => { this.other.push(line) }))
    this.child.stderr?.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-MAX_STDERR) })
    this.exited = new Promise((resolve) => { this.child.on('exit', (code) => { resolve(code); for (const w of [...this.#waiters]) w() }) })
  }

  /** Resolves with the first event (already seen or future, after index `from`) that matches, or rejects after `timeout`. */
  async waitFor<E extends NatkitEventName> (name: E, match: (e: NatkitEvent<E>) => boolean = () => true, timeout = 20_000, from = 0): Promise<NatkitEvent<E>> {
    // events are matched by name, so a found event is a NatkitEvent<E>
    const named = (e: NatkitEvent): NatkitEvent<E> | undefined => e.event === name ? e as unknown as NatkitEvent<E> : undefined
    const find = (): NatkitEvent<E> | undefined => this.events.slice(from).map(named).find(e => e != null && match(e))
    const found = find()
    if (found != null) return found
    return await new Promise((resolve, reject) => {
      const check = (): void => {
        const e = find()
        if (e != null) { done(); resolve(e) } else if (this.child.exitCode != null) { done(); reject(new Error(`process exited (${this.child.exitCode}) before ${name}; stderr: ${this.stderr}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`no ${name} event within ${timeout} ms; events: ${this.events.map(e => e.event).join(',')}; stderr: ${this.stderr}`)) }, timeout)
      const done = (): void => { clearTimeout(timer); this.#waiters.delete(check) }
      this.#waiters.add(check)
    })
  }

  /** Writes lines to the process's stdin (needs `stdin: true`); `end` closes it afterwards. */
  send (lines: string | string[], end = false): void {
    const stdin = this.child.stdin
    if (stdin == null) throw new Error('process was started without stdin')
    const text = (Array.isArray(lines) ? lines : [lines]).map(l => `${l}\n`).join('')
    if (end) stdin.end(text)
    else stdin.write(text)
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM', grace = 10_000): Promise<number | null> {
    if (this.child.exitCode != null || this.child.signalCode != null) return this.child.exitCode
    this.child.kill(signal)
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, grace)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }
}

/** The peer id and first TCP address of a role, from its `listening` event. */
export async function listeningAddr (p: RoleProcess): Promise<{ peerId: string, addr: string }> {
  const e = await p.waitFor('listening', (x) => x.addrs.some((a: string) => a.includes('/tcp/') && !a.includes('/ws') && !a.includes('p2p-circuit')))
  const addr = e.addrs.find((a: string) => a.includes('/tcp/') && !a.includes('/ws') && !a.includes('p2p-circuit'))
  if (addr == null) throw new Error('listening event without a TCP address')
  return { peerId: e.peerId, addr }
}

/** The role processes one test file starts: `start` spawns and keeps each, `stopAll` kills what still runs (from `afterAll`). */
export class RolePool {
  readonly #procs: RoleProcess[] = []

  readonly start = (bin: keyof typeof BINS, args: string[], opts: RoleProcessOptions = {}): RoleProcess => {
    const p = new RoleProcess(bin, args, opts)
    this.#procs.push(p)
    return p
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.#procs.splice(0).map(async p => await p.stop('SIGKILL')))
  }
}

/**
 * A free UDP port on `host` (bound then released: the caller's server binds
 * it right after), for a role's `--stun-listen`, which needs a known port.
 */
export async function freeUdpPort (host = '127.0.0.1'): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>(resolve => { s.bind(0, host, resolve) })
  const { port } = s.address()
  await new Promise<void>(resolve => { s.close(() => { resolve() }) })
  return port
}
