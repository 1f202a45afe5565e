/**
 * Link delay and loss for the NAT lab without `netem`.
 *
 * The lab kernels have no `netem` (nor `fq`, `cake`, `etf`; only `tbf`,
 * `htb`, `red`, `choke`, `pfifo`, none of which can hold a packet for a fixed
 * time), so a small userspace program (`tools/lab/delayline/delayline.py`,
 * Python 3 standard library only) is spliced into the node's link on the
 * internet bridge:
 *
 *     router wan / host eth0  <-veth->  pN  [delay line]  TAP  <->  br0 (internet)
 *
 * The program runs in the lab's internet namespace. It creates a TAP device
 * and opens an AF_PACKET socket on the node's bridge port `pN`; then the
 * TAP is added to `br0` and `pN` is taken out of it. Every Ethernet frame is
 * held for the one-way delay in each direction (and optionally dropped at
 * random). The router's namespace (interfaces, addresses, nftables, conntrack)
 * is not touched, so NAT behaviour stays exactly as built.
 *
 * Teardown: the program is a lab child process (killed by `lab.destroy()`),
 * the TAP device lives in the internet namespace and disappears with the
 * program or the namespace, so `lab.destroy()` leaves nothing behind.
 */
import { access, constants } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { command } from './exec.js'
import { INTERNET_NS_SUFFIX } from './netns.js'
import { LineProcess } from './procs.js'
import type { Lab } from './netns.js'

/** The delay-line program (this file is at tools/lab/{src,dist}/delay.*). */
export const DELAY_LINE_SCRIPT = fileURLToPath(new URL('../delayline/delayline.py', import.meta.url))
/** Python interpreter used to run the delay line. */
export const DEFAULT_DELAY_PYTHON = 'python3'
/** Most frames queued per direction before further frames are dropped (counted as overflow). */
export const DEFAULT_DELAY_QUEUE_LIMIT = 10_000
/** Longest wait for the delay line to report `ready`. */
export const DEFAULT_DELAY_START_TIMEOUT_MS = 10_000
/** Longest wait for a stats line. */
export const DEFAULT_DELAY_STATS_TIMEOUT_MS = 5_000
/** Time between SIGTERM and SIGKILL when stopping the delay line. */
export const DEFAULT_DELAY_STOP_GRACE_MS = 3_000
/** Largest accepted one-way delay. */
export const MAX_DELAY_MS = 60_000
/** The internet bridge in the lab's internet namespace. */
export const INTERNET_BRIDGE = 'br0'

/**
 * Delay profiles. One-way delays are applied in both directions of a node's
 * link to the internet, so the RTT through it grows by twice the value.
 *
 * `interop` mirrors libp2p's hole-punch interop (test-plans): each router
 * gets `tc netem delay DELAY_MS/2` on both of its interfaces with
 * DELAY_MS = 100, i.e. +50 ms per traversal and +100 ms RTT through it; the
 * relay gets `netem delay 25ms` on its only interface (egress only), i.e.
 * +25 ms RTT, which here is split as 12.5 ms each way.
 * Peer-to-peer RTT across two routers: +200 ms; peer-to-relay: +125 ms.
 */
export const DELAY_PROFILES = {
  /** No delay line at all. */
  zero: { routerOneWayMs: 0, relayOneWayMs: 0 },
  /** libp2p hole-punch interop: routers +100 ms RTT, relay +25 ms RTT. */
  interop: { routerOneWayMs: 50, relayOneWayMs: 12.5 }
} as const satisfies Record<string, DelayProfile>

export type DelayProfileName = keyof typeof DELAY_PROFILES

export interface DelayProfile {
  /** One-way delay added on each router's link to the internet, both directions. */
  routerOneWayMs: number
  /** One-way delay added on the relay host's link, both directions. */
  relayOneWayMs: number
}

/** python3, TUN/TAP or the delay-line program is missing. */
export class DelayUnavailableError extends Error {
  override name = 'DelayUnavailableError'
}

