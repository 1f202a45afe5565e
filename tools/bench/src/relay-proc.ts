/**
 * The relay under test as a child process (the real `natkit-relay` binary, or
 * go-libp2p's relay from tools/interop), and its CPU time and RSS read from
 * /proc/<pid>/stat: what the kernel accounts to the relay, not what it reports.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readProcStat, type ProcStat } from '@natkit/testkit/proc'
import { join } from 'node:path'
import { interopBinDir } from '@natkit/lab'
import { BINS, nodeArgv } from '@natkit/testkit/roles'
import type { RelayImpl } from './args.js'

/**
 * Bound on the relay's start to `listening`.
 *
 * @default 30000
 */
export const DEFAULT_START_TIMEOUT_MS = 30_000
/**
 * Grace between SIGTERM and SIGKILL when stopping the relay (a CPU profile is written on a clean exit).
 *
 * @default 20000
 */
export const DEFAULT_STOP_GRACE_MS = 20_000
/** The go relay's binary name in the interop bin directory. */
export const GO_RELAY_BINARY = 'bench-relay'

export class RelayStartError extends Error {
  static override name = 'RelayStartError'
  override name = 'RelayStartError'
}

/** The limits the relay runs with: raised above the bench's load. */
export interface RelayLimits {
  reservations: number
  circuits: number
  concurrency: number
  /** data limit of one relayed connection (bytes; the throughput phase moves more than the relays' 128 KiB default) */
  circuitDataBytes: number
}

/** The command line of each relay, limits raised to the load (one IP, loopback, for every client). */
export function relayCommand (impl: RelayImpl, limits: RelayLimits, cpuProfDir?: string): { bin: string, args: string[] } {
  const res = String(limits.reservations + 16)
  const conns = String(Math.min(100_000, limits.reservations + 2 * limits.circuits + 64))
  if (impl === 'go') {
    return { bin: join(interopBinDir(), GO_RELAY_BINARY), args: ['--listen', '/ip4/127.0.0.1/tcp/0', '--max-reservations', res, '--max-circuits', String(Math.max(16, limits.circuits)), '--circuit-data', String(limits.circuitDataBytes)] }
  }
  const node = cpuProfDir != null ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []
  return {
    bin: process.execPath,
    // with the Node flags of its shebang (young-generation cap), as when run from the command line
    args: [...node, ...nodeArgv(BINS.relay), '--listen', '/ip4/127.0.0.1/tcp/0', '--json',
      '--max-connections', conns,
      '--max-reservations', res, '--max-reservations-per-ip', res, '--max-reservations-per-network', res,
      '--max-pending-inbound', String(limits.concurrency * 2 + limits.circuits),
      '--max-pending-inbound-per-ip', String(limits.concurrency * 2 + limits.circuits),
      '--max-circuits-per-peer', String(Math.max(16, limits.circuits)),
      // the circuit's HOP and STOP streams ride the clients' single connections
      '--max-inbound-hop-streams', String(Math.max(32, limits.circuits)),
      '--max-outbound-stop-streams', String(Math.max(64, limits.circuits)),
      '--circuit-data', String(limits.circuitDataBytes)]
  }
}

/** A running relay: its peer id, TCP address and process. */
export class RelayProcess {
  readonly child: ChildProcess
  readonly impl: RelayImpl
  peerId = ''
  addr = ''
  /** stdout lines seen (the relay's events; counted, not kept) */
  lines = 0
  #stderr = ''

  private constructor (impl: RelayImpl, child: ChildProcess) {
    this.impl = impl
    this.child = child
  }

  get pid (): number {
    if (this.child.pid == null) throw new RelayStartError('relay has no pid')
    return this.child.pid
  }

  /** Spawns the relay and waits (bounded) for its `listening` event with a TCP address. */
  static async start (impl: RelayImpl, limits: RelayLimits, cpuProfDir?: string, timeoutMs = DEFAULT_START_TIMEOUT_MS): Promise<RelayProcess> {
    const { bin, args } = relayCommand(impl, limits, cpuProfDir)
    if (!existsSync(impl === 'go' ? bin : BINS.relay)) {
      throw new RelayStartError(impl === 'go'
        ? `go relay ${bin} not built (build it: cd tools/interop/go && go build -mod=readonly -trimpath -o ../bin/${GO_RELAY_BINARY} ./benchrelay)`
        : `natkit-relay not built (${BINS.relay}): run npm run build`)
    }
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '', GOLOG_LOG_LEVEL: 'error' } })
    const relay = new RelayProcess(impl, child)
    child.stderr?.on('data', (d: Buffer) => { relay.#stderr = (relay.#stderr + d.toString()).slice(-4096) })
    await new Promise<void>((resolve, reject) => {
      let buffer = ''
      const timer = setTimeout(() => { fail(`no listening event within ${timeoutMs} ms`) }, timeoutMs)
      const fail = (why: string): void => { clearTimeout(timer); child.kill('SIGKILL'); reject(new RelayStartError(`${impl} relay: ${why}; stderr: ${relay.#stderr.trim().split('\n').slice(-3).join(' | ')}`)) }
      child.once('exit', (code) => { fail(`exited (${code}) before listening`) })
      child.stdout?.on('data', (d: Buffer) => {
        const text = buffer + d.toString()
        const lines = text.split('\n')
        buffer = lines.pop() ?? ''
        relay.lines += lines.length
        if (relay.addr !== '') return
        for (const line of lines) {
          if (!line.includes('"listening"')) continue
          const e = JSON.parse(line) as { peerId: string, addrs: string[] }
          const addr = e.addrs.find(a => a.startsWith('/ip4/127.0.0.1/tcp/') && !a.includes('/ws') && !a.includes('p2p-circuit'))
          if (addr == null) continue
          relay.peerId = e.peerId
          relay.addr = addr.replace(/\/p2p\/.*$/, '')
          clearTimeout(timer)
          child.removeAllListeners('exit')
          resolve()
          return
        }
      })
    })
    return relay
  }

  stat (): ProcStat {
    return readProcStat(this.pid)
  }

  /** SIGTERM, then SIGKILL after the grace; resolves with the exit code. */
  async stop (graceMs = DEFAULT_STOP_GRACE_MS): Promise<number | null> {
    if (this.child.exitCode != null || this.child.signalCode != null) return this.child.exitCode
    const exited = new Promise<number | null>(resolve => this.child.once('exit', resolve))
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, graceMs)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
    }
  }
}
