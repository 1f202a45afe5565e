/**
 * The no-egress sandbox `npm test` runs the suite in.
 *
 *     [sandbox netns]                          [sink netns]
 *     lo (up)                                  lo (up)
 *     eth0 10.254.254.2/30  <---- veth ---->   sandbox0 10.254.254.1/30
 *          fd6e:6b73:6278::2/64                         fd6e:6b73:6278::1/64
 *     default via 10.254.254.1                 nftables netdev ingress on sandbox0:
 *     default via fd6e:6b73:6278::1              ARP, IPv6 ND and MLD: accepted (link-level)
 *                                                everything else: counted, its destination
 *                                                remembered (bounded set), dropped
 *
 * Both namespaces are created with `ip netns add` and linked only to each
 * other: neither has a link to the host namespace, and the sink forwards
 * nothing (forwarding is off in a new namespace, and the ingress hook drops
 * before routing). Every packet a test sends to an address that is neither
 * loopback nor one of the test's own namespaces follows a default route (IPv4
 * and IPv6; multicast such as SSDP 239.255.255.250:1900 and mDNS
 * 224.0.0.251:5353 / ff02::fb too) and is counted by the sink.
 *
 * What is not counted, and why:
 * - ARP, IPv6 neighbour discovery (types 133-137) and MLD (130-132, 143): the
 *   kernel's own link-level traffic for the veth (address resolution of the
 *   sink, duplicate address detection, joining the solicited-node groups).
 *   IPv4 IGMP is counted: the kernel sends it only when a socket joins a
 *   multicast group, which a test should not do outside a lab namespace.
 * - Packets the tests send inside their own namespaces (the NAT lab's): those
 *   namespaces are linked only to each other (tools/lab), never to the sandbox.
 *
 * Names are `nksbx-<pid>-<random>` (+ `-sink`), unique per run, so concurrent
 * runs do not collide; {@link cleanupStaleSandboxes} removes those of runs
 * whose process is gone. Not a lab prefix (`nk<4 hex>-`): lab cleanup never
 * touches a sandbox.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'

/** Start of every sandbox namespace name. */
export const SANDBOX_PREFIX = 'nksbx-'
/** The sandbox's end of the veth, inside the sandbox. */
export const SANDBOX_IFNAME = 'eth0'
/** The sink's end of the veth. */
export const SINK_IFNAME = 'sandbox0'
/** The sandbox's IPv4 address (a /30 shared with the sink). @default '10.254.254.2' */
export const SANDBOX_IPV4 = '10.254.254.2'
/** The sink's IPv4 address, the sandbox's IPv4 default gateway. @default '10.254.254.1' */
export const SINK_IPV4 = '10.254.254.1'
/** The sandbox's IPv6 address (ULA, a /64 shared with the sink). @default 'fd6e:6b73:6278::2' */
export const SANDBOX_IPV6 = 'fd6e:6b73:6278::2'
/** The sink's IPv6 address, the sandbox's IPv6 default gateway. @default 'fd6e:6b73:6278::1' */
export const SINK_IPV6 = 'fd6e:6b73:6278::1'
/** Most distinct destinations the sink remembers per address family (the count has no bound). @default 256 */
export const DEFAULT_MAX_DESTINATIONS = 256
/** Bound on each `ip`/`nft` command the sandbox runs. @default 10_000 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000
/** How long {@link Sandbox.destroy} lets processes still in the sandbox end after SIGTERM (e.g. a lab tearing down) before SIGKILL. @default 10_000 */
export const DEFAULT_STOP_GRACE_MS = 10_000
/** Where {@link Sandbox.verify} sends its canary: TEST-NET-1 (RFC 5737), discard port. */
export const CANARY_DESTINATION = { address: '192.0.2.1', protocol: 'udp', port: 9 } as const
/** The nftables table in the sink. */
export const SINK_TABLE = 'natkit_sink'

const NAME_PATTERN = /^nksbx-(\d+)-[0-9a-f]+(-sink)?$/
const NETNS_DIR = '/run/netns'

export class SandboxError extends Error {
  static override name = 'SandboxError'
  override name = 'SandboxError'
}

/** One destination seen by the sink. `port` is 0 for protocols without ports. */
export interface Destination {
  address: string
  protocol: string
  port: number
}

/** What left the sandbox. */
export interface Escapes {
  packets: number
  bytes: number
  /** Distinct destinations, at most {@link DEFAULT_MAX_DESTINATIONS} per address family. */
  destinations: Destination[]
}

function run (cmd: string, args: string[], input?: string): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: DEFAULT_COMMAND_TIMEOUT_MS, stdio: ['pipe', 'pipe', 'pipe'] })
  if (res.error != null) throw new SandboxError(`${cmd} ${args.join(' ')}: ${res.error.message}`)
  if (res.status !== 0) throw new SandboxError(`${cmd} ${args.join(' ')} failed (exit ${res.status ?? res.signal}): ${res.stderr.trim()}`)
  return res.stdout
}