/** The node cannot get a delay line (LAN host, unknown, or not attached to the internet bridge). */
export class DelayTargetError extends Error {
  override name = 'DelayTargetError'
}

/** The node's link already has a delay line. */
export class DelayAlreadyActiveError extends Error {
  override name = 'DelayAlreadyActiveError'
}

/** The delay line failed to start or to splice into the bridge. */
export class DelayLineStartError extends Error {
  override name = 'DelayLineStartError'
}

/** stats() on a delay line that has exited. */
export class DelayLineNotRunningError extends Error {
  override name = 'DelayLineNotRunningError'
}

export interface LinkDelayOptions {
  /** One-way delay in milliseconds, applied to both directions (RTT grows by 2 × delayMs). */
  delayMs: number
  /** Random loss per frame, applied to each direction independently (round-trip loss ≈ 1 - (1 - p)²). @default 0 */
  lossPercent?: number
  /** Seed of the loss generator, for reproducible loss patterns. @default random */
  seed?: number
  /** @default DEFAULT_DELAY_QUEUE_LIMIT */
  queueLimit?: number
  /** @default DEFAULT_DELAY_PYTHON */
  python?: string
  /** @default DEFAULT_DELAY_START_TIMEOUT_MS */
  startTimeoutMs?: number
}

/** Counters of one direction. */
export interface DelayDirectionStats {
  /** Frames read. */
  received: number
  /** Frames written to the other side after the delay. */
  forwarded: number
  /** Frames dropped by the random loss. */
  lost: number
  /** Frames dropped because the queue was full. */
  overflow: number
  /** Frames the other side refused. */
  errors: number
  /** Frames waiting right now. */
  queued: number
  maxQueued: number
}

export interface DelayLineStats {
  /** Frames from the node towards the internet. */
  toInternet: DelayDirectionStats
  /** Frames from the internet towards the node. */
  fromInternet: DelayDirectionStats
  uptimeMs: number
}

export interface DelayLine {
  /** The router or internet host whose link is delayed. */
  readonly node: string
  readonly delayMs: number
  readonly lossPercent: number
  /** The node's port on the internet bridge (taken out of it while the line runs). */
  readonly port: string
  /** The TAP device standing in for `port` on the bridge. */
  readonly tap: string
  /** Process id of the delay-line program (it runs in the lab's internet namespace). */
  readonly pid: number | undefined
  /** Current counters. */
  stats: () => Promise<DelayLineStats>
  /**
   * Stops the line and puts the node's port back on the bridge; resolves with
   * the final counters (undefined if the program died). Idempotent. If the
   * program dies on its own, the port is put back automatically.
   */
  stop: () => Promise<DelayLineStats | undefined>
}

interface IpLink {
  ifindex: number
  ifname: string
  link_index?: number
  master?: string
}

const active = new WeakMap<Lab, Set<string>>()

async function ipLinks (ns: string, dev?: string): Promise<IpLink[]> {
  const out = await command('ip', ['-j', '-n', ns, 'link', 'show', ...(dev != null ? ['dev', dev] : [])])
  return JSON.parse(out) as IpLink[]
}

/** Throws DelayUnavailableError unless `python` runs and /dev/net/tun and the program exist. */
export async function checkDelayPrerequisites (python = DEFAULT_DELAY_PYTHON): Promise<void> {
  try {
    await command(python, ['-c', 'import fcntl, select, socket, struct; socket.AF_PACKET'], { timeoutMs: 10_000 })
  } catch (err) {
    throw new DelayUnavailableError(`link delay needs Python 3 ("${python}" failed: ${(err as Error).message}); install it: apt-get install -y python3`)
  }
  try {
    await access('/dev/net/tun', constants.R_OK | constants.W_OK)
  } catch {
    throw new DelayUnavailableError('link delay needs TUN/TAP (/dev/net/tun is missing or not accessible)')
  }
  try {
    await access(DELAY_LINE_SCRIPT, constants.R_OK)
  } catch {
    throw new DelayUnavailableError(`delay-line program not found at ${DELAY_LINE_SCRIPT}`)
  }
}

