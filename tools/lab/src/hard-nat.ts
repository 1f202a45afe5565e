/**
 * Hard-NAT cells (issue 13): a symmetric NAT (sequential or random port
 * allocation) facing a cone, two symmetric NATs, and an easy pair. One trial
 * is `runTrial` over TCP with SYN counters in both routers, so the probes are
 * counted outside the peers; `tools/lab/test/hard-nat.test.ts` asserts on
 * the trials, `npm run bench:hardnat` reports them (reports/hard-nat.json).
 */
import { loadavg } from 'node:os'
import { runTrial, PEER_PORT, type TrialResult } from './scenario.js'
import type { DelayProfileName } from './delay.js'
import type { Lab } from './netns.js'
import type { NatProfile } from './topology.js'
import type { NatkitEvent } from '@natkit/events'

/** A hard-NAT cell: peer-a's and peer-b's NAT, which side (if any) is the hard one, and what the cell must reach. */
export interface HardNatCell {
  name: string
  a: NatProfile
  b: NatProfile
  /** The side behind the symmetric NAT facing a cone; undefined for symmetric ↔ symmetric and the easy pair. */
  hard?: 'a' | 'b'
  /** `direct`: at least `minDirectRate` of the trials direct (within `withinMs`); `relayed`: every trial relayed. */
  expect: 'direct' | 'relayed'
  minDirectRate: number
  /** A direct trial counts only when its time to direct is at most this. */
  withinMs?: number
  /** The easy side's strategy when the discovered allocation is known. */
  strategy?: 'predict' | 'birthday'
  /** Extra natkit-peer arguments for both peers. */
  peerArgs?: string[]
}

/** Issue 13's cells; both orders of the sequential and random pairs with a port-restricted cone. */
export const HARD_NAT_CELLS: readonly HardNatCell[] = [
  { name: 'symmetric-sequential ↔ port-restricted', a: 'symmetric-sequential', b: 'port-restricted', hard: 'a', expect: 'direct', minDirectRate: 0.9, strategy: 'predict' },
  { name: 'port-restricted ↔ symmetric-sequential', a: 'port-restricted', b: 'symmetric-sequential', hard: 'b', expect: 'direct', minDirectRate: 0.9, strategy: 'predict' },
  { name: 'symmetric ↔ port-restricted', a: 'symmetric', b: 'port-restricted', hard: 'a', expect: 'direct', minDirectRate: 0.7, withinMs: 15_000, strategy: 'birthday' },
  { name: 'port-restricted ↔ symmetric', a: 'port-restricted', b: 'symmetric', hard: 'b', expect: 'direct', minDirectRate: 0.7, withinMs: 15_000, strategy: 'birthday' },
  { name: 'symmetric ↔ address-restricted', a: 'symmetric', b: 'address-restricted', hard: 'a', expect: 'direct', minDirectRate: 0.9 },
  { name: 'symmetric ↔ full-cone', a: 'symmetric', b: 'full-cone', hard: 'a', expect: 'direct', minDirectRate: 0.9 },
  { name: 'symmetric-sequential ↔ symmetric', a: 'symmetric-sequential', b: 'symmetric', expect: 'relayed', minDirectRate: 0 },
  { name: 'port-restricted ↔ port-restricted (easy)', a: 'port-restricted', b: 'port-restricted', expect: 'direct', minDirectRate: 1 }
]

/**
 * The easy pair without NAT discovery at start (`--no-nat-discovery`): the
 * bench's baseline, measured in the same run, for "easy pairs lose nothing".
 */
export const EASY_BASELINE_CELL: HardNatCell = { name: 'port-restricted ↔ port-restricted (easy, --no-nat-discovery)', a: 'port-restricted', b: 'port-restricted', expect: 'direct', minDirectRate: 1, peerArgs: ['--no-nat-discovery'] }

/** The pairs of {@link HARD_NAT_CELLS} (for `natkit-lab matrix --pairs hard-nat`). */
export const HARD_NAT_PAIRS: ReadonlyArray<readonly [NatProfile, NatProfile]> = HARD_NAT_CELLS.map(c => [c.a, c.b] as const)

