/**
 * `natkit-lab chat`: two `natkit-peer shell`s behind lab NATs, side by side
 * in a tmux session for a person to type in, or driven through their stdin by
 * a short script (`--script`) that prints a readable transcript and checks
 * every step from the shells' events.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, rmSync } from 'node:fs'
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatHuman, type NatkitEvent, type NatkitEventName } from '@natkit/events'
import { cidFromDigest } from '@natkit/file-share'
import { startPeerLab, type PeerLab } from './peer-lab.js'
import { REPO_ROOT, type RoleHandle } from './procs.js'
import { DEFAULT_STARTUP_TIMEOUT_MS } from './scenario.js'
import { describeTopology, defaultTopology, type NatProfile } from './topology.js'

/** Name of the sample file prepared in peer-b's working directory. @default 'sample.bin' */
export const SAMPLE_FILE_NAME = 'sample.bin'
/** Size of the sample file (random bytes). @default 8 MiB */
export const DEFAULT_SAMPLE_BYTES = 8 * 1024 * 1024
/** Largest `--sample-size`. @default 256 MiB */
export const MAX_SAMPLE_BYTES = 256 * 1024 * 1024
/** The chat topic of the hints and the script. @default 'chat' */
export const CHAT_TOPIC = 'chat'
/** The tmux session's name. @default 'natkit-chat' */
export const TMUX_SESSION = 'natkit-chat'
/** How long an interactive session may last before the lab is torn down anyway, in ms. @default 8 h */
export const DEFAULT_CHAT_SESSION_MAX_MS = 8 * 60 * 60 * 1000
/** How often `natkit-lab chat` checks whether the tmux session still exists, in ms. @default 500 */
export const TMUX_POLL_INTERVAL_MS = 500
/** Bound on one tmux command (new-session, has-session, …), in ms. @default 5000 */
export const TMUX_COMMAND_TIMEOUT_MS = 5_000
/** `--script`: bound on the file transfer (provider search, relayed connection, hole punch, transfer), in ms. @default 60000 */
export const SCRIPT_TRANSFER_TIMEOUT_MS = 60_000
/** `--script`: bound on one command's result, a DHT announcement or a chat message crossing, in ms. @default 15000 */
export const SCRIPT_STEP_TIMEOUT_MS = 15_000

/** One side of the chat: the lab host, its namespace and working directory. */
export interface ChatPane {
  role: 'peer-a' | 'peer-b'
  /** Network namespace of the host (behind its NAT). */
  ns: string
  /** Working directory (`share`/`get` paths are relative to it). */
  cwd: string
  /** The first lines shown: what to type. */
  hint: readonly string[]
  /** `natkit-peer` arguments. */
  args: string[]
}

/** The sample file peer-b shares. */
export interface SampleFile {
  path: string
  bytes: number
  cid: string
  sha256: string
}