function parseStats (line: string): (DelayLineStats & { final: boolean, request?: string }) | undefined {
  try {
    const v = JSON.parse(line)
    if (v?.event === 'stats') return { toInternet: v.toInternet, fromInternet: v.fromInternet, uptimeMs: v.uptimeMs, final: v.final === true, request: v.request }
  } catch {}
  return undefined
}

/**
 * Splices a delay line into the link between `node` (a router, or a host on
 * the internet segment such as the relay) and the internet bridge. Both
 * directions are delayed by `delayMs`; the router's NAT is not touched.
 */
export async function addLinkDelay (lab: Lab, node: string, opts: LinkDelayOptions): Promise<DelayLine> {
  const { delayMs } = opts
  const lossPercent = opts.lossPercent ?? 0
  const queueLimit = opts.queueLimit ?? DEFAULT_DELAY_QUEUE_LIMIT
  if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) throw new RangeError(`delayMs must be 0..${MAX_DELAY_MS}, got ${delayMs}`)
  if (!Number.isFinite(lossPercent) || lossPercent < 0 || lossPercent > 100) throw new RangeError(`lossPercent must be 0..100, got ${lossPercent}`)
  if (!Number.isInteger(queueLimit) || queueLimit < 1 || queueLimit > 1_000_000) throw new RangeError(`queueLimit must be an integer 1..1000000, got ${queueLimit}`)
  if (opts.seed != null && !Number.isSafeInteger(opts.seed)) throw new RangeError(`seed must be an integer, got ${opts.seed}`)

  const router = lab.topology.routers.find(r => r.name === node)
  const host = lab.topology.hosts.find(h => h.name === node)
  if (router == null && host == null) throw new DelayTargetError(`no router or host "${node}" in topology ${lab.topology.name}`)
  if (router == null && host?.segment !== 'internet') throw new DelayTargetError(`"${node}" is on the LAN of ${host?.segment}; delay its router instead`)
  const lines = active.get(lab) ?? new Set<string>()
  active.set(lab, lines)
  if (lines.has(node)) throw new DelayAlreadyActiveError(`"${node}" already has a delay line`)
  lines.add(node)
  try {
    return await startDelayLine(lab, node, router != null ? 'wan' : 'eth0', lossPercent, queueLimit, opts, () => { lines.delete(node) })
  } catch (err) {
    lines.delete(node)
    throw err
  }
}