/** nft table a hard-NAT trial adds to both routers, beside the lab's own. */
const TABLE = 'natkit_hardnat'

type Side = 'a' | 'b'
const other = (side: Side): Side => side === 'a' ? 'b' : 'a'
/** A router's WAN address in the default topology. */
const wan = (side: Side): string => `11.0.${side === 'a' ? 1 : 2}.1`

/** TCP SYNs (without ACK) one router forwarded from its LAN to the other router's WAN. */
export interface SynCount {
  /** From the peer's listen port (plain DCUtR dials, predicted and random probes). */
  listen: number
  /** From any other port (ephemeral dials: the hard side's birthday mappings), kernel retransmissions included. */
  other: number
  /** Distinct source ports of those (`other`): the connections opened from ephemeral ports, each a mapping. */
  otherPorts: number
}

async function nft (lab: Lab, router: string, args: string[]): Promise<string> {
  const res = await lab.run(router, 'nft', args, { timeoutMs: 5_000 })
  if (res.code !== 0) throw new Error(`nft ${args.join(' ')} in ${router}: ${res.stderr.trim()}`)
  return res.stdout
}

/** Counters in router-`side`: SYNs from its LAN toward the other router's WAN, from the listen port and from others. */
async function addSynCounters (lab: Lab, side: Side): Promise<void> {
  const router = `router-${side}`
  await nft(lab, router, ['add', 'table', 'inet', TABLE])
  await nft(lab, router, ['add', 'chain', 'inet', TABLE, 'count', '{ type filter hook forward priority -10; policy accept; }'])
  const syn = ['iifname', '"lan"', 'ip', 'daddr', wan(other(side)), 'tcp', 'flags', '&', '(syn|ack)', '==', 'syn']
  await nft(lab, router, ['add', 'rule', 'inet', TABLE, 'count', ...syn, 'tcp', 'sport', String(PEER_PORT), 'counter', 'comment', '"listen"'])
  await nft(lab, router, ['add', 'set', 'inet', TABLE, 'eph', '{ type inet_service; size 65535; flags dynamic; }'])
  await nft(lab, router, ['add', 'rule', 'inet', TABLE, 'count', ...syn, 'tcp', 'sport', '!=', String(PEER_PORT), 'add', '@eph', '{ tcp sport }', 'counter', 'comment', '"other"'])
}

async function readSynCounters (lab: Lab, side: Side): Promise<SynCount> {
  const text = await nft(lab, `router-${side}`, ['list', 'table', 'inet', TABLE])
  const read = (name: string): number => Number(new RegExp(`counter packets (\\d+) bytes \\d+ comment "${name}"`).exec(text)?.[1] ?? NaN)
  const elements = /elements = \{([^}]*)\}/.exec(text)?.[1] ?? ''
  return { listen: read('listen'), other: read('other'), otherPorts: elements.split(',').filter(e => e.trim() !== '').length }
}

/** What one peer said in a trial. */
export interface HardNatSide {
  /** Its `nat` event (discovery at start through the relay's STUN server), if it ended in time. */
  nat?: { mapping: string, allocation: string, stride?: number, filtering: string, hairpin?: boolean, inbound: string, ms?: number }
  /** Its last `holepunch:success` or `holepunch:failure`. */
  outcome?: { event: 'holepunch:success' | 'holepunch:failure', strategy?: string, probes?: number, reason?: string }
  /** SYNs its router forwarded toward the other side. */
  syns: SynCount
}

/** One hard-NAT trial. */
export interface HardNatTrial {
  cell: string
  delay: DelayProfileName
  trial: number
  r: TrialResult
  a: HardNatSide
  b: HardNatSide
  /** Every event of both peers, in arrival order. */
  events: Array<{ role: string, e: NatkitEvent }>
}

/** Bound on peer-a's dial in a hard-NAT trial. @default 25000 */
export const HARD_NAT_DIAL_TIMEOUT_MS = 25_000