/** Quotes a word for sh (single quotes unless it is plainly safe). */
export function shellQuote (word: string): string {
  return /^[A-Za-z0-9_/.:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`
}

/**
 * The command line that runs one pane's shell: in the host's namespace, Node
 * 24 and the repository's bins first on PATH, in its working directory,
 * printing the hint first. A shell that fails keeps its pane open until Enter
 * so the error can be read; `quit` closes it.
 */
export function paneCommand (pane: ChatPane, repoRoot = REPO_ROOT, path = process.env.PATH ?? '/usr/bin:/bin'): string {
  const bin = join(repoRoot, 'node_modules', '.bin')
  const script = [
    `cd ${shellQuote(pane.cwd)} || exit 1`,
    `printf '%s\\n' ${pane.hint.map(shellQuote).join(' ')}`,
    ['natkit-peer', ...pane.args].map(shellQuote).join(' '),
    'rc=$?',
    'if [ $rc -ne 0 ]; then printf "natkit-peer exited with status %s; press Enter to close this pane " $rc; read _; fi'
  ].join('; ')
  return ['ip', 'netns', 'exec', pane.ns, 'env', `PATH=${bin}:${path}`, 'sh', '-c', script].map(shellQuote).join(' ')
}

/** The `tmux` invocations (argument lists, socket `-L socket`) that open both panes side by side, titled, in a detached session. */
export function tmuxCommands (socket: string, panes: readonly [ChatPane, ChatPane], titles: readonly [string, string], repoRoot = REPO_ROOT, path?: string): string[][] {
  const t = (...args: string[]): string[] => ['-L', socket, ...args]
  return [
    t('new-session', '-d', '-s', TMUX_SESSION, '-x', '200', '-y', '50', paneCommand(panes[0], repoRoot, path)),
    t('split-window', '-h', '-t', `${TMUX_SESSION}:0`, paneCommand(panes[1], repoRoot, path)),
    t('set-option', '-t', TMUX_SESSION, 'pane-border-status', 'top'),
    t('set-option', '-t', TMUX_SESSION, 'status-right', ' Ctrl-b o: other pane  Ctrl-b d: detach '),
    t('select-pane', '-t', `${TMUX_SESSION}:0.0`, '-T', titles[0]),
    t('select-pane', '-t', `${TMUX_SESSION}:0.1`, '-T', titles[1])
  ]
}

/** What to type in each pane: a few short lines, shown first. */
export function chatHints (sample: SampleFile): { a: string[], b: string[] } {
  return {
    b: [`peer-b: type  join ${CHAT_TOPIC}  then  share ${SAMPLE_FILE_NAME}  (${mib(sample.bytes)} MiB), then chat:  say ${CHAT_TOPIC} <text>`, `  (share once "published this peer's addresses to the DHT" showed)`],
    a: [`peer-a: type  join ${CHAT_TOPIC}  then, once peer-b's "announced … in the DHT" showed:`, `  get ${sample.cid}`, `  then chat:  say ${CHAT_TOPIC} <text>`]
  }
}

function mib (bytes: number): string {
  return (bytes / 1048576).toFixed(bytes % 1048576 === 0 ? 0 : 1)
}

/** Writes `bytes` random bytes to `path` in 1 MiB writes; returns its CID and sha-256. */
export async function writeSampleFile (path: string, bytes: number): Promise<SampleFile> {
  const hash = createHash('sha256')
  const fh = await open(path, 'wx', 0o644)
  try {
    for (let left = bytes; left > 0;) {
      const chunk = randomBytes(Math.min(left, 1048576))
      hash.update(chunk)
      await fh.write(chunk)
      left -= chunk.byteLength
    }
  } finally {
    await fh.close()
  }
  const digest = hash.digest()
  return { path, bytes, cid: cidFromDigest(digest).toString(), sha256: digest.toString('hex') }
}

async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk)
  return hash.digest('hex')
}

export interface ChatOptions {
  a: NatProfile
  b: NatProfile
  /** Size of the sample file. @default DEFAULT_SAMPLE_BYTES */
  sampleBytes?: number
  /** Where lines go. @default stdout */
  out?: (line: string) => void
}

/** A lab with both peers' working directories and the sample file in peer-b's. */
interface ChatLab {
  peers: PeerLab
  root: string
  dirs: { a: string, b: string }
  sample: SampleFile
  close: () => Promise<void>
}

async function startChatLab (o: ChatOptions, seed: string): Promise<ChatLab> {
  const root = await mkdtemp(join(tmpdir(), 'natkit-lab-chat-'))
  const dirs = { a: join(root, 'peer-a'), b: join(root, 'peer-b') }
  const removeDirs = async (): Promise<void> => { await rm(root, { recursive: true, force: true }) }
  let peers: PeerLab | undefined
  try {
    await mkdir(dirs.a)
    await mkdir(dirs.b)
    const sample = await writeSampleFile(join(dirs.b, SAMPLE_FILE_NAME), o.sampleBytes ?? DEFAULT_SAMPLE_BYTES)
    peers = await startPeerLab(o.a, o.b, { seed })
    const p = peers
    // on SIGINT/SIGTERM the lab's own handler tears the lab down and exits: remove the files first
    const onSignal = (): void => { rmSync(root, { recursive: true, force: true }) }
    process.prependListener('SIGINT', onSignal)
    process.prependListener('SIGTERM', onSignal)
    const close = async (): Promise<void> => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      try { await p.close() } finally { await removeDirs() }
    }
    return { peers, root, dirs, sample, close }
  } catch (err) {
    await peers?.close().catch(() => {})
    await removeDirs()
    throw err
  }
}

// ---------------------------------------------------------------------------
// --script

