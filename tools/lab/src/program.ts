import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Command, Option } from 'commander'
import { StaleBuildError } from '@natkit/testkit'
import { runDemo } from './demo.js'
import { DEFAULT_SAMPLE_BYTES, MAX_SAMPLE_BYTES, runChatInteractive, runChatScript, TmuxError } from './chat.js'
import { matrixSvg } from './report.js'
import { DELAY_PROFILES, type DelayProfileName } from './delay.js'
import { DEFAULT_DIAL_TIMEOUT_MS, LAB_TRANSPORTS, parseScenario, runTrial, SCENARIOS, summarize, formatSummaryTable, UnknownScenarioError, type LabTransport, type TrialResult, type Summary } from './scenario.js'
import { InvalidDimensionError, LAB_PATHS, parseLoss, peerPathPlan, UnsupportedPathError, type LabPath } from './dimensions.js'
import { assertMatrixBounded, machineInfo, DEFAULT_MATRIX_DIAL_TIMEOUT_MS, DEFAULT_MATRIX_TRIALS_PER_CELL, DEFAULT_MAX_MATRIX_TRIALS, matrixCells, MatrixResumeError, MatrixTooLargeError, MAX_MATRIX_TRIALS, PAIR_SETS, parseMatrixDimensions, resumeFrom, runMatrix, type MatrixReport, type MatrixResume, type MatrixSpec } from './matrix.js'
import { selfCheck } from './check.js'
import { DEFAULT_HARDNAT_TRIALS, EASY_BASELINE_CELL, formatHardNatTable, HARD_NAT_CELLS, MAX_HARDNAT_TRIALS, runHardNatBench } from './hard-nat.js'
import { assertInteropSupported, PEER_IMPLS, RELAY_IMPLS, UnsupportedInteropError, type PeerImpl, type RelayImpl } from './interop.js'
import { cleanupAll, Lab, LabPrerequisiteError, listLeftovers } from './netns.js'
import { DEFAULT_INBOUND_MODE, defaultTopology, describeTopology, INBOUND_MODES, NAT_PROFILES, UnsupportedNatProfileError } from './topology.js'
import type { InboundMode, NatProfile } from './topology.js'

/** Exit code: the lab could not run here (prerequisites, unsupported profile, not implemented). */
export const EXIT_CANNOT_RUN = 2
/** Exit code: the lab ran and a check failed. */
export const EXIT_CHECK_FAILED = 1

export class NotImplementedError extends Error {
  override name = 'NotImplementedError'
}

/** Upper bound of `--trials`. */
export const MAX_TRIALS = 100

export class UsageError extends Error {
  override name = 'UsageError'
}

function parseCount (value: string, flag: string, max: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`invalid value for ${flag}: "${value}" must be an integer from 1 to ${max}`)
  return n
}

function checkDelay (profile: string): DelayProfileName {
  if (profile in DELAY_PROFILES) return profile as DelayProfileName
  throw new UsageError(`unknown delay profile "${profile}" (use ${Object.keys(DELAY_PROFILES).join(', ')})`)
}

