/**
 * `natkit-lab chat` (issue 12: two terminals show a readable chat and a file
 * transfer with progress between two peers behind lab NATs): the tmux pane
 * command line, `--script` run as a user runs it, and the tmux session driven
 * with `tmux send-keys` and read back with `tmux capture-pane`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import { CHAT_TOPIC, hasTmux, listLeftovers, paneCommand, REPO_ROOT, SAMPLE_FILE_NAME, TMUX_SESSION, tmuxCommands, tmuxSocketPath, type ChatPane, type ChatScriptReport } from '../src/index.js'
import { labSkipReason } from './env.js'

const CLI = join(REPO_ROOT, 'tools/lab/bin/natkit-lab.js')
/** Bound on a whole `natkit-lab chat` run (lab, roles, session, teardown). */
const RUN_TIMEOUT_MS = 90_000
/** Bound on one thing appearing in a tmux pane. */
const PANE_TIMEOUT_MS = 30_000
/** Bound on both shells exiting after `quit` (a peer's stop is bounded by its own shutdown timeout). */
const QUIT_TIMEOUT_MS = 30_000

/** Splits a sh command line into its words, as sh does. */
function shWords (commandLine: string): string[] {
  const r = spawnSync('sh', ['-c', 'eval "set -- $1"; printf "%s\\0" "$@"', '_', commandLine], { encoding: 'utf8' })
  expect(r.status).toBe(0)
  return r.stdout.split('\0').slice(0, -1)
}