/** A scripted step did not happen (within its bound). */
export class ChatScriptError extends Error {
  static override name = 'ChatScriptError'
  override name = 'ChatScriptError'
}

export interface ChatStep {
  step: string
  ok: boolean
  ms: number
  error?: string
}

export interface ChatScriptReport {
  a: NatProfile
  b: NatProfile
  prefix: string
  sample: Omit<SampleFile, 'path'>
  received?: { path: string, sha256: string }
  steps: ChatStep[]
  ok: boolean
  events: { 'peer-a': NatkitEvent[], 'peer-b': NatkitEvent[] }
}

/** Events printed in the transcript (the others are in `--json`). */
export const TRANSCRIPT_EVENTS: ReadonlySet<string> = new Set<NatkitEventName>([
  'command:result', 'command:error', 'pubsub:message', 'pubsub:peer', 'message', 'file:waiting', 'file:progress',
  'file:received', 'holepunch:success', 'holepunch:failure', 'reservation', 'warn', 'error'
])

/**
 * Whether the transcript shows an event: {@link TRANSCRIPT_EVENTS}, the DHT
 * announcement of a shared file, and connections between the two peers (not
 * to the relay or bootstrap node: `servers` are their peer ids).
 */
export function inTranscript (e: NatkitEvent, servers: readonly string[]): boolean {
  if (TRANSCRIPT_EVENTS.has(e.event)) return true
  if (e.event === 'info') return e.message.startsWith('announced ')
  if (e.event === 'peer:connect' || e.event === 'peer:disconnect') return !servers.includes(e.remotePeer)
  return false
}

/** natkit-peer's `info` once its addresses are in the DHT (it is then in the DHT). */
const PUBLISHED_MESSAGE = 'published this peer\'s addresses to the DHT'

/** Width of the role column of the transcript. */
const ROLE_WIDTH = 7

/**
 * Runs the scripted session and prints a transcript (both peers' human
 * output, interleaved, each line prefixed with the role). Resolves with the
 * report; `report.ok` is true only if every step happened within its bound
 * and the received file's sha-256 matches.
 */