/** `--resume`: the kept part of `file`, undefined when there is no such file (a fresh run). */
function readResume (file: string, spec: MatrixSpec): MatrixResume | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`natkit-lab: --resume: no ${file} yet, starting afresh\n`)
      return undefined
    }
    throw new MatrixResumeError(`cannot read ${file}: ${(err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new MatrixResumeError(`${file} is not JSON (${(err as Error).message}); move it away to start afresh`)
  }
  try {
    return resumeFrom(parsed, spec)
  } catch (err) {
    throw new MatrixResumeError(`cannot resume ${file}: ${(err as Error).message}`)
  }
}

/**
 * Writes `file` whole or not at all (a temporary file renamed over it): a
 * report rewritten after every cell is never seen half-written, not by a
 * reader and not by `--resume` after a run stopped mid-write.
 */
function writeJson (file: string, data: unknown): void {
  writeWhole(file, JSON.stringify(data, null, 2) + '\n')
}

function writeWhole (file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, file)
}

function trialLine (r: TrialResult): string {
  const what = r.error != null ? `ERROR ${r.error}` : r.direct ? `direct in ${Math.round(r.timeToDirectMs ?? 0)} ms after relayed (${r.attempts} attempt(s)), RTT ${r.relayedRttMs ?? '-'} -> ${r.directRttMs ?? '-'} ms` : `${r.outcome}: ${r.failureReason ?? '-'}`
  const impls = r.impls != null ? ` [${r.impls.a}→${r.impls.b} via ${r.impls.relay} relay${r.direct ? `, peer-b says ${r.remoteDirect === true ? 'direct' : 'NOT direct'}` : ''}]` : ''
  const conditions = [r.inbound !== 'drop' ? `inbound ${r.inbound}` : '', r.delay !== 'zero' ? `delay ${r.delay}` : '', r.lossPercent > 0 ? `loss ${r.lossPercent}% (${r.lossStats?.lost ?? '?'}/${r.lossStats?.frames ?? '?'} frames dropped)` : '', r.cpuLoad ? `CPU load (${r.cpuBurn?.cpuSeconds ?? '?'} CPU s burnt)` : ''].filter(c => c !== '').join(', ')
  return `trial ${String(r.trial).padStart(3)}  ${r.scenario.padEnd(34)} ${r.transport.padEnd(6)} ${what}${impls}${conditions !== '' ? ` [${conditions}]` : ''}`
}

function chartTitle (report: Partial<MatrixReport> & { delay?: string }): string {
  return `natkit NAT matrix: ${report.trialsPerCell ?? '?'} trial(s) per cell, ${String(report.started ?? '').slice(0, 10)}`
}

function fail (err: unknown): never {
  const e = err as Error
  const cannotRun = e instanceof LabPrerequisiteError || e instanceof UnsupportedNatProfileError || e instanceof NotImplementedError || e instanceof UsageError || e instanceof UnknownScenarioError || e instanceof UnsupportedInteropError || e instanceof StaleBuildError || e instanceof InvalidDimensionError || e instanceof UnsupportedPathError || e instanceof MatrixTooLargeError || e instanceof MatrixResumeError || e instanceof TmuxError
  process.stderr.write(`natkit-lab: ${e.name}: ${e.message}\n`)
  process.exit(cannotRun ? EXIT_CANNOT_RUN : EXIT_CHECK_FAILED)
}

function profileOption (flag: string, description: string, fallback: NatProfile): Option {
  return new Option(flag, description).choices(NAT_PROFILES).default(fallback)
}

function inboundOption (): Option {
  return new Option('--inbound <mode>', 'what the routers do with unsolicited inbound on their WAN: drop (no answer), reset (the router\'s own stack answers: TCP RST, ICMP port unreachable), reject (OpenWrt: reject with tcp reset)').choices(INBOUND_MODES).default(DEFAULT_INBOUND_MODE)
}

/** The `natkit-lab` command line. `run`, `demo` and `matrix` are placeholders. */
export function createProgram (): Command {
  const program = new Command('natkit-lab')
    .description('NAT lab: real NAT routers (nftables) in Linux network namespaces, isolated from the host network')

  program.command('cleanup')
    .description('remove every lab namespace left by earlier runs (prefix nkXXXX-)')
    .option('--prefix <prefix>', 'only this prefix, e.g. nk1a2b-')
    .action(async (opts: { prefix?: string }) => {
      try {
        const removed = await cleanupAll(opts.prefix)
        const left = await listLeftovers(opts.prefix)
        process.stdout.write(removed.length === 0 ? 'nothing to clean up\n' : `removed ${removed.length} namespace(s): ${removed.join(' ')}\n`)
        if (left.links.length + left.tables.length > 0) {
          process.stderr.write(`natkit-lab: unexpected leftovers in the host namespace: ${[...left.links, ...left.tables].join(' ')}\n`)
          process.exit(EXIT_CHECK_FAILED)
        }
      } catch (err) {
        fail(err)
      }
    })

  program.command('topo')
    .description('build the two-NAT topology, print it, run a TCP connectivity self-check and tear it down')
    .addOption(profileOption('--a <profile>', 'NAT in front of peer-a', 'port-restricted'))
    .addOption(profileOption('--b <profile>', 'NAT in front of peer-b', 'port-restricted'))
    .addOption(inboundOption())
    .option('--json', 'print the topology and results as JSON')
    .action(async (opts: { a: NatProfile, b: NatProfile, inbound: InboundMode, json?: boolean }) => {
      let lab: Lab | undefined
      try {
        const topology = defaultTopology(opts.a, opts.b, { inbound: opts.inbound })
        lab = await Lab.create(topology, { log: opts.json === true ? undefined : (l) => { process.stderr.write(`${l}\n`) } })
        const results = await selfCheck(lab)
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify({ prefix: lab.prefix, namespaces: lab.namespaces, topology, results })}\n`)
        } else {
          process.stdout.write(`${describeTopology(topology)}\nnamespaces: ${lab.namespaces.join(' ')}\n`)
          for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.check}: ${r.detail}\n`)
        }
        await lab.destroy()
        lab = undefined
        if (results.some(r => !r.ok)) process.exit(EXIT_CHECK_FAILED)
      } catch (err) {
        await lab?.destroy().catch(() => {})
        fail(err)
      }
    })

  program.command('run')
    .description('run a scenario N times in fresh labs and print per-trial results and a summary')
    .option('--scenario <name>', `${Object.keys(SCENARIOS).join(', ')}, or PROFILE_A:PROFILE_B`, 'port-restricted')
    .addOption(new Option('--transport <path>', 'direct paths the peers may use: tcp (hole punching), webrtc, or auto (all raced; needs natkit-peer --direct-paths)').choices([...LAB_PATHS]).default('tcp'))
    .option('--trials <n>', `trials (1-${MAX_TRIALS})`, '1')
    .option('--loss <percent>', 'random loss per link and direction on every router, relay and public-peer link (delay line, also at zero delay), e.g. 1%', '0')
    .option('--cpu-load', 'run a CPU burner (one busy loop per core, bounded) beside the peers during each trial')
    .option('--delay <profile>', `link delay: ${Object.keys(DELAY_PROFILES).join(', ')} (interop: router links 100 ms RTT, relay 25 ms, by a userspace delay line)`, 'zero')
    .option('--timeout <ms>', 'how long peer-a waits for a direct connection', String(DEFAULT_DIAL_TIMEOUT_MS))
    .option('--full', 'also run bootstrap and AutoNAT servers and check reachability from both peers')
    .addOption(inboundOption())
    .option('--json <file>', 'write every trial and the summary as JSON')
    .addOption(new Option('--peer-a <impl>', 'who runs peer-a, the dialer (go/rust: tools/interop, TCP only)').choices([...PEER_IMPLS]).default('natkit'))
    .addOption(new Option('--peer-b <impl>', 'who runs peer-b, the listener').choices([...PEER_IMPLS]).default('natkit'))
    .addOption(new Option('--relay-impl <impl>', 'who runs the circuit relay v2 server').choices([...RELAY_IMPLS]).default('natkit'))
    .action(async (opts: { scenario: string, transport: LabPath, trials: string, loss: string, cpuLoad?: boolean, delay: string, timeout: string, full?: boolean, inbound: InboundMode, json?: string, peerA: PeerImpl, peerB: PeerImpl, relayImpl: RelayImpl }) => {
      try {
        const [a, b] = parseScenario(opts.scenario)
        const trials = parseCount(opts.trials, '--trials', MAX_TRIALS)
        const dialTimeoutMs = parseCount(opts.timeout, '--timeout', 600_000)
        const delay = checkDelay(opts.delay)
        const lossPercent = parseLoss(opts.loss)
        const cpuLoad = opts.cpuLoad === true
        const impls = { peerA: opts.peerA, peerB: opts.peerB, relay: opts.relayImpl }
        assertInteropSupported(opts.transport, { a: impls.peerA, b: impls.peerB, relay: impls.relay })
        const results: TrialResult[] = []
        for (let i = 1; i <= trials; i++) {
          const r = await runTrial({ a, b, transport: opts.transport, trial: i, dialTimeoutMs, full: opts.full, delay, inbound: opts.inbound, lossPercent, cpuLoad, ...impls })
          results.push(r)
          process.stdout.write(`${trialLine(r)}\n`)
        }
        const summary = summarize(results)
        process.stdout.write(`\n${formatSummaryTable(summary)}\n`)
        if (opts.json != null) writeJson(opts.json, { scenario: opts.scenario, a, b, transport: opts.transport, delay: opts.delay, inbound: opts.inbound, lossPercent, cpuLoad, results, summary })
      } catch (err) {
        fail(err)
      }
    })

  program.command('matrix')
    .description('NAT profile pairs x inbound behaviour x direct paths x delay x loss x CPU load, N trials per cell in fresh labs; writes <out>/<name>.json (every trial + a summary per cell) and <out>/<name>.svg')
    .option('--pairs <list>', `NAT pairs: ${Object.keys(PAIR_SETS).join(', ')} (sets) and/or A:B pairs, comma-separated`, 'default')
    .option('--nat <profiles>', `NAT profiles (${NAT_PROFILES.join(', ')}), comma-separated: every pair of them (instead of the default pairs; added to explicit --pairs)`)
    .option('--inbound <list>', 'unsolicited-inbound behaviours of the routers: drop, reset, reject', 'drop,reset')
    .option('--paths <list>', 'direct paths: tcp, webrtc, auto (default: tcp,webrtc,auto; auto only when natkit-peer has --direct-paths)')
    .option('--delay <list>', `link delay profiles: ${Object.keys(DELAY_PROFILES).join(', ')}`, 'zero')
    .option('--loss <list>', 'random loss per link and direction, e.g. 0,1%,5%', '0')
    .option('--cpu-load [list]', 'CPU burner beside the peers: off, on or off,on (the bare flag means on)', 'off')
    .option('--trials <n>', `trials per cell (1-${MAX_TRIALS})`, String(DEFAULT_MATRIX_TRIALS_PER_CELL))
    .option('--max-trials <n>', `refuse a matrix of more trials than this (1-${MAX_MATRIX_TRIALS})`, String(DEFAULT_MAX_MATRIX_TRIALS))
    .option('--timeout <ms>', 'how long peer-a waits for a direct connection', String(DEFAULT_MATRIX_DIAL_TIMEOUT_MS))
    .option('--label <text>', 'what this run is, stored in the JSON (e.g. "smoke subset")')
    .option('--out <dir>', 'report directory', 'reports')
    .option('--name <name>', 'report file name without extension', 'matrix')
    .option('--dry-run', 'print the cells and the trial count, run nothing')
    .option('--resume', 'continue <out>/<name>.json (a run that was stopped): keep its complete cells, measure the rest; it must have the same dimensions, --trials and --timeout. Without that file: a fresh run')
    .action(async (opts: { pairs: string, nat?: string, inbound: string, paths?: string, delay: string, loss: string, cpuLoad: string | boolean, trials: string, maxTrials: string, timeout: string, label?: string, out: string, name: string, dryRun?: boolean, resume?: boolean }) => {
      try {
        const dims = parseMatrixDimensions({ pairs: opts.pairs, nat: opts.nat, inbound: opts.inbound, paths: opts.paths, delay: opts.delay, loss: opts.loss, cpuLoad: opts.cpuLoad === true ? 'on' : String(opts.cpuLoad) })
        const trialsPerCell = parseCount(opts.trials, '--trials', MAX_TRIALS)
        const maxTrials = parseCount(opts.maxTrials, '--max-trials', MAX_MATRIX_TRIALS)
        const dialTimeoutMs = parseCount(opts.timeout, '--timeout', 600_000)
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.name)) throw new UsageError(`invalid --name "${opts.name}": 1-64 characters [A-Za-z0-9._-]`)
        if (dims.note != null) process.stderr.write(`natkit-lab: ${dims.note}\n`)
        const cells = matrixCells(dims)
        if (opts.dryRun === true) {
          for (const c of cells) process.stdout.write(`${c.a}:${c.b} ${c.path} inbound ${c.inbound} delay ${c.delay} loss ${c.lossPercent}% cpu ${c.cpuLoad ? 'on' : 'off'}\n`)
          process.stdout.write(`${cells.length} cells × ${trialsPerCell} trials = ${cells.length * trialsPerCell} trials${cells.length * trialsPerCell > maxTrials ? ` (more than --max-trials ${maxTrials}: a real run would be refused)` : ''}\n`)
          return
        }
        const total = assertMatrixBounded(cells.length, trialsPerCell, maxTrials)
        const json = join(opts.out, `${opts.name}.json`)
        const svg = join(opts.out, `${opts.name}.svg`)
        const spec = { ...dims, trialsPerCell, dialTimeoutMs }
        const resume = opts.resume === true ? readResume(json, spec) : undefined
        const kept = resume?.results.length ?? 0
        if (resume != null && kept === total) {
          process.stdout.write(`nothing to resume: ${json} holds all ${cells.length} cells\n`)
          return
        }
        // fail before the first lab, not once per trial
        if (dims.paths.includes('auto')) peerPathPlan('auto')
        process.stderr.write(`natkit-lab: matrix of ${cells.length} cells × ${trialsPerCell} trials = ${total} trials${resume != null ? `; resuming ${json}: ${kept / trialsPerCell} cells kept, ${total - kept} trials to run` : ''}\n`)
        const report = await runMatrix(spec, {
          label: opts.label,
          ...(resume != null ? { resume } : {}),
          onTrial: (r, i, n) => { process.stdout.write(`[${i}/${n}] ${trialLine(r)}\n`) },
          // the report so far after every cell (marked "incomplete"), replaced by the whole one at the end
          // the chart first: once the JSON says a cell is done, its chart is there
          onCell: (partial) => {
            writeWhole(svg, matrixSvg(partial.summary, chartTitle(partial), `${partial.label ?? ''} (incomplete: ${partial.incomplete?.cellsDone ?? 0}/${partial.incomplete?.cells ?? 0} cells)`.trim()))
            writeJson(json, partial)
          }
        })
        process.stdout.write(`\n${formatSummaryTable(report.summary)}\n`)
        writeWhole(svg, matrixSvg(report.summary, chartTitle(report), report.label))
        writeJson(json, report)
        process.stdout.write(`wrote ${json} and ${svg} (${Math.round(report.durationMs / 1000)} s)\n`)
      } catch (err) {
        fail(err)
      }
    })

  program.command('hardnat')
    .description('hard-NAT benchmark (issue 13): per cell of HARD_NAT_CELLS, N trials in fresh labs (TCP); prints probe counts and time to direct per hard pair and writes <out>/<name>.json')
    .option('--trials <n>', `trials per cell and delay (1-${MAX_HARDNAT_TRIALS})`, String(DEFAULT_HARDNAT_TRIALS))
    .option('--delay <list>', `link delay profiles: ${Object.keys(DELAY_PROFILES).join(', ')}`, 'zero,interop')
    .option('--cells <list>', `cell indexes, comma-separated (0-${HARD_NAT_CELLS.length - 1}: ${HARD_NAT_CELLS.map((c, i) => `${i} ${c.name}`).join('; ')}; baseline: the easy pair without NAT discovery); default: all, plus the baseline`)
    .option('--out <dir>', 'report directory', 'reports')
    .option('--name <name>', 'report file name without extension', 'hard-nat')
    .action(async (opts: { trials: string, delay: string, cells?: string, out: string, name: string }) => {
      try {
        const trials = parseCount(opts.trials, '--trials', MAX_HARDNAT_TRIALS)
        const delays = [...new Set(opts.delay.split(',').map(d => checkDelay(d.trim())))]
        const cells = opts.cells == null ? [...HARD_NAT_CELLS, EASY_BASELINE_CELL] : opts.cells.split(',').map((i) => {
          if (i.trim() === 'baseline') return EASY_BASELINE_CELL
          const cell = /^\d+$/.test(i.trim()) ? HARD_NAT_CELLS[Number(i.trim())] : undefined
          if (cell == null) throw new UsageError(`invalid value for --cells: "${i}" is not a cell index (0-${HARD_NAT_CELLS.length - 1}) or baseline`)
          return cell
        })
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.name)) throw new UsageError(`invalid --name "${opts.name}": 1-64 characters [A-Za-z0-9._-]`)
        const report = await runHardNatBench({ cells, delays, trials, machine: machineInfo(), onTrial: (t, i, n) => { process.stdout.write(`[${i}/${n}] ${t.cell} @ ${t.delay}: ${trialLine(t.r)}; probes a ${t.a.outcome?.probes ?? 0} b ${t.b.outcome?.probes ?? 0}\n`) } })
        process.stdout.write(`\n${formatHardNatTable(report.rows)}\n`)
        const json = join(opts.out, `${opts.name}.json`)
        writeJson(json, report)
        process.stdout.write(`wrote ${json} (${Math.round(report.durationMs / 1000)} s, load average ${report.machine.loadavg as string} → ${report.loadavgAtEnd.join(' ')})\n`)
      } catch (err) {
        fail(err)
      }
    })

  program.command('chart')
    .description('render the SVG chart again from a matrix JSON report')
    .option('--in <file>', 'matrix JSON report', 'reports/matrix.json')
    .option('--out <file>', 'SVG to write', 'reports/matrix.svg')
    .action((opts: { in: string, out: string }) => {
      try {
        let report: Partial<MatrixReport> & { delay?: string }
        try {
          report = JSON.parse(readFileSync(opts.in, 'utf8'))
        } catch (err) {
          throw new UsageError(`cannot read matrix report ${opts.in}: ${(err as Error).message}`)
        }
        if (!Array.isArray(report.summary)) throw new UsageError(`${opts.in} has no "summary" array: not a natkit-lab matrix report`)
        writeFileSync(opts.out, matrixSvg(report.summary as Summary[], chartTitle(report), report.label))
        process.stdout.write(`wrote ${opts.out}\n`)
      } catch (err) {
        fail(err)
      }
    })

  program.command('chat')
    .description('two natkit-peer shells behind lab NATs side by side in tmux (chat, file sharing); --script runs a checked session and prints its transcript')
    .option('--scenario <name>', `NAT pair: ${Object.keys(SCENARIOS).join(', ')}, or PROFILE_A:PROFILE_B`, 'port-restricted')
    .option('--script', 'no tmux: drive both shells through a short session (chat both ways, a file transfer) and check every step; exit 0 only if all happened')
    .option('--json <file>', 'with --script: write the steps and both peers\' events as JSON')
    .option('--sample-mib <n>', `size of the sample file in peer-b's directory, in MiB (1-${MAX_SAMPLE_BYTES / 1048576})`, String(DEFAULT_SAMPLE_BYTES / 1048576))
    .option('--tmux-socket <name>', 'tmux server socket (tmux -L) for the session (default: natkit-lab-<lab prefix>)')
    .option('--no-attach', 'open the tmux session detached (default: attach when on a terminal)')
    .action(async (opts: { scenario: string, script?: boolean, json?: string, sampleMib: string, tmuxSocket?: string, attach: boolean }) => {
      try {
        const [a, b] = parseScenario(opts.scenario)
        const sampleBytes = parseCount(opts.sampleMib, '--sample-mib', MAX_SAMPLE_BYTES / 1048576) * 1048576
        if (opts.tmuxSocket != null && !/^[A-Za-z0-9._-]{1,64}$/.test(opts.tmuxSocket)) throw new UsageError(`invalid --tmux-socket "${opts.tmuxSocket}": 1-64 characters [A-Za-z0-9._-]`)
        if (opts.script !== true) {
          if (opts.json != null) throw new UsageError('--json needs --script')
          process.exit(await runChatInteractive({ a, b, sampleBytes, socket: opts.tmuxSocket, attach: opts.attach ? undefined : false }))
        }
        const report = await runChatScript({ a, b, sampleBytes })
        if (opts.json != null) writeJson(opts.json, report)
        const failed = report.steps.find(s => !s.ok)
        process.stdout.write(`\n${report.steps.map(s => `${s.ok ? 'ok  ' : 'FAIL'} ${s.step} (${s.ms} ms)${s.error != null ? `: ${s.error}` : ''}`).join('\n')}\n`)
        if (!report.ok) {
          process.stderr.write(`natkit-lab: chat script failed: ${failed != null ? `${failed.step}: ${failed.error ?? ''}` : 'not every step ran'}\n`)
          process.exit(EXIT_CHECK_FAILED)
        }
      } catch (err) {
        fail(err)
      }
    })

  program.command('demo')
    .description('the NAT traversal demo: two peers behind NATs get a direct connection, as a live timeline')
    .option('--scenario <name>', 'NAT pair', 'port-restricted')
    .addOption(new Option('--transport <transport>', 'tcp or webrtc').choices([...LAB_TRANSPORTS]).default('tcp'))
    .action(async (opts: { scenario: string, transport: LabTransport }) => {
      try {
        const code = await runDemo(parseScenario(opts.scenario), opts.transport)
        process.exit(code)
      } catch (err) {
        fail(err)
      }
    })
  return program
}