describe('tmux pane commands', () => {
  const pane: ChatPane = {
    role: 'peer-b',
    ns: 'nkab12-peer-b',
    cwd: '/tmp/dir with space/peer-b',
    hint: ["peer-b: type  join chat  then  share sample.bin  (it's 8 MiB)", '  second line'],
    args: ['shell', '--relay', '/ip4/11.0.0.10/tcp/4001/p2p/12D3KooWrelay', '--bootstrap', '/ip4/11.0.0.11/tcp/4011/p2p/12D3KooWboot', '--network', 'lab']
  }

  it('runs natkit-peer in the namespace with the repo\'s bins first on PATH, in its directory, after the hint', async () => {
    const root = await mkdtemp(join(tmpdir(), 'natkit-chat-pane-'))
    try {
      const bin = join(root, 'node_modules', '.bin')
      await mkdir(bin, { recursive: true })
      // a stand-in natkit-peer: prints where it ran and its arguments, exits with $FAKE_STATUS
      await writeFile(join(bin, 'natkit-peer'), '#!/bin/sh\necho "cwd=$(pwd)"\nfor a in "$@"; do echo "arg=$a"; done\nexit ${FAKE_STATUS:-0}\n')
      await chmod(join(bin, 'natkit-peer'), 0o755)
      const cwd = join(root, 'dir with space', 'peer-b')
      await mkdir(cwd, { recursive: true })
      const words = shWords(paneCommand({ ...pane, cwd }, root, '/usr/bin:/bin'))
      expect(words.slice(0, 5)).toEqual(['ip', 'netns', 'exec', 'nkab12-peer-b', 'env'])
      expect(words[5]).toBe(`PATH=${bin}:/usr/bin:/bin`)
      expect(words.slice(6, 8)).toEqual(['sh', '-c'])
      // run what follows `ip netns exec NS` (no namespace needed for this)
      const r = spawnSync(words[4], words.slice(5), { encoding: 'utf8', input: '' })
      expect(r.stdout.split('\n')).toEqual([pane.hint[0], pane.hint[1], `cwd=${cwd}`, ...pane.args.map(a => `arg=${a}`), ''])
      expect(r.status).toBe(0)
      // a failing shell leaves its status on screen until Enter
      const failed = spawnSync(words[4], words.slice(5), { encoding: 'utf8', input: '\n', env: { ...process.env, FAKE_STATUS: '3' } })
      expect(failed.stdout).toContain('natkit-peer exited with status 3; press Enter to close this pane')
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  it('opens both panes side by side in one detached session on its own socket, titled', () => {
    const a = { ...pane, role: 'peer-a' as const, ns: 'nkab12-peer-a', cwd: '/tmp/a' }
    const cmds = tmuxCommands('sock1', [a, pane], ['peer-a behind X', 'peer-b behind Y'], '/repo', '/usr/bin')
    expect(cmds.every(c => c[0] === '-L' && c[1] === 'sock1')).toBe(true)
    expect(cmds[0].slice(2, 5)).toEqual(['new-session', '-d', '-s'])
    expect(cmds[0].at(-1)).toBe(paneCommand(a, '/repo', '/usr/bin'))
    expect(cmds[1].slice(2, 4)).toEqual(['split-window', '-h'])
    expect(cmds[1].at(-1)).toBe(paneCommand(pane, '/repo', '/usr/bin'))
    expect(cmds.filter(c => c[2] === 'select-pane').map(c => c.slice(3))).toEqual([['-t', `${TMUX_SESSION}:0.0`, '-T', 'peer-a behind X'], ['-t', `${TMUX_SESSION}:0.1`, '-T', 'peer-b behind Y']])
  })
})

describe('natkit-lab chat usage errors', () => {
  it.each([
    [['--sample-mib', '0'], /^natkit-lab: UsageError: invalid value for --sample-mib: "0" must be an integer from 1 to 256\n$/],
    [['--scenario', 'nope'], /^natkit-lab: UnknownScenarioError: .*nope.*\n$/],
    [['--json', 'x.json'], /^natkit-lab: UsageError: --json needs --script\n$/],
    [['--tmux-socket', 'a/b'], /^natkit-lab: UsageError: invalid --tmux-socket "a\/b"/]
  ])('%j: one line, exit 2, no lab', (args, message) => {
    const r = spawnSync(process.execPath, [CLI, 'chat', ...args], { encoding: 'utf8', timeout: 20_000 })
    expect(r.stderr).toMatch(message)
    expect(r.stdout).toBe('')
    expect(r.status).toBe(2)
  })
})

/** Runs the CLI; collects stdout; `exited` resolves with the exit status. */
function runCli (args: string[]): { child: ChildProcess, stdout: () => string, stderr: () => string, exited: Promise<number | null> } {
  let stdout = ''
  let stderr = ''
  const child = spawn(process.execPath, [CLI, 'chat', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => { child.once('close', resolve) })
  const timer = setTimeout(() => { child.kill('SIGTERM') }, RUN_TIMEOUT_MS)
  void exited.then(() => { clearTimeout(timer) })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

/** Resolves when `test()` holds, checked every 100 ms, or rejects after `timeoutMs` naming `what`. */
async function until (test: () => boolean, what: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`no ${what()} within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

describe.skipIf(missingPrerequisite(labSkipReason))('natkit-lab chat in the NAT lab (port-restricted ↔ port-restricted)', () => {
  it('--script: chat both ways and a verified file transfer with progress, relayed then direct, as a transcript; nothing left behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'natkit-chat-script-'))
    try {
      const json = join(dir, 'chat.json')
      const run = runCli(['--script', '--sample-mib', '2', '--json', json])
      const code = await run.exited
      const out = run.stdout()
      expect(code, `stdout: ${out}\nstderr: ${run.stderr()}`).toBe(0)
      // the transcript: both peers' human output, each line prefixed with its role
      const lines = out.split('\n')
      const has = (re: RegExp): void => { expect(lines.some(l => re.test(l)), `no line matching ${re} in:\n${out}`).toBe(true) }
      has(/^peer-b +│ natkit> share sample\.bin$/)
      has(/^peer-b +│ sharing sample\.bin as bafkrei\w+ \(2097152 bytes\)$/)
      has(/^peer-a +│ natkit> get bafkrei\w+$/)
      has(/^peer-a +│ .* connected outbound 12D3KooW…\w+ via \S+\/p2p-circuit\/p2p\/12D3KooW\w+ \(relayed, limited\)$/)
      has(/^peer-a +│ .* waiting: waiting for a direct connection to 12D3KooW\w+; relayed limit is /)
      has(/^peer-a +│ .* \[#{20}\] 100 % 2\.0\/2\.0 MiB/)
      has(/^peer-a +│ .* received .*\/peer-a\/sample\.bin \(2097152 bytes, bafkrei\w+\) from 12D3KooW…\w+, verified$/)
      has(/^peer-a +│ 12D3KooW\w+ direct tcp \/ip4\/11\.0\.2\.1\/tcp\/4100\//)
      has(/^peer-b +│ .* \[chat\] 12D3KooW…\w+: hello from behind router-a$/)
      has(/^peer-a +│ .* \[chat\] 12D3KooW…\w+: hi peer-a, peer-b here: got the file\?$/)
      // connections to the relay and the bootstrap node are left out
      expect(lines.filter(l => /connected outbound \S+ via \/ip4\/11\.0\.0\.1[01]\/tcp\/\d+\/p2p\/\w+ \(direct\)$/.test(l))).toEqual([])
      expect(lines.filter(l => /^(ok {3}|FAIL) /.test(l)).every(l => l.startsWith('ok'))).toBe(true)
      // --json: the steps and both peers' events
      const report = JSON.parse(await readFile(json, 'utf8')) as ChatScriptReport
      expect(report.ok).toBe(true)
      expect(report.steps.length).toBeGreaterThanOrEqual(10)
      expect(report.received?.sha256).toBe(report.sample.sha256)
      expect(report.events['peer-a'].filter(e => e.event === 'file:progress').length).toBeGreaterThanOrEqual(2)
      expect(report.events['peer-a']).toContainEqual(expect.objectContaining({ event: 'file:received', cid: report.sample.cid, bytes: 2097152 }))
      expect(report.prefix).toMatch(/^nk[0-9a-f]{4}-$/)
      expect(await listLeftovers(report.prefix)).toEqual({ namespaces: [], links: [], tables: [] })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, RUN_TIMEOUT_MS + 10_000)

  it.skipIf(missingPrerequisite(hasTmux() ? undefined : 'tmux is not installed'))('tmux: what is typed in one pane shows in the other; quitting both shells tears the lab down', async () => {
    const socket = `natkit-lab-test-${process.pid}`
    const tmux = (...args: string[]): string => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 5_000 }).stdout ?? ''
    // panes by their ids (%N): indexes shift when the first shell exits and tmux closes its pane
    const paneIds: string[] = []
    const target = (i: 0 | 1): string => paneIds[i] ?? `${TMUX_SESSION}:0.${i}`
    const pane = (i: 0 | 1): string => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', target(i))
    const type = (i: 0 | 1, line: string): void => { tmux('send-keys', '-t', target(i), line, 'Enter') }
    const inPane = async (i: 0 | 1, re: RegExp): Promise<void> => { await until(() => re.test(pane(i)), () => `${re} in pane ${i}:\n${pane(i)}`, PANE_TIMEOUT_MS) }
    const run = runCli(['--sample-mib', '1', '--tmux-socket', socket])
    try {
      await until(() => run.stdout().includes('tmux session running'), () => `session (stdout: ${run.stdout()}, stderr: ${run.stderr()})`, PANE_TIMEOUT_MS)
      paneIds.push(...tmux('list-panes', '-t', `${TMUX_SESSION}:0`, '-F', '#{pane_id}').trim().split('\n'))
      expect(paneIds, 'two panes').toHaveLength(2)
      const prefix = /\(lab (nk[0-9a-f]{4}-)\)/.exec(run.stdout())?.[1] ?? ''
      const cid = /sample\.bin \(1048576 bytes, (bafkrei\w+)\)/.exec(run.stdout())?.[1] ?? ''
      expect(prefix).not.toBe('')
      expect(cid).not.toBe('')
      // peer-a left, peer-b right: each starts with its hint and a prompt
      await inPane(0, /^peer-a: type {2}join chat[\s\S]*\n {2}get bafkrei\w+\n[\s\S]*natkit>\s*$/)
      await inPane(1, /^peer-b: type {2}join chat {2}then {2}share sample\.bin[\s\S]*natkit>\s*$/)
      expect(pane(0)).toContain(`get ${cid}`)
      // both peers joined the DHT (what a person waits for too: a DHT query before finds nothing)
      await inPane(0, /published this peer's addresses to the DHT/)
      await inPane(1, /published this peer's addresses to the DHT/)
      type(1, `join ${CHAT_TOPIC}`)
      type(1, `share ${SAMPLE_FILE_NAME}`)
      await inPane(1, new RegExp(`announced ${cid} in the DHT`))
      type(0, `join ${CHAT_TOPIC}`)
      type(0, `get ${cid}`)
      await inPane(0, /waiting: waiting for a direct connection/)
      await inPane(0, /\[#{20}\] 100 % 1\.0\/1\.0 MiB/)
      await inPane(0, /received \S+\/peer-a\/sample\.bin \(1048576 bytes, bafkrei\w+\) from 12D3KooW…\w+, verified/)
      type(0, `say ${CHAT_TOPIC} typed in pane a`)
      await inPane(1, /\[chat\] 12D3KooW…\w+: typed in pane a/)
      type(1, `say ${CHAT_TOPIC} and this in pane b`)
      await inPane(0, /\[chat\] 12D3KooW…\w+: and this in pane b/)
      type(0, 'quit')
      type(1, 'quit')
      // both shells gone ends the session; if one stays, its pane says why (a failed stop waits for Enter)
      const sessionGone = (): boolean => spawnSync('tmux', ['-L', socket, 'has-session'], { stdio: 'ignore', timeout: 5_000 }).status !== 0
      let last = ''
      await until(() => { if (!sessionGone()) { last = `pane 0:\n${pane(0)}\npane 1:\n${pane(1)}`; return false } return true }, () => `end of the tmux session after quit in both panes; ${last}`, QUIT_TIMEOUT_MS)
      const code = await run.exited
      expect(code, `stdout: ${run.stdout()}\nstderr: ${run.stderr()}`).toBe(0)
      expect(run.stdout()).toContain(`lab ${prefix} torn down`)
      expect(spawnSync('tmux', ['-L', socket, 'has-session'], { stdio: 'ignore' }).status).not.toBe(0)
      expect(existsSync(tmuxSocketPath(socket))).toBe(false)
      expect(await listLeftovers(prefix)).toEqual({ namespaces: [], links: [], tables: [] })
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' })
      run.child.kill('SIGTERM')
      await run.exited
      await rm(tmuxSocketPath(socket), { force: true })
    }
  }, RUN_TIMEOUT_MS + 10_000)
})
