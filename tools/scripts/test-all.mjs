// `npm test`: runs every project's tests through Nx (one project at a time:
// the lab and integration tests start many processes on a 2-core machine),
// then prints per-package pass counts and one closing "N passed, N failed, N skipped" line.
//
// No-egress guard: as root on Linux the whole Nx run executes inside a
// sandbox network namespace whose only route (IPv4, IPv6, multicast) leads to
// a sink namespace that counts and drops every packet (tools/testkit/src/sandbox.ts).
// A packet that would have left the machine makes the run fail, listing its
// destinations. Elsewhere the guard is not active, which is said loudly, and
// under CI=true is an error.
//
// NATKIT_COMPOSE_RESULT=<file>: the docker-compose check's result, written by
// tools/docker/compose-test.sh (first line passed|failed|skipped, then the
// reason), added as a row of the summary and to the closing counts.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'

const root = new URL('../..', import.meta.url).pathname
/** Time between forwarding a signal to the Nx run and killing it. */
const STOP_GRACE_MS = 15_000

// `npm run build` first (tsc -b, incremental: ~1 s when up to date). The guard
// lives in @natkit/testkit's dist/, and tests refuse to spawn a dist/ older
// than its src/: tsc -b refreshes dist/ even for a source touched without a
// change, which a build served from Nx's cache may leave as it was. A build
// error is reported again by Nx's build task of the failing project.
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' })
if (tsc.status !== 0) console.error('test-all: npm run build failed (above); the failing projects\' tests will not run')
if (!existsSync(join(root, 'tools/testkit/dist/index.js'))) {
  console.error('test-all: tools/testkit is not built (the no-egress guard); fix the build above or run npm ci')
  process.exit(1)
}
const { DEFAULT_STOP_GRACE_MS, Sandbox, cleanupStaleSandboxes, formatDestination, isCi, sandboxUnavailableReason } = await import('../testkit/dist/index.js')

const projects = []
for (const group of ['packages', 'apps', 'tools', 'examples']) {
  for (const dir of readdirSync(join(root, group))) {
    const pj = join(root, group, dir, 'package.json')
    if (!existsSync(pj)) continue
    const name = JSON.parse(readFileSync(pj, 'utf8')).name
    const results = join(root, group, dir, '.test-results', 'vitest.json')
    rmSync(results, { force: true })
    projects.push({ name, dir: join(group, dir), results })
  }
}

/** Extra summary rows: { name, passed, failed, skipped, note }. */
const rows = []
const ci = isCi()

// --- the no-egress guard -----------------------------------------------------
const unavailable = sandboxUnavailableReason()
let sandbox
if (unavailable != null) {
  const msg = `no-egress guard NOT active: the sandbox ${unavailable}; packets the tests send to the network are not caught`
  console.error(`\n*** ${ci ? 'ERROR (CI=true)' : 'WARNING'}: ${msg} ***\n`)
  rows.push({ name: 'no-egress guard', passed: 0, failed: ci ? 1 : 0, skipped: ci ? 0 : 1, note: msg })
} else {
  const stale = cleanupStaleSandboxes()
  if (stale.length > 0) console.log(`test-all: removed sandboxes of earlier runs that are gone: ${stale.join(', ')}`)
  try {
    sandbox = Sandbox.create()
    sandbox.verify()
  } catch (err) {
    sandbox?.destroy()
    console.error(`test-all: cannot create the no-egress sandbox: ${err.message}`)
    process.exit(1)
  }
  console.log(`test-all: no-egress guard active (a canary datagram was counted): the tests run in network namespace ${sandbox.name}; every packet leaving it is counted by ${sandbox.sink}`)
}
const teardown = () => { sandbox?.destroy() }
process.on('exit', teardown)

// --- the Nx run ----------------------------------------------------------------
const nxArgs = [join(root, 'node_modules/.bin/nx'), 'run-many', '-t', 'test', '--output-style=static', '--parallel=1', ...process.argv.slice(2)]
const cmd = sandbox != null ? sandbox.command(process.execPath, nxArgs) : { file: process.execPath, args: nxArgs }
const env = {
  ...process.env,
  // under `ip netns exec` nothing else puts this Node and the workspace's bins first
  PATH: [dirname(process.execPath), join(root, 'node_modules/.bin'), process.env.PATH].join(':'),
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true'
}
// its own process group, so that a signal to this script reaches the whole run (forwarded below)
// stdout passes through; each `nx run <project>:<target>` line is a checkpoint
// of the sink's count, so escaping packets are attributed to the task that sent
// them (with --output-style=static, Nx prints a task's header and output when the
// task has finished: what was counted since the previous header is that task's)
const child = spawn(cmd.file, cmd.args, { cwd: root, stdio: ['inherit', 'pipe', 'inherit'], env: { ...env, ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : {}) }, detached: true })
/** Task → packets counted while it ran, and the destinations first seen then. */
const byTask = new Map()
let seen = { packets: 0, destinations: new Set() }
const checkpoint = (task) => {
  if (sandbox != null) {
    const e = sandbox.escapes()
    const destinations = new Set(e.destinations.map(formatDestination))
    if (e.packets > seen.packets) {
      const entry = byTask.get(task) ?? { packets: 0, destinations: [] }
      entry.packets += e.packets - seen.packets
      entry.destinations.push(...[...destinations].filter((d) => !seen.destinations.has(d)))
      byTask.set(task, entry)
    }
    seen = { packets: e.packets, destinations }
  }
}
let pending = ''
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  const lines = (pending + chunk.toString()).split('\n')
  pending = lines.pop() ?? ''
  for (const l of lines) {
    // eslint-disable-next-line no-control-regex
    const m = /^> nx run (\S+)\s*$/.exec(l.replace(/\x1b\[[0-9;]*m/g, '').trim().replace(/\s+\[.*\]$/, ''))
    if (m != null) checkpoint(m[1])
  }
})
let signalled
const forward = (sig) => {
  signalled ??= sig
  console.error(`\ntest-all: ${sig}: stopping the test run${sandbox != null ? ` and removing ${sandbox.name}` : ''}`)
  try { process.kill(-child.pid, sig) } catch {}
  setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL') } catch {} }, STOP_GRACE_MS).unref()
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, forward)
const status = await new Promise((resolve) => {
  child.once('error', (err) => { console.error(`test-all: cannot start nx: ${err.message}`); resolve(1) })
  child.once('exit', (code, sig) => { resolve(code ?? (sig != null ? 1 : 0)) })
})
if (signalled != null) {
  // what is still in the sandbox (e.g. a lab test tearing its namespaces down) gets time to finish
  sandbox?.destroy(DEFAULT_STOP_GRACE_MS)
  process.exit(signalled === 'SIGINT' ? 130 : signalled === 'SIGHUP' ? 129 : 143)
}

