import { formatHuman, type NatkitEvent, type NatkitEventName } from '@natkit/events'
import { Lab } from './netns.js'
import { UPNP_PREROUTING_CHAIN } from './nft.js'
import { applyDelayProfile, type DelayLine, type DelayProfileName } from './delay.js'
import { startCpuBurner, type CpuBurner } from './cpuload.js'
import { collectLossStats, peerPathPlan, type LabPath, type LossStats, type TrialDimensions } from './dimensions.js'
import { spawnRole, type RoleHandle } from './procs.js'
import { assertInteropSupported, spawnInterop, type PeerImpl, type RelayImpl } from './interop.js'
import { defaultTopology, DEFAULT_AUTONAT_IP, DEFAULT_BOOTSTRAP_IP, DEFAULT_RELAY_ALT_IP, DEFAULT_RELAY_IP, type NatProfile, assertSupportedProfile } from './topology.js'
import type { InboundMode } from './topology.js'

export type LabTransport = 'tcp' | 'webrtc'
export const LAB_TRANSPORTS: readonly LabTransport[] = ['tcp', 'webrtc']

/** Direct paths the lab peers race: one of them (`--direct-paths tcp|webrtc`) or both (`auto`, natkit-peer's default). */
export type LabPaths = 'tcp' | 'webrtc' | 'auto'

/** natkit-peer's arguments for a lab paths choice (the target never has /webrtc then). */
export function directPathArgs (paths: LabPaths): string[] {
  return paths === 'auto' ? [] : ['--direct-paths', paths]
}

/** TCP port every lab peer listens on (hole punching needs a known, reused port). */
export const PEER_PORT = 4100
export const RELAY_PORT = 4001
export const BOOTSTRAP_PORT = 4011
export const AUTONAT_PORT = 4021
export const STUN_PORT = 3478
/** The relay's STUN alternate port, on {@link DEFAULT_RELAY_ALT_IP}. */
export const STUN_ALT_PORT = 3479
/** Bound on `natkit-peer dial` waiting for a direct connection. */
export const DEFAULT_DIAL_TIMEOUT_MS = 30_000
/** Bound on a role starting (listening) or reserving. */
export const DEFAULT_STARTUP_TIMEOUT_MS = 20_000
/** Bound on a UPnP gateway search plus port mapping (@natkit/upnp maps once its SSDP search is answered: 0.2–1.3 s after start in the lab). */
export const UPNP_MAPPING_TIMEOUT_MS = 30_000
/** Port of peer-b's Prometheus endpoint (on 127.0.0.1 inside its namespace) when a trial scrapes it. */
export const PEER_METRICS_PORT = 9464
/** Bound on peer-b's hole punch verdict after peer-a's dial result, before its metrics are scraped. */
export const METRICS_SCRAPE_WAIT_MS = 10_000

/** Bound on peer-b's own event for a direct connection arriving after peer-a's dial result. */
export const REMOTE_CONFIRM_TIMEOUT_MS = 3_000
/** Bound on one whole trial, including lab build and teardown. */
export const DEFAULT_TRIAL_TIMEOUT_MS = 90_000

/** Named scenarios: the NAT in front of peer-a and of peer-b. */
export const SCENARIOS: Readonly<Record<string, readonly [NatProfile, NatProfile]>> = Object.freeze({
  'port-restricted': ['port-restricted', 'port-restricted'],
  symmetric: ['symmetric', 'symmetric'],
  'symmetric-port-restricted': ['symmetric', 'port-restricted'],
  upnp: ['port-restricted', 'upnp'],
  'upnp-symmetric': ['symmetric', 'upnp'],
  public: ['none', 'port-restricted'],
  'none': ['none', 'none']
})

export class UnknownScenarioError extends Error {
  override name = 'UnknownScenarioError'
}

/** `port-restricted`, or an explicit pair `symmetric:port-restricted`. */
export function parseScenario (name: string): [NatProfile, NatProfile] {
  const named = SCENARIOS[name]
  if (named != null) return [named[0], named[1]]
  const parts = name.split(':')
  if (parts.length === 2) {
    assertSupportedProfile(parts[0])
    assertSupportedProfile(parts[1])
    return [parts[0], parts[1]]
  }
  throw new UnknownScenarioError(`unknown scenario "${name}": use one of ${Object.keys(SCENARIOS).join(', ')} or PROFILE_A:PROFILE_B`)
}

