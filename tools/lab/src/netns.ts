import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { command, commandSync, LabCommandError } from './exec.js'
import { routerRuleset } from './nft.js'
import { validateTopology } from './topology.js'
import { startMiniupnpd } from './upnp.js'
import type { UpnpDaemon } from './upnp.js'
import type { Host, Router, Topology } from './topology.js'
import type { ChildProcess, SpawnOptions } from 'node:child_process'

/** Matches every prefix {@link Lab.create} generates: `nk` + 4 hex digits + `-`. */
export const LAB_PREFIX_PATTERN = /^nk[0-9a-f]{4}-/
/** What a caller-chosen prefix must look like (short, so derived names stay short). */
export const VALID_PREFIX_PATTERN = /^[a-z][a-z0-9]{1,7}-$/
/** Suffix of the namespace that holds the internet bridge. */
export const INTERNET_NS_SUFFIX = 'inet'
/** Default bound for {@link Lab.run}. */
export const DEFAULT_RUN_TIMEOUT_MS = 30_000
/** Default cap on captured stdout/stderr per stream in {@link Lab.run}. */
export const DEFAULT_RUN_MAX_OUTPUT = 1024 * 1024
/** Most children {@link Lab.exec} tracks at once (all are killed on destroy). */
export const DEFAULT_MAX_CHILDREN = 256

export class LabPrerequisiteError extends Error {
  override name = 'LabPrerequisiteError'
}

export class LabTeardownError extends Error {
  override name = 'LabTeardownError'
}

export class LabDestroyedError extends Error {
  override name = 'LabDestroyedError'
}

export class UnknownHostError extends Error {
  override name = 'UnknownHostError'
}

export class TooManyChildrenError extends Error {
  override name = 'TooManyChildrenError'
}

export interface LabInit {
  /** Name prefix for every namespace (and nft table). @default `nk` + 4 random hex digits + `-` */
  prefix?: string
  /** Receives progress lines. @default no logging */
  log?: (line: string) => void
  /** miniupnpd binary for `upnp` routers. @default DEFAULT_MINIUPNPD_PATH */
  miniupnpdPath?: string
}

export interface RunOptions {
  /** Kill the command (SIGKILL) after this long. @default DEFAULT_RUN_TIMEOUT_MS */
  timeoutMs?: number
  /** Written to stdin, which is then closed. */
  input?: string
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** @default DEFAULT_RUN_MAX_OUTPUT */
  maxOutput?: number
}

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
}

export interface Leftovers {
  /** Network namespaces whose name starts with the prefix. */
  namespaces: string[]
  /** Interfaces in the host's namespace whose name starts with the prefix (must never exist). */
  links: string[]
  /** nft tables in the host's namespace whose name contains the prefix (must never exist). */
  tables: string[]
}

/** Throws LabPrerequisiteError unless we are root and `ip` and `nft` work. */
export async function checkPrerequisites (): Promise<void> {
  if (process.platform !== 'linux') throw new LabPrerequisiteError('the NAT lab needs Linux network namespaces')
  if (process.getuid?.() !== 0) throw new LabPrerequisiteError('the NAT lab needs root (network namespaces and nftables); run it as root, e.g. in CI or a VM')
  for (const [cmd, args, pkg] of [['ip', ['-V'], 'iproute2'], ['nft', ['--version'], 'nftables']] as const) {
    try {
      await command(cmd, [...args])
    } catch {
      throw new LabPrerequisiteError(`"${cmd}" not found or not working; install it: apt-get install -y ${pkg}`)
    }
  }
}

function matchesPrefix (name: string, prefix?: string): boolean {
  return prefix != null ? name.startsWith(prefix) : LAB_PREFIX_PATTERN.test(name)
}

function parseNetnsList (out: string): string[] {
  return out.split('\n').map(l => l.trim().split(/\s+/)[0] ?? '').filter(n => n !== '')
}