function sideOf (events: HardNatTrial['events'], role: string): Omit<HardNatSide, 'syns'> {
  const mine = events.filter(x => x.role === role).map(x => x.e as NatkitEvent & Record<string, unknown>)
  const nat = mine.filter(e => e.event === 'nat').at(-1)
  const outcome = mine.filter(e => e.event === 'holepunch:success' || e.event === 'holepunch:failure').at(-1)
  return {
    ...(nat != null ? { nat: { mapping: String(nat.mapping), allocation: String(nat.allocation), ...(nat.stride != null ? { stride: Number(nat.stride) } : {}), filtering: String(nat.filtering), ...(nat.hairpin != null ? { hairpin: Boolean(nat.hairpin) } : {}), inbound: String(nat.inbound), ...(nat.ms != null ? { ms: Number(nat.ms) } : {}) } } : {}),
    ...(outcome != null ? { outcome: { event: outcome.event as 'holepunch:success' | 'holepunch:failure', ...(outcome.strategy != null ? { strategy: String(outcome.strategy) } : {}), ...(outcome.probes != null ? { probes: Number(outcome.probes) } : {}), ...(outcome.reason != null ? { reason: String(outcome.reason) } : {}) } } : {})
  }
}

/**
 * After the dial's result, how long a trial waits (at most) for peer-b's `nat`
 * event before the lab is torn down: its discovery at start (natkit-peer's
 * DEFAULT_NAT_DISCOVERY_TIMEOUT, 10 s) can outlast a punch that took 100 ms,
 * and the trial reports what it found.
 *
 * @default 12000
 */
export const HARD_NAT_DISCOVERY_WAIT_MS = 12_000

/**
 * After the dial's result, how long a trial waits (at most) for peer-b's own
 * hole punch verdict (`holepunch:success` or `holepunch:failure`): peer-b, the
 * DCUtR initiator, emits it once its side of the punch ended (the birthday
 * side closes its other probe connections first), which can be after peer-a's
 * dial reported the direct connection.
 *
 * @default 5000
 */
export const HARD_NAT_VERDICT_WAIT_MS = 5_000

/** One trial of `cell` in a fresh lab (TCP only), SYNs counted in both routers. */
export async function runHardNatTrial (cell: HardNatCell, delay: DelayProfileName, trial: number, log?: (line: string) => void): Promise<HardNatTrial> {
  const events: HardNatTrial['events'] = []
  let natOfB: () => void = () => {}
  const bDiscovered = new Promise<void>(resolve => { natOfB = resolve })
  let verdictOfB: () => void = () => {}
  const bVerdict = new Promise<void>(resolve => { verdictOfB = resolve })
  const within = async (p: Promise<void>, ms: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([p, new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })])
    clearTimeout(timer)
  }
  const discovers = !(cell.peerArgs ?? []).includes('--no-nat-discovery')
  const syns: Record<Side, SynCount> = { a: { listen: NaN, other: NaN, otherPorts: NaN }, b: { listen: NaN, other: NaN, otherPorts: NaN } }
  const r = await runTrial({
    a: cell.a,
    b: cell.b,
    transport: 'tcp',
    trial,
    delay,
    dialTimeoutMs: HARD_NAT_DIAL_TIMEOUT_MS,
    ...(cell.peerArgs != null ? { peerArgs: cell.peerArgs } : {}),
    onEvent: (role, e) => {
      events.push({ role, e })
      if (role === 'peer-b' && e.event === 'nat') natOfB()
      if (role === 'peer-b' && (e.event === 'holepunch:success' || e.event === 'holepunch:failure')) verdictOfB()
    },
    setup: async (lab) => { await addSynCounters(lab, 'a'); await addSynCounters(lab, 'b') },
    inspect: async (lab) => {
      // peer-b's verdict first: its probes (and their SYNs) end with it
      await within(bVerdict, HARD_NAT_VERDICT_WAIT_MS)
      syns.a = await readSynCounters(lab, 'a')
      syns.b = await readSynCounters(lab, 'b')
      if (discovers) await within(bDiscovered, HARD_NAT_DISCOVERY_WAIT_MS)
    },
    log
  })
  return { cell: cell.name, delay, trial, r, a: { ...sideOf(events, 'peer-a'), syns: syns.a }, b: { ...sideOf(events, 'peer-b'), syns: syns.b }, events }
}