export interface TrialInit extends TrialDimensions {
  a: NatProfile
  b: NatProfile
  /** Direct paths the peers may use (see `peerPathPlan`): tcp, webrtc or auto (all raced). */
  transport: LabPath
  trial?: number
  dialTimeoutMs?: number
  /** Link delay profile (userspace delay line on router and relay links). @default 'zero' */
  delay?: DelayProfileName
  /** Also start bootstrap and AutoNAT servers and run `natkit-autonat check` from both peers. */
  full?: boolean
  /** What both routers do with unsolicited inbound on their WAN (see `InboundMode`). @default 'drop' */
  inbound?: InboundMode
  /** Serve peer-b's Prometheus metrics and read them after the dial (`TrialResult.peerBMetrics`). */
  scrapeMetrics?: boolean
  /** Who runs peer-a (the dialer). @default 'natkit' */
  peerA?: PeerImpl
  /** Who runs peer-b (the listener). @default 'natkit' */
  peerB?: PeerImpl
  /** Who runs the circuit relay v2 server. @default 'natkit' */
  relay?: RelayImpl
  /**
   * Extra nftables input (`nft -f -`) per router name, applied in that
   * router's namespace once the lab is built, before any role starts (e.g. a
   * table of its own that drops the punch traffic). Gone with the namespace.
   */
  routerNft?: Record<string, string>
  /**
   * Direct paths both peers race (`directPathArgs`), dialling the plain
   * circuit address. Unset: `transport` alone (tcp: `--no-webrtc`; webrtc:
   * `--no-holepunch` and a `/webrtc` target).
   */
  paths?: LabPaths
  /** Extra natkit-peer arguments for both natkit peers (e.g. `--no-nat-discovery` for a baseline). */
  peerArgs?: string[]
  /** Runs once the lab is built, before any role starts (e.g. extra nft rules or counters in a router). */
  setup?: (lab: Lab) => Promise<void>
  /** Runs after the dial's verdict, before teardown (e.g. reading those counters). */
  inspect?: (lab: Lab) => Promise<void>
  /** Live events from every role, in arrival order. */
  onEvent?: (role: string, e: NatkitEvent) => void
  log?: (line: string) => void
}

export interface TrialResult {
  scenario: string
  delay: DelayProfileName
  a: NatProfile
  b: NatProfile
  transport: LabPath
  /** What the routers did with unsolicited inbound. */
  inbound: InboundMode
  /** Random loss per link and direction (percent) on every router, relay and public-peer link. */
  lossPercent: number
  /** A CPU burner ran beside the peers. */
  cpuLoad: boolean
  /** With loss: the delay lines' own counters, summed over every lossy link (read before teardown). */
  lossStats?: LossStats
  /** With cpuLoad: what the burner used (its CPU seconds show it really ran). */
  cpuBurn?: { workers: number, cpuSeconds: number, wallSeconds: number }
  trial: number
  /** A direct (non-relayed) connection between peer-a and peer-b was made. */
  direct: boolean
  outcome: 'direct' | 'relayed' | 'failed'
  exitCode: number | null
  /** peer-a's dial start → relayed connection open. */
  timeToRelayedMs?: number
  /** Relayed connection open → direct connection open. */
  timeToDirectMs?: number
  /** Hole punch attempts made by the initiating side (0 = unilateral direct dial). */
  attempts: number
  failureReason?: string
  relayedRttMs?: number
  directRttMs?: number
  directAddr?: string
  /** The direct path that won peer-a's race (`dial:result.path`). */
  path?: 'tcp' | 'webrtc'
  /** How each direct path ended, as peer-a reports it (`dial:result.paths`). */
  paths?: Partial<Record<'tcp' | 'webrtc', string>>
  /** With `scrapeMetrics`: peer-b's `/metrics` lines of the `libp2p_holepunch_*` and `natkit_holepunch_*` series. */
  peerBMetrics?: string[]
  /** With `scrapeMetrics`: peer-b's hole punch events, to check the metrics against. */
  peerBHolepunchEvents?: NatkitEvent[]
  /** Implementations at each end and of the relay (interop trials). */
  impls?: { a: PeerImpl, b: PeerImpl, relay: RelayImpl }
  /** peer-b's own output shows a direct (non-limited) connection from peer-a. */
  remoteDirect?: boolean
  /** peer-b's view of that direct connection's remote address. */
  remoteDirectAddr?: string
  /** UPnP port mappings (DNAT rules miniupnpd installed) per `upnp` router, read before teardown. */
  upnpMappings?: Record<string, string[]>
  /** AutoNAT checks (full runs): peer → reachable address count. */
  reachability?: Record<string, { reachable: number, unreachable: number, exitCode: number | null }>
  durationMs: number
  /** The lab's namespace prefix (`nkXXXX-`), e.g. to check that nothing was left behind. */
  prefix?: string
  error?: string
}