export async function runChatScript (o: ChatOptions): Promise<ChatScriptReport> {
  const out = o.out ?? ((line: string) => { process.stdout.write(`${line}\n`) })
  const chat = await startChatLab(o, 'lab-chat')
  const { peers, dirs, sample } = chat
  const report: ChatScriptReport = { a: o.a, b: o.b, prefix: peers.lab.prefix, sample: { bytes: sample.bytes, cid: sample.cid, sha256: sample.sha256 }, steps: [], ok: false, events: { 'peer-a': [], 'peer-b': [] } }
  const print = (role: string, text: string): void => { for (const line of text.split('\n')) out(`${role.padEnd(ROLE_WIDTH)}│ ${line}`) }
  const servers = [peers.relayMa, peers.bootstrapMa].map(ma => ma.split('/p2p/')[1])
  const shell = (role: 'peer-a' | 'peer-b'): RoleHandle => {
    const h = peers.start(role, 'peer', peers.shellArgs(role), { cwd: role === 'peer-a' ? dirs.a : dirs.b })
    h.onEvent((e) => { if (inTranscript(e, servers)) print(role, formatHuman(e)) })
    return h
  }
  const send = (h: RoleHandle, role: string, line: string): void => {
    print(role, `natkit> ${line}`)
    h.send(line)
  }
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now()
    try {
      const r = await fn()
      report.steps.push({ step: name, ok: true, ms: Math.round(performance.now() - t0) })
      return r
    } catch (err) {
      const message = (err as Error).message.split('\n')[0].slice(0, 500)
      report.steps.push({ step: name, ok: false, ms: Math.round(performance.now() - t0), error: message })
      throw new ChatScriptError(`step "${name}" failed: ${message}`)
    }
  }
  const result = async (h: RoleHandle, command: string, after: number): Promise<NatkitEvent<'command:result'>> => {
    // the result of this command: the first one after the events seen before it was sent
    const r = await Promise.race([
      h.waitForEvent('command:result', (e) => e.command === command && h.events.indexOf(e) >= after, SCRIPT_STEP_TIMEOUT_MS),
      h.waitForEvent('command:error', (e) => e.command === command && h.events.indexOf(e) >= after, SCRIPT_STEP_TIMEOUT_MS).then((e) => { throw new Error(`${command}: ${e.message}`) })
    ])
    return r
  }
  const run = async (h: RoleHandle, role: string, line: string): Promise<NatkitEvent<'command:result'>> => {
    const after = h.events.length
    send(h, role, line)
    return await result(h, line.split(' ')[0], after)
  }
  let a: RoleHandle | undefined
  let b: RoleHandle | undefined
  try {
    out(`natkit-lab chat --script: peer-a behind ${o.a} NAT, peer-b behind ${o.b} NAT (lab ${peers.lab.prefix})`)
    out(describeTopology(defaultTopology(o.a, o.b)))
    out(`peer-b's working directory holds ${SAMPLE_FILE_NAME} (${sample.bytes} random bytes, ${sample.cid})`)
    out('')
    const bShell = b = shell('peer-b')
    const bId = await step('peer-b reserved a relay slot and is in the DHT', async () => {
      const id = (await bShell.waitForEvent('reservation', () => true, DEFAULT_STARTUP_TIMEOUT_MS)).peerId
      // a DHT query before the peer joined the DHT would find nothing
      await bShell.waitForEvent('info', (e) => e.message === PUBLISHED_MESSAGE, DEFAULT_STARTUP_TIMEOUT_MS)
      return id
    })
    await step('peer-b joined the topic', async () => run(bShell, 'peer-b', `join ${CHAT_TOPIC}`))
    await step('peer-b shared the file', async () => {
      await run(bShell, 'peer-b', `share ${SAMPLE_FILE_NAME}`)
      const shared = await bShell.waitForEvent('file:shared', () => true, SCRIPT_STEP_TIMEOUT_MS)
      if (shared.cid !== sample.cid) throw new Error(`shared as ${shared.cid}, expected ${sample.cid}`)
      await bShell.waitForEvent('info', (e) => e.message === `announced ${sample.cid} in the DHT`, SCRIPT_STEP_TIMEOUT_MS)
    })

    const aShell = a = shell('peer-a')
    const aId = await step('peer-a reserved a relay slot and is in the DHT', async () => {
      const id = (await aShell.waitForEvent('reservation', () => true, DEFAULT_STARTUP_TIMEOUT_MS)).peerId
      // a DHT query before the peer joined the DHT would find nothing
      await aShell.waitForEvent('info', (e) => e.message === PUBLISHED_MESSAGE, DEFAULT_STARTUP_TIMEOUT_MS)
      return id
    })
    await step('peer-a joined the topic', async () => run(aShell, 'peer-a', `join ${CHAT_TOPIC}`))
    send(aShell, 'peer-a', `get ${sample.cid}`)
    await step('peer-a found peer-b and waited on the relayed connection', async () => {
      const waiting = await aShell.waitForEvent('file:waiting', () => true, SCRIPT_TRANSFER_TIMEOUT_MS)
      if (waiting.peer !== bId) throw new Error(`waiting for ${waiting.peer ?? '?'}, expected peer-b ${bId}`)
    })
    const received = await step('peer-a received the file, verified', async () => {
      const r = await Promise.race([
        aShell.waitForEvent('file:received', (e) => e.cid === sample.cid, SCRIPT_TRANSFER_TIMEOUT_MS),
        aShell.waitForEvent('command:error', (e) => e.command === 'get', SCRIPT_TRANSFER_TIMEOUT_MS).then((e) => { throw new Error(`get: ${e.message}`) })
      ])
      if (r.from !== bId || r.bytes !== sample.bytes) throw new Error(`received ${r.bytes} bytes from ${r.from}, expected ${sample.bytes} from ${bId}`)
      return r
    })
    await step('progress was reported', async () => {
      const progress = aShell.events.filter((e): e is NatkitEvent<'file:progress'> => e.event === 'file:progress' && e.cid === sample.cid)
      if (progress.length < 2 || progress.at(-1)?.bytes !== sample.bytes) throw new Error(`${progress.length} progress event(s), last at ${progress.at(-1)?.bytes ?? 0} of ${sample.bytes} bytes`)
    })
    await step('the file came over a direct connection', async () => {
      const peersResult = await run(aShell, 'peer-a', 'peers')
      const rows = (peersResult.data ?? []) as Array<{ peer: string, direct: boolean }>
      if (!rows.some(r => r.peer === bId && r.direct)) throw new Error(`no direct connection to peer-b in ${JSON.stringify(rows)}`)
      const first = aShell.events.find((e): e is NatkitEvent<'peer:connect'> => e.event === 'peer:connect' && e.remotePeer === bId)
      if (first?.limited !== true) throw new Error('the first connection to peer-b was not relayed')
    })
    await step('the sha-256 of the received file matches', async () => {
      const digest = await sha256File(received.path)
      report.received = { path: received.path, sha256: digest }
      if (received.path !== join(dirs.a, SAMPLE_FILE_NAME)) throw new Error(`saved to ${received.path}, expected ${join(dirs.a, SAMPLE_FILE_NAME)}`)
      if (digest !== sample.sha256) throw new Error(`sha-256 ${digest}, expected ${sample.sha256}`)
    })
    await step('both peers see each other on the topic', async () => {
      await aShell.waitForEvent('pubsub:peer', (e) => e.peer === bId && e.subscribed && e.topic === CHAT_TOPIC, SCRIPT_STEP_TIMEOUT_MS)
      await bShell.waitForEvent('pubsub:peer', (e) => e.peer === aId && e.subscribed && e.topic === CHAT_TOPIC, SCRIPT_STEP_TIMEOUT_MS)
    })
    await step('a message from peer-a reached peer-b', async () => {
      const text = 'hello from behind router-a'
      await run(aShell, 'peer-a', `say ${CHAT_TOPIC} ${text}`)
      await bShell.waitForEvent('pubsub:message', (e) => e.text === text && e.from === aId, SCRIPT_STEP_TIMEOUT_MS)
    })
    await step('a message from peer-b reached peer-a', async () => {
      const text = 'hi peer-a, peer-b here: got the file?'
      await run(bShell, 'peer-b', `say ${CHAT_TOPIC} ${text}`)
      await aShell.waitForEvent('pubsub:message', (e) => e.text === text && e.from === bId, SCRIPT_STEP_TIMEOUT_MS)
    })
    await step('both shells quit with status 0', async () => {
      send(aShell, 'peer-a', 'quit')
      send(bShell, 'peer-b', 'quit')
      const codes = await Promise.race([
        Promise.all([aShell.exited, bShell.exited]),
        new Promise<never>((_resolve, reject) => { setTimeout(() => { reject(new Error(`still running after ${SCRIPT_STEP_TIMEOUT_MS} ms`)) }, SCRIPT_STEP_TIMEOUT_MS).unref() })
      ])
      if (codes.some(c => c !== 0)) throw new Error(`exit statuses ${codes.join(', ')}`)
    })
    const errors = [...aShell.events, ...bShell.events].filter(e => e.event === 'command:error')
    await step('no command failed', async () => { if (errors.length > 0) throw new Error(errors.map(e => formatHuman(e)).join('; ')) })
    report.ok = true
    return report
  } catch (err) {
    if (err instanceof ChatScriptError) return report
    throw err
  } finally {
    report.events['peer-a'] = a?.events ?? []
    report.events['peer-b'] = b?.events ?? []
    await chat.close()
  }
}