/** Whether `cmd args` runs and exits 0 (within 5 s). */
export function commandWorks (cmd: string, args: string[]): boolean {
  const res = spawnSync(cmd, args, { stdio: 'ignore', timeout: 5_000 })
  return res.error == null && res.status === 0
}

/** Why a sandbox cannot be created here, or undefined when it can. */
export function sandboxUnavailableReason (): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces'
  if (process.getuid?.() !== 0) return 'needs root (network namespaces + nftables)'
  if (!commandWorks('ip', ['-V'])) return 'needs iproute2 (apt-get install -y iproute2)'
  if (!commandWorks('nft', ['--version'])) return 'needs nftables (apt-get install -y nftables)'
  return undefined
}

/** The sink's ruleset: count, remember and drop everything but link-level ARP/ND/MLD. */
export function sinkRuleset (ifname = SINK_IFNAME, maxDestinations = DEFAULT_MAX_DESTINATIONS): string {
  const ported = 'meta l4proto { tcp, udp, sctp, dccp }'
  return `table netdev ${SINK_TABLE} {
  counter escaped { }
  set dst4 { type ipv4_addr . inet_proto . inet_service; flags dynamic; size ${maxDestinations}; }
  set dst6 { type ipv6_addr . inet_proto . inet_service; flags dynamic; size ${maxDestinations}; }
  chain ingress {
    type filter hook ingress device "${ifname}" priority 0; policy drop;
    meta protocol arp accept
    meta protocol ip6 icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect, mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } accept
    meta protocol ip ${ported} counter name escaped add @dst4 { ip daddr . meta l4proto . th dport } drop
    meta protocol ip6 ${ported} counter name escaped add @dst6 { ip6 daddr . meta l4proto . th dport } drop
    meta protocol ip counter name escaped add @dst4 { ip daddr . meta l4proto . 0 } drop
    meta protocol ip6 counter name escaped add @dst6 { ip6 daddr . meta l4proto . 0 } drop
    counter name escaped drop
  }
}
`
}

function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function netnsPids (ns: string): number[] {
  const out = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: DEFAULT_COMMAND_TIMEOUT_MS }).stdout ?? ''
  return out.split('\n').map(Number).filter(p => p > 0 && p !== process.pid)
}

function signalAll (pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try { process.kill(pid, sig) } catch {}
  }
}

/** Synchronous sleep (teardown runs in exit handlers, where nothing async runs). */
function sleepSync (ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/** Ends the processes in `ns` (SIGTERM, then SIGKILL after `graceMs`) and deletes it. */
function deleteNamespace (ns: string, graceMs = 0): void {
  let pids = netnsPids(ns)
  if (pids.length > 0 && graceMs > 0) {
    signalAll(pids, 'SIGTERM')
    const end = Date.now() + graceMs
    while (pids.length > 0 && Date.now() < end) {
      sleepSync(100)
      pids = netnsPids(ns)
    }
  }
  signalAll(pids, 'SIGKILL')
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: DEFAULT_COMMAND_TIMEOUT_MS })
}

function netnsNames (): string[] {
  try {
    return readdirSync(NETNS_DIR)
  } catch {
    return []
  }
}

/** Removes sandboxes left by runs whose process is gone (e.g. SIGKILLed). Returns the namespaces removed. */
export function cleanupStaleSandboxes (): string[] {
  const removed: string[] = []
  for (const ns of netnsNames()) {
    const m = NAME_PATTERN.exec(ns)
    if (m == null || pidAlive(Number(m[1]))) continue
    deleteNamespace(ns)
    removed.push(ns)
  }
  return removed
}

interface NftElem { concat?: unknown[], elem?: { val?: { concat?: unknown[] } } }
interface NftItem { counter?: { name?: string, packets?: number, bytes?: number }, set?: { name?: string, elem?: unknown[] } }

/** Parses `nft -j list table netdev natkit_sink` output. */
export function parseSinkState (json: string): Escapes {
  const items: NftItem[] = JSON.parse(json).nftables ?? []
  const counter = items.find(i => i.counter?.name === 'escaped')?.counter
  if (counter == null) throw new SandboxError(`the sink has no "escaped" counter: ${json.slice(0, 200)}`)
  const destinations: Destination[] = []
  for (const set of items.filter(i => i.set?.name === 'dst4' || i.set?.name === 'dst6').map(i => i.set)) {
    for (const e of (set?.elem ?? []) as NftElem[]) {
      const c = e.concat ?? e.elem?.val?.concat
      if (!Array.isArray(c)) continue
      destinations.push({ address: String(c[0]), protocol: String(c[1]), port: Number(c[2]) })
    }
  }
  return { packets: Number(counter.packets), bytes: Number(counter.bytes), destinations }
}

/** One line per destination, e.g. `udp 192.0.2.1:9`, `udp [ff02::fb]:5353`, `icmp 192.0.2.1`. */
export function formatDestination (d: Destination): string {
  if (d.port === 0) return `${d.protocol} ${d.address}`
  return `${d.protocol} ${d.address.includes(':') ? `[${d.address}]` : d.address}:${d.port}`
}