/** A role's events named `name` (TypeScript cannot narrow the union by a generic name, as in `RoleHandle.waitForEvent`). */
const find = <E extends NatkitEventName>(h: RoleHandle | undefined, name: E): Array<NatkitEvent<E>> => (h?.events ?? []).filter(e => e.event === name) as unknown as Array<NatkitEvent<E>>

/** One trial in a fresh lab (fresh NAT state), always torn down. */
export async function runTrial (init: TrialInit): Promise<TrialResult> {
  const t0 = Date.now()
  const scenario = `${init.a}:${init.b}`
  const result: TrialResult = { scenario, delay: init.delay ?? 'zero', a: init.a, b: init.b, transport: init.transport, inbound: init.inbound ?? 'drop', lossPercent: init.lossPercent ?? 0, cpuLoad: init.cpuLoad === true, trial: init.trial ?? 1, direct: false, outcome: 'failed', exitCode: null, attempts: 0, durationMs: 0 }
  const log = init.log ?? (() => {})
  const handles: Array<[string, RoleHandle]> = []
  let lab: Lab | undefined
  let tearingDown = false
  let delayLines: DelayLine[] = []
  let burner: CpuBurner | undefined
  const impls = { a: init.peerA ?? 'natkit', b: init.peerB ?? 'natkit', relay: init.relay ?? 'natkit' } as const
  if (impls.a !== 'natkit' || impls.b !== 'natkit' || impls.relay !== 'natkit') result.impls = impls
  const start = (role: string, host: string, bin: 'relay' | 'bootstrap' | 'peer' | 'autonat', args: string[]): RoleHandle => track(role, spawnRole(lab as Lab, host, bin, [...args, '--network', 'lab']))
  const track = (role: string, h: RoleHandle): RoleHandle => {
    handles.push([role, h])
    // events from the teardown (peers losing the relay as it stops) are not part of the trial
    if (init.onEvent != null) h.onEvent((e) => { if (!tearingDown) init.onEvent?.(role, e) })
    return h
  }
  const deadline = AbortSignal.timeout(DEFAULT_TRIAL_TIMEOUT_MS)
  try {
    assertInteropSupported(init.transport, impls)
    const paths = peerPathPlan(init.transport)
    lab = await Lab.create(defaultTopology(init.a, init.b, { inbound: init.inbound }), { log })
    result.prefix = lab.prefix
    if (result.delay !== 'zero' || result.lossPercent > 0) delayLines = await applyDelayProfile(lab, result.delay, { lossPercent: result.lossPercent, seed: init.lossSeed ?? result.trial })
    if (result.cpuLoad) burner = await startCpuBurner(lab, ['peer-a', 'peer-b'], { workers: init.cpuWorkers })
    for (const [router, ruleset] of Object.entries(init.routerNft ?? {})) {
      const applied = await lab.run(router, 'nft', ['-f', '-'], { input: ruleset, timeoutMs: 5_000 })
      if (applied.code !== 0) throw new Error(`extra nft rules for ${router} failed: ${applied.stderr.trim()}`)
    }
    await init.setup?.(lab)
    const relayListen = ['--listen', `/ip4/0.0.0.0/tcp/${RELAY_PORT}`, '--announce', `/ip4/${DEFAULT_RELAY_IP}/tcp/${RELAY_PORT}`, '--seed', 'lab-relay']
    const relay = impls.relay === 'go'
      ? track('relay', spawnInterop(lab, 'relay', 'go', ['relay', ...relayListen]))
      : start('relay', 'relay', 'relay', [...relayListen, '--stun-listen', `${DEFAULT_RELAY_IP}:${STUN_PORT}`, '--stun-alternate', `${DEFAULT_RELAY_ALT_IP}:${STUN_ALT_PORT}`])
    const relayReady = await relay.waitForEvent('listening', (e) => e.addrs.length > 0, DEFAULT_STARTUP_TIMEOUT_MS)
    const relayMa = `/ip4/${DEFAULT_RELAY_IP}/tcp/${RELAY_PORT}/p2p/${relayReady.peerId}`
    const extra: string[] = []
    let autonatMa: string | undefined
    if (init.full === true) {
      const boot = start('bootstrap', 'bootstrap', 'bootstrap', ['--listen', `/ip4/0.0.0.0/tcp/${BOOTSTRAP_PORT}`, '--announce', `/ip4/${DEFAULT_BOOTSTRAP_IP}/tcp/${BOOTSTRAP_PORT}`, '--seed', 'lab-bootstrap'])
      const autonat = start('autonat', 'autonat', 'autonat', ['server', '--listen', `/ip4/0.0.0.0/tcp/${AUTONAT_PORT}`, '--announce', `/ip4/${DEFAULT_AUTONAT_IP}/tcp/${AUTONAT_PORT}`, '--seed', 'lab-autonat'])
      const b = await boot.waitForEvent('listening', (e) => e.addrs.length > 0, DEFAULT_STARTUP_TIMEOUT_MS)
      const n = await autonat.waitForEvent('listening', (e) => e.addrs.length > 0, DEFAULT_STARTUP_TIMEOUT_MS)
      extra.push('--bootstrap', `/ip4/${DEFAULT_BOOTSTRAP_IP}/tcp/${BOOTSTRAP_PORT}/p2p/${b.peerId}`)
      autonatMa = `/ip4/${DEFAULT_AUTONAT_IP}/tcp/${AUTONAT_PORT}/p2p/${n.peerId}`
    } else {
      extra.push('--no-dht')
    }
    // UPnP is opt-in: only a peer behind a router that runs a UPnP gateway asks for a mapping
    const topology = lab.topology
    const behindUpnp = (name: string): boolean => {
      const segment = topology.hosts.find(h => h.name === name)?.segment
      return topology.routers.some(r => r.name === segment && r.profile === 'upnp')
    }
    const peerArgs = (name: string): string[] => [
      '--listen', `/ip4/0.0.0.0/tcp/${PEER_PORT}`, '--seed', `lab-${name}`, '--relay', relayMa, '--stun', `stun:${DEFAULT_RELAY_IP}:${STUN_PORT}`,
      ...(init.paths != null ? directPathArgs(init.paths) : paths.args),
      ...(behindUpnp(name) ? ['--upnp'] : []),
      ...extra,
      ...(init.peerArgs ?? [])
    ]
    const metricsArgs = init.scrapeMetrics === true ? ['--metrics', `127.0.0.1:${PEER_METRICS_PORT}`] : []
    // an interop peer takes the same listen port, seed and relay (TCP only)
    const interopArgs = (name: string): string[] => ['--listen', `/ip4/0.0.0.0/tcp/${PEER_PORT}`, '--seed', `lab-${name}`]
    const peerB = impls.b === 'natkit'
      ? start('peer-b', 'peer-b', 'peer', ['run', ...peerArgs('peer-b'), ...metricsArgs])
      : track('peer-b', spawnInterop(lab, 'peer-b', impls.b, ['listen', '--relay', relayMa, ...interopArgs('peer-b')]))
    const reservation = await peerB.waitForEvent('reservation', () => true, DEFAULT_STARTUP_TIMEOUT_MS)
    // behind a UPnP router, peer-b announces the mapped address once the gateway
    // search and the port mapping are done; dial after that, not before
    const routerB = lab.topology.routers.find(r => r.name === 'router-b')
    if (routerB?.profile === 'upnp') {
      const mapped = `/ip4/${routerB.wanIp}/tcp/${PEER_PORT}/`
      await peerB.waitForEvent('listening', (e) => e.addrs.some(x => x.startsWith(mapped)), UPNP_MAPPING_TIMEOUT_MS)
    }
    const target = `${relayMa}/p2p-circuit${init.paths == null && paths.webrtcTarget ? '/webrtc' : ''}/p2p/${reservation.peerId}`
    const dialTimeout = init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS
    const peerA = impls.a === 'natkit'
      ? start('peer-a', 'peer-a', 'peer', ['dial', target, '--timeout', `${dialTimeout}ms`, ...peerArgs('peer-a')])
      : track('peer-a', spawnInterop(lab, 'peer-a', impls.a, ['dial', target, '--timeout', `${dialTimeout / 1000}s`, ...interopArgs('peer-a')]))
    const exit = await Promise.race([peerA.exited, new Promise<null>((resolve) => { deadline.addEventListener('abort', () => { resolve(null) }, { once: true }) })])
    result.exitCode = exit
    const dial = find(peerA, 'dial:result').at(-1)
    if (dial == null) throw new Error(`peer-a ended (exit ${String(exit)}) without a dial result; stderr: ${peerA.stderr.slice(-500)}`)
    result.outcome = dial.outcome
    result.direct = dial.outcome === 'direct'
    result.timeToRelayedMs = dial.timeToRelayedMs
    result.timeToDirectMs = dial.timeToDirectMs
    result.relayedRttMs = dial.relayedRttMs
    result.directRttMs = dial.directRttMs
    if (result.direct) result.directAddr = dial.remoteAddr
    if (dial.path != null) result.path = dial.path
    if (dial.paths != null) result.paths = dial.paths
    // both sides must agree: peer-b's own events show a direct connection from peer-a
    const fromA = (e: NatkitEvent<'peer:connect'>): boolean => e.remotePeer === peerA.peerId && e.limited === false && !String(e.remoteAddr).includes('/p2p-circuit')
    const remote = result.direct
      ? await peerB.waitForEvent('peer:connect', fromA, REMOTE_CONFIRM_TIMEOUT_MS).catch(() => undefined)
      : find(peerB, 'peer:connect').find(fromA)
    result.remoteDirect = remote != null
    if (remote != null) result.remoteDirectAddr = remote.remoteAddr
    const attempts = [...find(peerB, 'holepunch:attempt'), ...find(peerA, 'holepunch:attempt')].filter(e => e.role === 'initiator')
    result.attempts = attempts.length === 0 ? 0 : Math.max(...attempts.map(e => e.attempt))
    if (!result.direct) {
      // the most telling failure: a diagnosed symmetric NAT on either side, else
      // the initiator's (peer-b's) final verdict, else peer-a's
      const failures = [...find(peerA, 'holepunch:failure'), ...find(peerB, 'holepunch:failure')]
      const failure = failures.find(f => f.reason === 'symmetric-nat-suspected') ?? failures.at(-1)
      result.failureReason = failure != null ? `${failure.reason}: ${failure.message}` : dial.reason
    }
    if (init.scrapeMetrics === true) {
      // peer-b (the DCUtR initiator) records its verdict after peer-a's dial may have ended
      await Promise.any([
        peerB.waitForEvent('holepunch:success', () => true, METRICS_SCRAPE_WAIT_MS),
        peerB.waitForEvent('holepunch:failure', () => true, METRICS_SCRAPE_WAIT_MS)
      ])
      const scrape = await lab.run('peer-b', process.execPath, ['-e', `fetch('http://127.0.0.1:${PEER_METRICS_PORT}/metrics').then(r => r.text()).then(t => process.stdout.write(t))`], { timeoutMs: 10_000 })
      if (scrape.code !== 0) throw new Error(`scraping peer-b's metrics failed: ${scrape.stderr.slice(-300)}`)
      result.peerBMetrics = scrape.stdout.split('\n').filter(l => /^(libp2p|natkit)_holepunch_/.test(l))
      result.peerBHolepunchEvents = peerB.events.filter(e => e.event.startsWith('holepunch:'))
    }
    for (const router of lab.topology.routers.filter(r => r.profile === 'upnp')) {
      const listed = await lab.run(router.name, 'nft', ['list', 'chain', 'inet', lab.tableName, UPNP_PREROUTING_CHAIN], { timeoutMs: 5_000 })
      result.upnpMappings = { ...result.upnpMappings, [router.name]: listed.stdout.split('\n').map(l => l.trim()).filter(l => l.includes('dnat')) }
    }
    if (init.full === true && autonatMa != null) {
      result.reachability = {}
      for (const peer of ['peer-a', 'peer-b']) {
        // the peer role still holds the listen port with SO_REUSEPORT; the probe listens elsewhere
        const probe = start(`autonat-check@${peer}`, peer, 'autonat', ['check', '--server', autonatMa, '--listen', `/ip4/0.0.0.0/tcp/${PEER_PORT + 1}`, '--timeout', '15s'])
        const code = await probe.exited
        const r = find(probe, 'reachability')
        result.reachability[peer] = { reachable: r.filter(x => x.status === 'reachable').length, unreachable: r.filter(x => x.status === 'unreachable').length, exitCode: code }
      }
    }
    await init.inspect?.(lab)
  } catch (err) {
    result.error = (err as Error).message
  } finally {
    tearingDown = true
    if (burner != null) {
      const burn = await burner.stop().catch((err: Error) => { result.error ??= err.message })
      if (burn != null) result.cpuBurn = { workers: burn.workers, cpuSeconds: burn.cpuSeconds, wallSeconds: burn.wallSeconds }
    }
    await Promise.allSettled(handles.map(async ([, h]) => { await h.stop() }))
    if (result.lossPercent > 0) result.lossStats = await collectLossStats(delayLines)
    await lab?.destroy()
    result.durationMs = Date.now() - t0
  }
  return result
}