/** True when the trial counts as direct for its cell (within `withinMs` when the cell has one). */
export function countsDirect (cell: HardNatCell, t: HardNatTrial): boolean {
  return t.r.outcome === 'direct' && (cell.withinMs == null || (t.r.timeToDirectMs ?? Infinity) <= cell.withinMs)
}

/** One row of the measured table. */
export interface HardNatRow {
  cell: string
  delay: DelayProfileName
  trials: number
  direct: number
  /** Time to direct (relayed → direct) of the direct trials: min, median, max, ms. */
  timeToDirectMs?: { min: number, median: number, max: number }
  /** The easy side's probes (its holepunch event's `probes`): min–max over the trials. */
  easyProbes?: { min: number, max: number }
  /** The hard side's birthday mappings (its holepunch event's `probes`): min–max. */
  hardSockets?: { min: number, max: number }
  /** SYNs the easy side's router forwarded toward the hard side (listen port + other): min–max. */
  easySyns?: { min: number, max: number }
  /** The easy side's strategies seen. */
  strategies: string[]
  /** Failure reasons (first word) of the trials that were not direct. */
  failures: Record<string, number>
}

const range = (xs: number[]): { min: number, max: number } | undefined => xs.length === 0 ? undefined : { min: Math.min(...xs), max: Math.max(...xs) }

/** The table row of one cell's trials at one delay. */
export function hardNatRow (cell: HardNatCell, trials: HardNatTrial[]): HardNatRow {
  const easy = cell.hard != null ? other(cell.hard) : undefined
  const times = trials.filter(t => countsDirect(cell, t)).map(t => t.r.timeToDirectMs).filter((x): x is number => x != null).sort((x, y) => x - y)
  const failures: Record<string, number> = {}
  for (const t of trials.filter(t => !countsDirect(cell, t))) {
    const reason = (t.r.error != null ? 'error' : t.r.outcome === 'direct' ? 'too-slow' : t.r.failureReason ?? 'unknown').split(':')[0] as string
    failures[reason] = (failures[reason] ?? 0) + 1
  }
  const probesOf = (side: Side | undefined): number[] => side == null ? [] : trials.map(t => t[side].outcome?.probes).filter((x): x is number => x != null)
  return {
    cell: cell.name,
    delay: trials[0]?.delay ?? 'zero',
    trials: trials.length,
    direct: trials.filter(t => countsDirect(cell, t)).length,
    ...(times.length > 0 ? { timeToDirectMs: { min: times[0] as number, median: times[Math.floor((times.length - 1) / 2)] as number, max: times.at(-1) as number } } : {}),
    ...(range(probesOf(easy)) != null ? { easyProbes: range(probesOf(easy)) } : {}),
    ...(range(probesOf(cell.hard)) != null ? { hardSockets: range(probesOf(cell.hard)) } : {}),
    ...(easy != null ? { easySyns: range(trials.map(t => t[easy].syns.listen + t[easy].syns.other).filter(Number.isFinite)) } : {}),
    strategies: [...new Set(easy == null ? [] : trials.map(t => t[easy].outcome?.strategy ?? 'dcutr'))],
    failures
  }
}

const fmtRange = (r: { min: number, max: number } | undefined, unit = ''): string => r == null ? '–' : r.min === r.max ? `${r.min}${unit}` : `${r.min}–${r.max}${unit}`