/** Lab leftovers with `prefix` (default: any generated prefix). */
export async function listLeftovers (prefix?: string): Promise<Leftovers> {
  const namespaces = parseNetnsList(await command('ip', ['netns', 'list'])).filter(n => matchesPrefix(n, prefix))
  const links = (await command('ip', ['-o', 'link', 'show']))
    .split('\n')
    .map(l => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter(n => n !== '' && matchesPrefix(n, prefix))
  let tables: string[] = []
  try {
    const tableId = prefix?.replace(/-$/, '')
    tables = (await command('nft', ['list', 'tables']))
      .split('\n')
      .map(l => l.trim().split(/\s+/).slice(1).join(' '))
      .filter(t => t !== '' && (tableId != null ? t.includes(tableId) : /\bnk[0-9a-f]{4}\b/.test(t)))
  } catch {}
  return { namespaces, links, tables }
}

async function killNamespacePids (ns: string): Promise<void> {
  let out: string
  try {
    out = await command('ip', ['netns', 'pids', ns])
  } catch {
    return
  }
  for (const pid of out.split('\n').map(Number).filter(n => Number.isInteger(n) && n > 1)) {
    try { process.kill(pid, 'SIGKILL') } catch {}
  }
}

/** Removes one namespace after killing every process inside it. */
async function deleteNamespace (ns: string): Promise<void> {
  await killNamespacePids(ns)
  await command('ip', ['netns', 'del', ns])
}

function deleteNamespaceSync (ns: string): void {
  const out = commandSync('ip', ['netns', 'pids', ns]) ?? ''
  for (const pid of out.split('\n').map(Number).filter(n => Number.isInteger(n) && n > 1)) {
    try { process.kill(pid, 'SIGKILL') } catch {}
  }
  commandSync('ip', ['netns', 'del', ns])
}

/** Removes every namespace with `prefix` (default: any generated prefix); returns their names. */
export async function cleanupAll (prefix?: string): Promise<string[]> {
  const { namespaces } = await listLeftovers(prefix)
  for (const ns of namespaces) {
    try {
      await deleteNamespace(ns)
    } catch {}
  }
  const left = await listLeftovers(prefix)
  if (left.namespaces.length > 0) throw new LabTeardownError(`could not remove namespaces: ${left.namespaces.join(' ')}`)
  return namespaces
}

// ---- process-wide teardown on exit / signals -------------------------------

const aliveLabs = new Set<Lab>()
let handlersInstalled = false

function onExit (): void {
  for (const lab of aliveLabs) lab.destroySync()
}

function onSignal (signal: NodeJS.Signals): void {
  const labs = [...aliveLabs]
  Promise.allSettled(labs.map(async lab => { await lab.destroy() }))
    .finally(() => { process.exit(signal === 'SIGINT' ? 130 : 143) })
    .catch(() => {})
}

function track (lab: Lab): void {
  aliveLabs.add(lab)
  if (!handlersInstalled) {
    handlersInstalled = true
    process.on('exit', onExit)
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }
}

function untrack (lab: Lab): void {
  aliveLabs.delete(lab)
  if (aliveLabs.size === 0 && handlersInstalled) {
    handlersInstalled = false
    process.off('exit', onExit)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

// ---- the lab ----------------------------------------------------------------

/**
 * A running topology: one namespace per host and router plus an "internet"
 * namespace holding a bridge. Every veth is created from inside a lab
 * namespace with both ends in lab namespaces, so nothing touches the host's
 * namespace or a real interface.
 */
export class Lab {
  readonly topology: Topology
  readonly prefix: string
  readonly #log: (line: string) => void
  readonly #miniupnpdPath?: string
  readonly #namespaces: string[] = []
  readonly #children = new Set<ChildProcess>()
  readonly #upnp = new Map<string, UpnpDaemon>()
  #destroyed = false
  #destroying?: Promise<void>
  #building?: Promise<void>

  private constructor (topology: Topology, prefix: string, init: LabInit) {
    this.topology = topology
    this.prefix = prefix
    this.#log = init.log ?? (() => {})
    this.#miniupnpdPath = init.miniupnpdPath
  }

  /** Builds the topology. On any failure everything created so far is removed before the error is rethrown. */
  static async create (topology: Topology, init: LabInit = {}): Promise<Lab> {
    validateTopology(topology)
    await checkPrerequisites()
    const prefix = init.prefix ?? `nk${randomBytes(2).toString('hex')}-`
    if (!VALID_PREFIX_PATTERN.test(prefix)) throw new TypeError(`invalid lab prefix "${prefix}": expected ${VALID_PREFIX_PATTERN}`)
    const existing = await listLeftovers(prefix)
    if (existing.namespaces.length > 0) throw new LabTeardownError(`namespaces with prefix ${prefix} already exist (${existing.namespaces.join(' ')}); run natkit-lab cleanup`)
    const lab = new Lab(topology, prefix, init)
    track(lab)
    try {
      lab.#building = lab.#build()
      await lab.#building
    } catch (err) {
      await lab.destroy().catch(() => {})
      throw err
    }
    return lab
  }

  /** The nft table name used in router namespaces. */
  get tableName (): string {
    return this.prefix.replace(/-$/, '')
  }

  get destroyed (): boolean {
    return this.#destroyed
  }

  /** Names of every namespace this lab created. */
  get namespaces (): string[] {
    return [...this.#namespaces]
  }

  /** The namespace of a host or router (by name or object). */
  nsName (host: string | Host | Router): string {
    const name = typeof host === 'string' ? host : host.name
    if (name !== INTERNET_NS_SUFFIX && this.topology.hosts.find(h => h.name === name) == null && this.topology.routers.find(r => r.name === name) == null) {
      throw new UnknownHostError(`no host or router "${name}" in topology ${this.topology.name}`)
    }
    return `${this.prefix}${name}`
  }

  host (name: string): Host {
    const h = this.topology.hosts.find(h => h.name === name)
    if (h == null) throw new UnknownHostError(`no host "${name}" in topology ${this.topology.name}`)
    return h
  }

  /** Starts `cmd args` inside the host's namespace (`ip netns exec`). The child is killed on destroy. */
  exec (host: string | Host | Router, cmd: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
    if (this.#destroyed) throw new LabDestroyedError('lab was destroyed')
    if (this.#children.size >= DEFAULT_MAX_CHILDREN) throw new TooManyChildrenError(`more than ${DEFAULT_MAX_CHILDREN} processes in lab ${this.prefix}`)
    const child = spawn('ip', ['netns', 'exec', this.nsName(host), cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...opts })
    this.#children.add(child)
    child.once('exit', () => { this.#children.delete(child) })
    child.once('error', () => { this.#children.delete(child) })
    return child
  }

  /** Runs `cmd args` inside the host's namespace to completion, bounded by `timeoutMs`. */
  async run (host: string | Host | Router, cmd: string, args: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS
    const maxOutput = opts.maxOutput ?? DEFAULT_RUN_MAX_OUTPUT
    const child = this.exec(host, cmd, args, { env: opts.env, cwd: opts.cwd })
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { if (stdout.length < maxOutput) stdout += d.slice(0, maxOutput - stdout.length) })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < maxOutput) stderr += d.slice(0, maxOutput - stderr.length) })
    child.stdin?.on('error', () => {})
    child.stdin?.end(opts.input ?? '')
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    try {
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.once('error', reject)
        child.once('close', (code, signal) => { resolve([code, signal]) })
      })
      return { code, signal, stdout, stderr, timedOut }
    } finally {
      clearTimeout(timer)
    }
  }

  /** The miniupnpd daemon of a `upnp` router, if running. */
  upnpDaemon (router: string): UpnpDaemon | undefined {
    return this.#upnp.get(router)
  }

  /** Kills every process in the lab, deletes its namespaces and verifies nothing with the prefix remains. Idempotent. */
  async destroy (): Promise<void> {
    this.#destroying ??= this.#teardown()
    await this.#destroying
  }

  /** Best-effort synchronous teardown for `process.on('exit')`. */
  destroySync (): void {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const child of this.#children) child.kill('SIGKILL')
    for (const d of this.#upnp.values()) d.kill()
    for (const ns of [...this.#namespaces].reverse()) deleteNamespaceSync(ns)
    for (const d of this.#upnp.values()) d.cleanupSync()
    untrack(this)
  }

  async #teardown (): Promise<void> {
    this.#destroyed = true
    try {
      // a signal may arrive mid-build: let the build stop at its next step first
      await this.#building?.catch(() => {})
      for (const child of this.#children) child.kill('SIGKILL')
      for (const d of this.#upnp.values()) d.kill()
      const errors: string[] = []
      for (const ns of [...this.#namespaces].reverse()) {
        try {
          await deleteNamespace(ns)
        } catch (err) {
          errors.push((err as Error).message)
        }
      }
      for (const d of this.#upnp.values()) await d.cleanup()
      const left = await listLeftovers(this.prefix)
      if (left.namespaces.length + left.links.length + left.tables.length > 0) {
        throw new LabTeardownError(`lab ${this.prefix} left ${[...left.namespaces, ...left.links, ...left.tables].join(' ')}${errors.length > 0 ? ` (${errors.join('; ')})` : ''}`)
      }
      this.#log(`lab ${this.prefix}: destroyed`)
    } finally {
      untrack(this)
    }
  }

  /** Runs a build step unless teardown has started. */
  async #cmd (cmd: string, args: string[], input?: string): Promise<string> {
    if (this.#destroyed) throw new LabDestroyedError(`lab ${this.prefix} is being destroyed`)
    return await command(cmd, args, { input })
  }

  async #addNamespace (name: string, bridge: boolean): Promise<string> {
    const ns = `${this.prefix}${name}`
    await this.#cmd('ip', ['netns', 'add', ns])
    this.#namespaces.push(ns)
    await this.#cmd('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
    // No IPv6 in the lab (keeps address lists IPv4-only); bridged frames must
    // not traverse the IP hooks when br_netfilter is loaded on the host.
    const sysctls = ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']
    if (bridge) sysctls.push('net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0')
    await this.#cmd('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-e', '-w', ...sysctls])
    return ns
  }

  /**
   * Creates a veth pair from inside namespace `a` with its peer end directly in
   * namespace `b` (the pair never exists in the host's namespace).
   */
  async #veth (a: string, aName: string, b: string, bName: string): Promise<void> {
    await this.#cmd('ip', ['-n', a, 'link', 'add', aName, 'type', 'veth', 'peer', 'name', bName, 'netns', b])
  }

  async #build (): Promise<void> {
    const t = this.topology
    const inetBits = t.internetCidr.split('/')[1] ?? '16'
    this.#log(`lab ${this.prefix}: building ${t.name}`)
    const inet = await this.#addNamespace(INTERNET_NS_SUFFIX, true)
    await this.#cmd('ip', ['-n', inet, 'link', 'add', 'br0', 'type', 'bridge'])
    await this.#cmd('ip', ['-n', inet, 'link', 'set', 'br0', 'up'])
    let port = 0
    const attachToInternet = async (ns: string, ifname: string, ip: string): Promise<void> => {
      const p = `p${port++}`
      await this.#veth(inet, p, ns, ifname)
      await this.#cmd('ip', ['-n', inet, 'link', 'set', p, 'master', 'br0', 'up'])
      await this.#cmd('ip', ['-n', ns, 'addr', 'add', `${ip}/${inetBits}`, 'dev', ifname])
      await this.#cmd('ip', ['-n', ns, 'link', 'set', ifname, 'up'])
    }

    for (const h of t.hosts.filter(h => h.segment === 'internet')) {
      const ns = await this.#addNamespace(h.name, false)
      await attachToInternet(ns, 'eth0', h.ip)
      for (const alias of h.aliases ?? []) await this.#cmd('ip', ['-n', ns, 'addr', 'add', `${alias}/${inetBits}`, 'dev', 'eth0'])
      this.#log(`lab ${this.prefix}: ${h.name} ${h.ip} on the internet`)
    }

    for (const r of t.routers) {
      const rns = await this.#addNamespace(r.name, true)
      await attachToInternet(rns, 'wan', r.wanIp)
      const lanBits = r.lanCidr.split('/')[1] ?? '24'
      await this.#cmd('ip', ['-n', rns, 'link', 'add', 'lan', 'type', 'bridge'])
      await this.#cmd('ip', ['-n', rns, 'addr', 'add', `${r.lanIp}/${lanBits}`, 'dev', 'lan'])
      await this.#cmd('ip', ['-n', rns, 'link', 'set', 'lan', 'up'])
      let lanPort = 0
      for (const h of t.hosts.filter(h => h.segment === r.name)) {
        const hns = await this.#addNamespace(h.name, false)
        const l = `l${lanPort++}`
        await this.#veth(rns, l, hns, 'eth0')
        await this.#cmd('ip', ['-n', rns, 'link', 'set', l, 'master', 'lan', 'up'])
        await this.#cmd('ip', ['-n', hns, 'addr', 'add', `${h.ip}/${lanBits}`, 'dev', 'eth0'])
        for (const alias of h.aliases ?? []) await this.#cmd('ip', ['-n', hns, 'addr', 'add', `${alias}/${lanBits}`, 'dev', 'eth0'])
        await this.#cmd('ip', ['-n', hns, 'link', 'set', 'eth0', 'up'])
        await this.#cmd('ip', ['-n', hns, 'route', 'add', 'default', 'via', r.lanIp])
        this.#log(`lab ${this.prefix}: ${h.name} ${h.ip} behind ${r.name}`)
      }
      await this.#cmd('ip', ['netns', 'exec', rns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
      try {
        await this.#cmd('ip', ['netns', 'exec', rns, 'nft', '-f', '-'], routerRuleset(r, this.tableName))
      } catch (err) {
        throw new LabCommandError(`nftables ruleset for ${r.name} (${r.profile}) failed: ${(err as Error).message}`, (err as LabCommandError).stderr ?? '')
      }
      if (r.profile === 'upnp') {
        if (this.#destroyed) throw new LabDestroyedError(`lab ${this.prefix} is being destroyed`)
        this.#upnp.set(r.name, await startMiniupnpd(this, r, { log: this.#log, binary: this.#miniupnpdPath }))
      }
      this.#log(`lab ${this.prefix}: ${r.name} wan ${r.wanIp} lan ${r.lanIp} nat ${r.profile}`)
    }
  }
}

/** Creates a lab, runs `fn`, and always destroys the lab (also when `fn` throws). */
export async function withLab<T> (topology: Topology, fn: (lab: Lab) => Promise<T>, init: LabInit = {}): Promise<T> {
  const lab = await Lab.create(topology, init)
  try {
    return await fn(lab)
  } finally {
    await lab.destroy()
  }
}