/** A timeline line for the demo: time since start, role, human text. */
export function timelineLine (t0: number, role: string, e: NatkitEvent): string {
  const dt = ((Date.parse(e.ts) - t0) / 1000).toFixed(3).padStart(7)
  const text = formatHuman(e).replace(/^\S+ /, '')
  return `+${dt}s  ${role.padEnd(8)} ${text}`
}

/** Events worth showing in the demo timeline. */
export const TIMELINE_EVENTS = new Set(['reservation', 'reservation:failed', 'relay:reservation', 'relay:circuit', 'peer:connect', 'holepunch:attempt', 'holepunch:success', 'holepunch:failure', 'ping', 'dial:result', 'reachability', 'error', 'warn'])

export interface Summary {
  scenario: string
  transport: LabPath
  inbound: InboundMode
  delay: DelayProfileName
  lossPercent: number
  cpuLoad: boolean
  trials: number
  direct: number
  successRate: number
  medianTimeToDirectMs?: number
  medianTimeToRelayedMs?: number
  medianRelayedRttMs?: number
  medianDirectRttMs?: number
  failureReasons: Record<string, number>
}

const median = (xs: Array<number | undefined>): number | undefined => {
  const v = xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b)
  if (v.length === 0) return undefined
  const m = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2
}

/** The matrix cell of a trial: every dimension but the trial number. */
export function cellKey (r: Pick<TrialResult, 'scenario' | 'transport' | 'inbound' | 'delay' | 'lossPercent' | 'cpuLoad'>): string {
  return `${r.scenario}|${r.transport}|${r.inbound}|${r.delay}|loss ${r.lossPercent}%|cpu ${r.cpuLoad ? 'on' : 'off'}`
}