if (sandbox != null) {
  checkpoint('nx itself, after the last task')
  const escapes = sandbox.escapes()
  teardown()
  if (escapes.packets === 0) {
    rows.push({ name: 'no-egress guard', passed: 1, failed: 0, skipped: 0, note: 'no packet left the test sandbox' })
  } else {
    const shown = escapes.destinations.map(formatDestination)
    const msg = `${escapes.packets} packet(s) (${escapes.bytes} bytes) left the test sandbox: the tests sent traffic to addresses outside loopback and their own namespaces`
    console.error(`\n*** no-egress guard FAILED: ${msg}. Destinations (protocol address:port${shown.length > 0 ? '' : '; none recorded'}):`)
    for (const d of shown) console.error(`***   ${d}`)
    console.error('*** counted while these Nx tasks ran:')
    for (const [t, e] of byTask) console.error(`***   ${t}: ${e.packets} packet(s)${e.destinations.length > 0 ? `, first seen: ${e.destinations.join(', ')}` : ''}`)
    console.error('***\n')
    rows.push({ name: 'no-egress guard', passed: 0, failed: 1, skipped: 0, note: `${escapes.packets} packet(s) escaped, to ${shown.join(', ')}` })
  }
}

// --- docker-compose check (.ci/run) ----------------------------------------------
const composeFile = process.env.NATKIT_COMPOSE_RESULT
if (composeFile != null && composeFile !== '') {
  const text = existsSync(composeFile) ? readFileSync(composeFile, 'utf8') : ''
  const [first = '', ...rest] = text.split('\n')
  const state = first.trim()
  const reason = rest.join(' ').trim()
  if (state === 'passed') rows.push({ name: 'docker-compose', passed: 1, failed: 0, skipped: 0, note: reason })
  else if (state === 'skipped') rows.push({ name: 'docker-compose', passed: 0, failed: 0, skipped: 1, note: `skipped: this host cannot run Docker: ${reason}` })
  else rows.push({ name: 'docker-compose', passed: 0, failed: 1, skipped: 0, note: state === 'failed' ? `failed: ${reason}` : `no result in ${composeFile}` })
}

// --- summary ------------------------------------------------------------------------
let passed = 0; let failed = 0; let skipped = 0
const line = (name, p, f, s, note) => `  ${name.padEnd(26)} ${String(p).padStart(4)} passed ${String(f).padStart(3)} failed ${String(s).padStart(3)} skipped${note != null && note !== '' ? `  (${note})` : ''}`
console.log('\nper-package results')
for (const p of projects) {
  if (!existsSync(p.results)) { console.log(`  ${p.name.padEnd(26)} not run`); continue }
  const r = JSON.parse(readFileSync(p.results, 'utf8'))
  const s = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  // a test file that failed before any test ran (e.g. an import error) counts as one failed test
  const broken = (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length
  const f = r.numFailedTests + broken
  passed += r.numPassedTests; failed += f; skipped += s
  console.log(line(p.name, r.numPassedTests, f, s, broken > 0 ? `${broken} file(s) failed to load` : undefined))
}
// Nx failing without a failed test (e.g. a build error) is a failure of the run
if (status !== 0 && failed === 0) rows.unshift({ name: 'nx run-many', passed: 0, failed: 1, skipped: 0, note: `exited ${status} (see above)` })
// the names of failed tests come last, so a truncated CI log still says what broke
const failures = []
for (const p of projects) {
  if (!existsSync(p.results)) continue
  const r = JSON.parse(readFileSync(p.results, 'utf8'))
  for (const file of r.testResults ?? []) {
    const rel = String(file.name ?? '').replace(/^.*?\/(apps|packages|tools|examples)\//, '$1/')
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) failures.push(`${p.name} ${rel}: ${firstLine(file.message)}`)
    for (const a of file.assertionResults ?? []) {
      if (a.status === 'failed') failures.push(`${p.name} ${rel} › ${a.fullName ?? a.title}: ${firstLine((a.failureMessages ?? [])[0])}`)
    }
  }
}
function firstLine (text) {
  // eslint-disable-next-line no-control-regex
  return String(text ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 300) ?? ''
}
for (const r of rows) {
  passed += r.passed; failed += r.failed; skipped += r.skipped
  console.log(line(r.name, r.passed, r.failed, r.skipped, r.note))
}
if (failures.length > 0) {
  console.log('\nfailed tests')
  for (const f of failures.slice(0, 20)) console.log(`  ${f}`)
  if (failures.length > 20) console.log(`  … and ${failures.length - 20} more`)
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(status === 0 && failed === 0 ? 0 : 1)