async function startDelayLine (lab: Lab, node: string, uplinkName: string, lossPercent: number, queueLimit: number, opts: LinkDelayOptions, onGone: () => void): Promise<DelayLine> {
  const { delayMs } = opts
  const python = opts.python ?? DEFAULT_DELAY_PYTHON
  await checkDelayPrerequisites(python)

  // the node's veth end on the internet bridge: the peer of its wan/eth0
  const inet = lab.nsName(INTERNET_NS_SUFFIX)
  const [uplink] = await ipLinks(lab.nsName(node), uplinkName)
  const port = (await ipLinks(inet)).find(l => l.ifindex === uplink?.link_index)
  if (uplink == null || port == null) throw new DelayTargetError(`cannot find the bridge port of "${node}" in ${inet}`)
  if (port.master !== INTERNET_BRIDGE) throw new DelayAlreadyActiveError(`bridge port ${port.ifname} of "${node}" is not on ${INTERNET_BRIDGE} (another delay line?)`)
  const tap = `dl-${port.ifname}`.slice(0, 15)

  const args = ['-u', DELAY_LINE_SCRIPT, '--port', port.ifname, '--tap', tap, '--delay-ms', String(delayMs), '--loss-percent', String(lossPercent), '--queue-limit', String(queueLimit)]
  if (opts.seed != null) args.push('--seed', String(opts.seed))
  let proc: LineProcess | undefined
  let spliced = false
  const unsplice = async (): Promise<void> => {
    if (!spliced || lab.destroyed) return
    spliced = false
    await command('ip', ['-n', inet, 'link', 'set', 'dev', port.ifname, 'master', INTERNET_BRIDGE])
  }
  try {
    proc = new LineProcess(lab, INTERNET_NS_SUFFIX, python, args, { label: `delay line for ${node}` })
    const first = await proc.waitForLine(l => /"event":"(ready|error)"/.test(l), opts.startTimeoutMs ?? DEFAULT_DELAY_START_TIMEOUT_MS)
    if (first.includes('"event":"error"')) throw new DelayLineStartError(`delay line for ${node}: ${first}`)
    // TAP onto the bridge first, then the port off it: no frame is lost while splicing
    await command('ip', ['-n', inet, 'link', 'set', 'dev', tap, 'master', INTERNET_BRIDGE, 'up'])
    spliced = true
    await command('ip', ['-n', inet, 'link', 'set', 'dev', port.ifname, 'nomaster'])
  } catch (err) {
    await proc?.stop().catch(() => {})
    await unsplice().catch(() => {})
    if (err instanceof DelayLineStartError) throw err
    throw new DelayLineStartError(`delay line for ${node} did not start: ${(err as Error).message}`)
  }

  const p = proc
  let requests = 0
  let stopping: Promise<DelayLineStats | undefined> | undefined
  const toStats = (s: ReturnType<typeof parseStats>): DelayLineStats | undefined =>
    s == null ? undefined : { toInternet: s.toInternet, fromInternet: s.fromInternet, uptimeMs: s.uptimeMs }
  // the program died on its own (not via stop or lab.destroy): give the node its link back
  p.exited.then(async () => {
    if (stopping != null) return
    onGone()
    await unsplice()
  }).catch(() => {})

  return {
    node,
    delayMs,
    lossPercent,
    port: port.ifname,
    tap,
    pid: p.pid,
    stats: async () => {
      if (p.exitCode !== undefined) throw new DelayLineNotRunningError(`delay line for ${node} is not running (exit ${p.exitCode}); stderr: ${p.stderr.slice(-500)}`)
      const id = `r${++requests}`
      p.send(`stats ${id}`)
      const line = await p.waitForLine(l => parseStats(l)?.request === id, DEFAULT_DELAY_STATS_TIMEOUT_MS)
      return toStats(parseStats(line)) as DelayLineStats
    },
    stop: async () => {
      stopping ??= (async () => {
        try {
          await p.stop(DEFAULT_DELAY_STOP_GRACE_MS)
          await unsplice()
          return toStats(p.lines.map(parseStats).filter(s => s?.final === true).at(-1))
        } finally {
          onGone()
        }
      })()
      return await stopping
    }
  }
}

/**
 * Applies a profile: each router gets `routerOneWayMs`, each host with role
 * `relay` gets `relayOneWayMs` (zero: nothing). With `lossPercent`, every one
 * of those links and each peer on the internet segment (a peer without NAT)
 * gets a delay line even at zero delay, so the loss applies to every path; with
 * a `seed`, link number i uses seed + i.
 */
export async function applyDelayProfile (lab: Lab, profile: DelayProfile | DelayProfileName, opts: Omit<LinkDelayOptions, 'delayMs'> = {}): Promise<DelayLine[]> {
  const p = typeof profile === 'string' ? DELAY_PROFILES[profile] : profile
  const targets: Array<[string, number]> = [
    ...lab.topology.routers.map(r => [r.name, p.routerOneWayMs] as [string, number]),
    ...lab.topology.hosts.filter(h => h.role === 'relay' && h.segment === 'internet').map(h => [h.name, p.relayOneWayMs] as [string, number]),
    ...lab.topology.hosts.filter(h => h.role === 'peer' && h.segment === 'internet').map(h => [h.name, 0] as [string, number])
  ]
  const result: DelayLine[] = []
  try {
    for (const [node, delayMs] of targets) {
      const seed = opts.seed != null ? opts.seed + result.length : undefined
      if (delayMs > 0 || (opts.lossPercent ?? 0) > 0) result.push(await addLinkDelay(lab, node, { ...opts, seed, delayMs }))
    }
  } catch (err) {
    for (const d of result) await d.stop().catch(() => {})
    throw err
  }
  return result
}