/** One summary per matrix cell (NAT pair, path, inbound mode, delay, loss, CPU load), in first-seen order. */
export function summarize (results: TrialResult[]): Summary[] {
  const groups = new Map<string, TrialResult[]>()
  for (const r of results) {
    const key = cellKey(r)
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  return [...groups.values()].map((rs) => {
    const failureReasons: Record<string, number> = {}
    for (const r of rs) {
      if (r.direct) continue
      const reason = (r.error != null ? `error: ${r.error}` : r.failureReason ?? 'unknown').split(':')[0]
      failureReasons[reason] = (failureReasons[reason] ?? 0) + 1
    }
    const direct = rs.filter(r => r.direct).length
    return {
      scenario: rs[0].scenario,
      transport: rs[0].transport,
      inbound: rs[0].inbound,
      delay: rs[0].delay,
      lossPercent: rs[0].lossPercent,
      cpuLoad: rs[0].cpuLoad,
      trials: rs.length,
      direct,
      successRate: direct / rs.length,
      medianTimeToDirectMs: median(rs.map(r => r.timeToDirectMs)),
      medianTimeToRelayedMs: median(rs.map(r => r.timeToRelayedMs)),
      medianRelayedRttMs: median(rs.map(r => r.relayedRttMs)),
      medianDirectRttMs: median(rs.map(r => r.directRttMs)),
      failureReasons
    }
  })
}

const fmt = (x: number | undefined): string => x == null ? '-' : `${Math.round(x)}`

export function formatSummaryTable (summaries: Summary[]): string {
  const rows = [['scenario (a:b)', 'path', 'inbound', 'delay', 'loss', 'cpu', 'direct', 'rate', 't→relayed ms', 't→direct ms', 'relay RTT', 'direct RTT', 'failures']]
  for (const s of summaries) {
    rows.push([s.scenario, s.transport, s.inbound, s.delay, `${s.lossPercent}%`, s.cpuLoad ? 'load' : '-', `${s.direct}/${s.trials}`, `${Math.round(s.successRate * 100)}%`, fmt(s.medianTimeToRelayedMs), fmt(s.medianTimeToDirectMs), fmt(s.medianRelayedRttMs), fmt(s.medianDirectRttMs), Object.entries(s.failureReasons).map(([k, v]) => `${k}×${v}`).join(', ') || '-'])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  return rows.map(r => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n')
}