// ---------------------------------------------------------------------------
// tmux

export class TmuxError extends Error {
  static override name = 'TmuxError'
  override name = 'TmuxError'
}

function tmux (args: string[]): { ok: boolean, stderr: string } {
  const r = spawnSync('tmux', args, { encoding: 'utf8', timeout: TMUX_COMMAND_TIMEOUT_MS, env: tmuxEnv() })
  return { ok: r.status === 0, stderr: (r.stderr ?? '').trim() || (r.error?.message ?? '') }
}

/** Without $TMUX, so the session opens (and attaches) also from inside another tmux. */
function tmuxEnv (): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.TMUX
  return env
}

/** Where tmux keeps the socket of `tmux -L name` (it stays behind after the server exits). */
export function tmuxSocketPath (name: string): string {
  return join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, name)
}

/** Whether tmux can be run here. */
export function hasTmux (): boolean {
  return spawnSync('tmux', ['-V'], { stdio: 'ignore', timeout: TMUX_COMMAND_TIMEOUT_MS }).status === 0
}

export interface ChatTmuxOptions extends ChatOptions {
  /** tmux server socket name (`tmux -L`). @default `natkit-lab-<lab prefix>` */
  socket?: string
  /** Attach to the session. @default when stdin and stdout are terminals */
  attach?: boolean
  /** Bound on the session. @default DEFAULT_CHAT_SESSION_MAX_MS */
  maxMs?: number
}