/** The rows as a Markdown table (docs/hard-nat.md, the bench's output). */
export function formatHardNatTable (rows: HardNatRow[]): string {
  const lines = ['| cell (a ↔ b) | delay | direct | time to direct (min / median / max) | easy-side probes | hard-side mappings | easy router SYNs | strategy | not direct |', '|----|----|----|----|----|----|----|----|----|']
  for (const r of rows) {
    const t = r.timeToDirectMs
    lines.push(`| ${r.cell} | ${r.delay} | ${r.direct}/${r.trials} | ${t == null ? '–' : `${t.min} / ${t.median} / ${t.max} ms`} | ${fmtRange(r.easyProbes)} | ${fmtRange(r.hardSockets)} | ${fmtRange(r.easySyns)} | ${r.strategies.join(', ') || '–'} | ${Object.entries(r.failures).map(([k, v]) => `${k} ×${v}`).join(', ') || '–'} |`)
  }
  return lines.join('\n')
}

/** Trials per cell and delay of `natkit-lab hardnat` (`npm run bench:hardnat`). @default 3 */
export const DEFAULT_HARDNAT_TRIALS = 3
/** Largest `natkit-lab hardnat --trials`. */
export const MAX_HARDNAT_TRIALS = 30

/** reports/hard-nat.json: the rows, and per trial what the bench measured (no event logs). */
export interface HardNatReport {
  started: string
  finished: string
  durationMs: number
  trialsPerCell: number
  delays: DelayProfileName[]
  /** The machine (its load average at the start: the lab shares the CPU). */
  machine: Record<string, unknown>
  loadavgAtEnd: number[]
  rows: HardNatRow[]
  trials: Array<Omit<HardNatTrial, 'events' | 'r'> & { outcome: TrialResult['outcome'], timeToDirectMs?: number, timeToRelayedMs?: number, failureReason?: string, error?: string }>
}

/** Runs every cell at every delay `trials` times (`machine`: matrix.ts's `machineInfo()`, taken before the first trial) (bounded by MAX_HARDNAT_TRIALS), one fresh lab per trial. */
export async function runHardNatBench (init: { cells: HardNatCell[], delays: DelayProfileName[], trials: number, machine: Record<string, unknown>, onTrial?: (t: HardNatTrial, index: number, total: number) => void, /** One trial (tests replace it). @default runHardNatTrial */ runTrial?: typeof runHardNatTrial }): Promise<HardNatReport> {
  const run = init.runTrial ?? runHardNatTrial
  if (!Number.isInteger(init.trials) || init.trials < 1 || init.trials > MAX_HARDNAT_TRIALS) throw new RangeError(`trials must be an integer in 1-${MAX_HARDNAT_TRIALS}, got ${init.trials}`)
  const started = new Date()
  const machine = init.machine
  const total = init.cells.length * init.delays.length * init.trials
  const rows: HardNatRow[] = []
  const out: HardNatReport['trials'] = []
  let index = 0
  for (const delay of init.delays) {
    // round robin: trial i of every cell before trial i + 1 of any, so that a
    // machine whose load drifts during the run weighs on every cell alike (the
    // easy pair and its baseline, run one cell after the other, differed by
    // ~15 ms at zero delay; run alternately, by much less)
    const trials = init.cells.map((): HardNatTrial[] => [])
    for (let i = 1; i <= init.trials; i++) {
      for (const [c, cell] of init.cells.entries()) {
        const t = await run(cell, delay, i)
        trials[c]?.push(t)
        init.onTrial?.(t, ++index, total)
        const { r } = t
        out.push({ cell: t.cell, delay: t.delay, trial: t.trial, a: t.a, b: t.b, outcome: r.outcome, ...(r.timeToDirectMs != null ? { timeToDirectMs: r.timeToDirectMs } : {}), ...(r.timeToRelayedMs != null ? { timeToRelayedMs: r.timeToRelayedMs } : {}), ...(r.failureReason != null ? { failureReason: r.failureReason } : {}), ...(r.error != null ? { error: r.error } : {}) })
      }
    }
    for (const [c, cell] of init.cells.entries()) rows.push(hardNatRow(cell, trials[c] ?? []))
  }
  const finished = new Date()
  return { started: started.toISOString(), finished: finished.toISOString(), durationMs: finished.getTime() - started.getTime(), trialsPerCell: init.trials, delays: init.delays, machine, loadavgAtEnd: loadavg().map(x => Math.round(x * 100) / 100), rows, trials: out }
}
