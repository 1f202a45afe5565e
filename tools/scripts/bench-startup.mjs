// Role startup benchmark (issue 14): for each role, the wall time of `--help`
// (median of RUNS), the time from spawn to its first `listening` event and the
// process RSS then (median of RUNS), on loopback only. Bounded: RUNS runs per
// role and measure, each killed after RUN_TIMEOUT_MS. Writes reports/startup.json.
// Run after `npm run build`: `npm run bench:startup`.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import os from 'node:os'

/** Runs per role and measure. */
const RUNS = 5
/** Bound on one run (ms). */
const RUN_TIMEOUT_MS = 15_000

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const ROLES = {
  bootstrap: { bin: 'apps/bootstrap/bin/natkit-bootstrap.js', args: [] },
  relay: { bin: 'apps/relay/bin/natkit-relay.js', args: [] },
  peer: { bin: 'apps/peer/bin/natkit-peer.js', args: ['run'] },
  autonat: { bin: 'apps/autonat-probe/bin/natkit-autonat.js', args: ['server'] }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const round = (x) => Math.round(x * 10) / 10

/** Wall time (ms) of `bin --help` until exit. */
async function helpTime (bin) {
  const t0 = performance.now()
  const child = spawn(process.execPath, [ROOT + bin, '--help'], { stdio: 'ignore' })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, RUN_TIMEOUT_MS)
  const code = await new Promise(resolve => child.on('exit', resolve))
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${bin} --help exited ${code}`)
  return performance.now() - t0
}

/** Time (ms) from spawn to the first `listening` event, and the RSS (MiB) then. */
async function listeningTime (bin, args) {
  const t0 = performance.now()
  const child = spawn(process.execPath, [ROOT + bin, ...args, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, RUN_TIMEOUT_MS)
  try {
    let buffer = ''
    const ms = await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        buffer += d.toString()
        if (buffer.includes('"event":"listening"')) resolve(performance.now() - t0)
      })
      child.on('exit', (code) => { reject(new Error(`${bin} exited ${code} before listening`)) })
    })
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024
    return { ms, rss }
  } finally {
    clearTimeout(timer)
    child.kill('SIGTERM')
    await new Promise(resolve => { if (child.exitCode != null) resolve(); else child.on('exit', resolve) })
  }
}

const roles = {}
for (const [role, { bin, args }] of Object.entries(ROLES)) {
  const help = []
  const listen = []
  for (let i = 0; i < RUNS; i++) help.push(await helpTime(bin))
  for (let i = 0; i < RUNS; i++) listen.push(await listeningTime(bin, args))
  roles[role] = {
    helpMs: round(median(help)),
    startToListeningMs: round(median(listen.map(l => l.ms))),
    rssAtListeningMiB: round(median(listen.map(l => l.rss)))
  }
  console.log(`${role}: --help ${roles[role].helpMs} ms, start → listening ${roles[role].startToListeningMs} ms, RSS ${roles[role].rssAtListeningMiB} MiB`)
}
const report = {
  generatedAt: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadavg: os.loadavg().map(round),
  runs: RUNS,
  note: 'medians of wall times on loopback; a busy machine (see loadavg) inflates them',
  roles
}
writeFileSync(ROOT + 'reports/startup.json', JSON.stringify(report, null, 2) + '\n')
console.log('wrote reports/startup.json')
