// Role startup benchmark (issue 14): for each role, the wall time of `--help`
// (median of RUNS), the time from spawn to its first `listening` event and the
// process RSS then (median of RUNS), on loopback only. Bounded: RUNS runs per
// role and measure, each killed after RUN_TIMEOUT_MS. Then, in the same run, the relay
// against a stock js-libp2p relay (tools/testkit/stock-relay.mjs: tcp, noise, yamux,
// identify, circuit relay server; and again with the services natkit-relay runs by default),
// alternating runs so all see the same machine load,
// and the relay again without Node's compile cache (NODE_DISABLE_COMPILE_CACHE=1) to show
// what the cache gives. Writes reports/startup.json.
// Run after `npm run build`: `npm run bench:startup`.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import os from 'node:os'
import { nodeArgv } from '@natkit/testkit/roles'

/** Runs per role and measure. */
const RUNS = 5
/** Bound on one run (ms). */
const RUN_TIMEOUT_MS = 15_000
/** Alternating runs of the relay / stock js-libp2p comparison (each variant). */
const COMPARE_RUNS = 25

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
  const child = spawn(process.execPath, [...nodeArgv(ROOT + bin), '--help'], { stdio: 'ignore' })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, RUN_TIMEOUT_MS)
  const code = await new Promise(resolve => child.on('exit', resolve))
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${bin} --help exited ${code}`)
  return performance.now() - t0
}

/**
 * CPU time (user + system, ms) process `pid` used so far, from /proc (clock ticks of
 * 10 ms): less skewed than wall time by other processes on a busy machine.
 */
function cpuMsOf (pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Time (ms) from spawn to the first `listening` event, and the RSS (MiB) then. */
async function listeningTime (bin, args, env = {}) {
  return await listeningTimeOf([...nodeArgv(ROOT + bin), ...args, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
}

/** Time (ms) from spawning `node <argv>` to its first `"event":"listening"` line, and the RSS (MiB) then. */
async function listeningTimeOf (argv, env = {}) {
  const t0 = performance.now()
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...env } })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, RUN_TIMEOUT_MS)
  try {
    let buffer = ''
    const ms = await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        buffer += d.toString()
        if (buffer.includes('"event":"listening"')) resolve(performance.now() - t0)
      })
      child.on('exit', (code) => { reject(new Error(`${argv.join(' ')} exited ${code} before listening`)) })
    })
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024
    return { ms, rss, cpu: cpuMsOf(child.pid) }
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
// the relay against stock js-libp2p, alternating, under the same load
const VARIANTS = {
  relay: () => listeningTime(ROLES.relay.bin, ROLES.relay.args),
  relayWithoutCompileCache: () => listeningTime(ROLES.relay.bin, ROLES.relay.args, { NODE_DISABLE_COMPILE_CACHE: '1' }),
  stockJsLibp2pRelay: () => listeningTimeOf([ROOT + 'tools/testkit/stock-relay.mjs']),
  // plus what natkit-relay runs by default beside the relay server: WebSockets, identify push, ping, AutoNAT v2
  stockJsLibp2pRelaySameServices: () => listeningTimeOf([ROOT + 'tools/testkit/stock-relay.mjs', '--same-services'])
}
const samples = Object.fromEntries(Object.keys(VARIANTS).map(k => [k, []]))
const loadBefore = os.loadavg().map(round)
for (let i = 0; i < COMPARE_RUNS; i++) for (const [k, run] of Object.entries(VARIANTS)) samples[k].push(await run())
const relayVsStock = {
  runs: COMPARE_RUNS,
  loadavgBefore: loadBefore,
  loadavgAfter: os.loadavg().map(round),
  ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { startToListeningMs: round(median(v.map(l => l.ms))), minMs: round(Math.min(...v.map(l => l.ms))), cpuMsToListening: median(v.map(l => l.cpu)), rssAtListeningMiB: round(median(v.map(l => l.rss))) }]))
}
// paired by round (each round runs every variant once, back to back): the relay's time minus the stock relay's,
// so a difference smaller than the spread of either is visible as such
const diffs = samples.relay.map((r, i) => r.ms - samples.stockJsLibp2pRelay[i].ms).sort((a, b) => a - b)
const quantile = (q) => round(diffs[Math.min(diffs.length - 1, Math.floor(q * diffs.length))])
relayVsStock.pairedDifferenceMs = { p25: quantile(0.25), median: quantile(0.5), p75: quantile(0.75), relayFasterInRounds: diffs.filter(d => d < 0).length }
relayVsStock.ratio = Math.round(relayVsStock.relay.startToListeningMs / relayVsStock.stockJsLibp2pRelay.startToListeningMs * 100) / 100
relayVsStock.cpuRatio = Math.round(relayVsStock.relay.cpuMsToListening / relayVsStock.stockJsLibp2pRelay.cpuMsToListening * 100) / 100
relayVsStock.ratioSameServices = Math.round(relayVsStock.relay.startToListeningMs / relayVsStock.stockJsLibp2pRelaySameServices.startToListeningMs * 100) / 100
console.log(`relay vs stock js-libp2p relay (${COMPARE_RUNS} alternating runs): ${relayVsStock.relay.startToListeningMs} ms vs ${relayVsStock.stockJsLibp2pRelay.startToListeningMs} ms (ratio ${relayVsStock.ratio}; per round relay − stock: median ${relayVsStock.pairedDifferenceMs.median} ms, p25 ${relayVsStock.pairedDifferenceMs.p25}, p75 ${relayVsStock.pairedDifferenceMs.p75}, relay faster in ${relayVsStock.pairedDifferenceMs.relayFasterInRounds} of ${COMPARE_RUNS} rounds); stock with the relay's services ${relayVsStock.stockJsLibp2pRelaySameServices.startToListeningMs} ms (ratio ${relayVsStock.ratioSameServices}); relay without compile cache ${relayVsStock.relayWithoutCompileCache.startToListeningMs} ms; CPU to listening ${relayVsStock.relay.cpuMsToListening} ms vs ${relayVsStock.stockJsLibp2pRelay.cpuMsToListening} ms (ratio ${relayVsStock.cpuRatio})`)

const report = {
  generatedAt: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadavg: os.loadavg().map(round),
  runs: RUNS,
  note: 'medians of wall times on loopback; a busy machine (see loadavg) inflates them; relayVsStock alternates its variants so they share the load, and gives CPU time to listening (less skewed by load) beside wall time',
  roles,
  relayVsStock
}
writeFileSync(ROOT + 'reports/startup.json', JSON.stringify(report, null, 2) + '\n')
console.log('wrote reports/startup.json')