/**
 * The interactive mode: the lab, both shells in a tmux session (attached when
 * on a terminal), and teardown once the session ended (both shells quit, or
 * the session was killed), on SIGINT/SIGTERM, or after `maxMs`. Without
 * tmux: prints the two commands to run in two terminals and keeps the lab up
 * until SIGINT/SIGTERM. Resolves with the exit status.
 */
export async function runChatInteractive (o: ChatTmuxOptions): Promise<number> {
  const out = o.out ?? ((line: string) => { process.stdout.write(`${line}\n`) })
  const withTmux = hasTmux()
  const chat = await startChatLab(o, 'lab-chat')
  const { peers, dirs, sample } = chat
  const socket = o.socket ?? `natkit-lab-${peers.lab.prefix.replace(/-$/, '')}`
  let sessionOpen = false
  // a signal: close the session first (its shells are not lab children), then the lab's own handler tears the lab down
  const onSignal = (): void => { if (sessionOpen) tmux(['-L', socket, 'kill-server']) }
  process.prependListener('SIGINT', onSignal)
  process.prependListener('SIGTERM', onSignal)
  try {
    const hints = chatHints(sample)
    const panes: [ChatPane, ChatPane] = [
      { role: 'peer-a', ns: peers.lab.nsName('peer-a'), cwd: dirs.a, hint: hints.a, args: [...peers.shellArgs('peer-a'), '--log-level', 'info'] },
      { role: 'peer-b', ns: peers.lab.nsName('peer-b'), cwd: dirs.b, hint: hints.b, args: [...peers.shellArgs('peer-b'), '--log-level', 'info'] }
    ]
    out(`natkit-lab chat: peer-a behind ${o.a} NAT, peer-b behind ${o.b} NAT (lab ${peers.lab.prefix})`)
    out(`peer-b's working directory ${dirs.b} holds ${SAMPLE_FILE_NAME} (${sample.bytes} bytes, ${sample.cid})`)
    if (!withTmux) {
      out('tmux is not installed: run these two commands as root in two terminals; Ctrl-C here tears the lab down (quit both shells first):')
      for (const p of panes) out(paneCommand(p))
      await new Promise<void>(() => {})
    }
    for (const args of tmuxCommands(socket, panes, [`peer-a behind ${o.a} NAT`, `peer-b behind ${o.b} NAT`])) {
      const r = tmux(args)
      sessionOpen = true
      if (!r.ok) throw new TmuxError(`tmux ${args[2]} failed: ${r.stderr}`)
    }
    const attach = o.attach ?? (process.stdin.isTTY && process.stdout.isTTY)
    if (attach) {
      await new Promise<void>((resolve) => {
        const c = spawn('tmux', ['-L', socket, 'attach-session', '-t', TMUX_SESSION], { stdio: 'inherit', env: tmuxEnv() })
        c.once('exit', () => { resolve() })
        c.once('error', () => { resolve() })
      })
    }
    if (tmux(['-L', socket, 'has-session', '-t', TMUX_SESSION]).ok) {
      out(`tmux session running: attach with  tmux -L ${socket} attach -t ${TMUX_SESSION}  (the lab stays up until both shells quit, the session is killed or Ctrl-C here)`)
    }
    const deadline = Date.now() + (o.maxMs ?? DEFAULT_CHAT_SESSION_MAX_MS)
    while (tmux(['-L', socket, 'has-session', '-t', TMUX_SESSION]).ok) {
      if (Date.now() > deadline) {
        out(`natkit-lab chat: the session ran for the maximum of ${Math.round((o.maxMs ?? DEFAULT_CHAT_SESSION_MAX_MS) / 1000)} s; closing it`)
        break
      }
      await new Promise(resolve => setTimeout(resolve, TMUX_POLL_INTERVAL_MS))
    }
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (sessionOpen) {
      tmux(['-L', socket, 'kill-server'])
      rmSync(tmuxSocketPath(socket), { force: true })
    }
    await chat.close()
    out(`natkit-lab chat: lab ${peers.lab.prefix} torn down`)
  }
}