/** A sandbox namespace whose only way out is a counting, dropping sink. */
export class Sandbox {
  /** The sandbox namespace: run things here. */
  readonly name: string
  /** The sink namespace. */
  readonly sink: string
  #destroyed = false

  private constructor (name: string) {
    this.name = name
    this.sink = `${name}-sink`
  }

  /**
   * Creates the sandbox and its sink (see the module comment). Removes
   * whatever it built when a step fails.
   */
  static create (opts: { id?: string } = {}): Sandbox {
    const id = opts.id ?? randomBytes(3).toString('hex')
    const sb = new Sandbox(`${SANDBOX_PREFIX}${process.pid}-${id}`)
    try {
      sb.#build()
    } catch (err) {
      sb.destroy()
      throw err
    }
    return sb
  }

  #build (): void {
    const { name: ns, sink } = this
    run('ip', ['netns', 'add', ns])
    run('ip', ['netns', 'add', sink])
    for (const n of [ns, sink]) run('ip', ['-n', n, 'link', 'set', 'lo', 'up'])
    // created inside the sandbox, peer moved straight into the sink: the host namespace is never touched
    run('ip', ['-n', ns, 'link', 'add', SANDBOX_IFNAME, 'type', 'veth', 'peer', 'name', SINK_IFNAME, 'netns', sink])
    // the ruleset goes in before any link is up, so no packet passes uncounted
    run('ip', ['netns', 'exec', sink, 'nft', '-f', '-'], sinkRuleset())
    run('ip', ['-n', ns, 'addr', 'add', `${SANDBOX_IPV4}/30`, 'dev', SANDBOX_IFNAME])
    run('ip', ['-n', sink, 'addr', 'add', `${SINK_IPV4}/30`, 'dev', SINK_IFNAME])
    run('ip', ['-n', ns, 'addr', 'add', `${SANDBOX_IPV6}/64`, 'dev', SANDBOX_IFNAME, 'nodad'])
    run('ip', ['-n', sink, 'addr', 'add', `${SINK_IPV6}/64`, 'dev', SINK_IFNAME, 'nodad'])
    run('ip', ['-n', sink, 'link', 'set', SINK_IFNAME, 'up'])
    run('ip', ['-n', ns, 'link', 'set', SANDBOX_IFNAME, 'up'])
    run('ip', ['-n', ns, 'route', 'add', 'default', 'via', SINK_IPV4])
    run('ip', ['-n', ns, '-6', 'route', 'add', 'default', 'via', SINK_IPV6])
  }

  /** `file` and `args` that run `cmd args` inside the sandbox. */
  command (cmd: string, args: string[] = []): { file: string, args: string[] } {
    return { file: 'ip', args: ['netns', 'exec', this.name, cmd, ...args] }
  }

  /** What the sink counted so far. */
  escapes (): Escapes {
    return parseSinkState(run('ip', ['netns', 'exec', this.sink, 'nft', '-j', 'list', 'table', 'netdev', SINK_TABLE]))
  }

  /** Zeroes the count and forgets the destinations. */
  reset (): void {
    run('ip', ['netns', 'exec', this.sink, 'nft', '-f', '-'], `reset counter netdev ${SINK_TABLE} escaped\nflush set netdev ${SINK_TABLE} dst4\nflush set netdev ${SINK_TABLE} dst6\n`)
  }

  /**
   * Proves the guard is live before it is relied on: sends one UDP datagram
   * to {@link CANARY_DESTINATION} from inside the sandbox with `node`, checks
   * that the sink counted exactly it, then {@link reset}s. Throws
   * {@link SandboxError} otherwise.
   */
  verify (node = process.execPath): void {
    const d = CANARY_DESTINATION
    const script = `const s = require('node:dgram').createSocket('udp4'); s.send('natkit no-egress canary', ${d.port}, '${d.address}', (err) => { if (err) throw err; s.close() })`
    run('ip', ['netns', 'exec', this.name, node, '-e', script])
    let e = this.escapes()
    const end = Date.now() + DEFAULT_COMMAND_TIMEOUT_MS
    while (e.packets === 0 && Date.now() < end) {
      sleepSync(20)
      e = this.escapes()
    }
    const seen = e.destinations.map(formatDestination).join(', ')
    if (e.packets !== 1 || seen !== formatDestination(d)) {
      throw new SandboxError(`the sink did not count the canary datagram to ${formatDestination(d)} as the only packet (counted ${e.packets}: ${seen}): the no-egress guard would not see escaping packets`)
    }
    this.reset()
  }

  /**
   * Ends what still runs in the sandbox (SIGTERM, then SIGKILL after
   * `graceMs`; 0 kills at once) and deletes the sandbox and the sink (the
   * veth goes with them). Idempotent, synchronous.
   */
  destroy (graceMs = 0): void {
    if (this.#destroyed) return
    this.#destroyed = true
    deleteNamespace(this.name, graceMs)
    deleteNamespace(this.sink)
  }
}
