/**
 * The loss and CPU-load dimensions are really applied: the delay line drops
 * about the asked share of frames also at zero delay, and the CPU burner runs
 * in the peers' namespaces during a trial and is gone after it.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addLinkDelay, applyDelayProfile, burnerName, defaultTopology, groupCpuSeconds, Lab, listLeftovers, pidsInGroup, runTrial, startCpuBurner } from '../src/index.js'
import { labSkipReason, works } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'

const RELAY = '11.0.0.10'
/** Pings (each crossing the lossy link twice) in the loss-rate check. */
const PINGS = 400
const LOSS_PERCENT = 5

const delaySkipReason = labSkipReason ??
  (!works('python3', ['-c', 'import socket; socket.AF_PACKET']) ? 'loss needs python3 (the delay line)' : undefined) ??
  (!existsSync('/dev/net/tun') ? 'loss needs /dev/net/tun' : undefined) ??
  (!works('ping', ['-V']) ? 'loss test needs ping (apt-get install -y iputils-ping)' : undefined)

function nsPids (lab: Lab, host: string): number[] {
  return execFileSync('ip', ['netns', 'pids', lab.nsName(host)], { encoding: 'utf8' }).split('\n').map(Number).filter(n => Number.isInteger(n) && n > 1)
}

/** The process exists and is not a zombie (orphans may wait for a reaper). */
function isRunning (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Resolves once `test()` holds; fails after `timeoutMs`. */
async function until (test: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

describe.skipIf(missingPrerequisite(delaySkipReason))('loss (the delay line at zero delay)', () => {
  let lab: Lab

  beforeAll(async () => {
    lab = await Lab.create(defaultTopology('none', 'port-restricted'))
  })

  afterAll(async () => {
    await lab?.destroy()
  })

  it(`drops about ${LOSS_PERCENT} % of ${2 * PINGS} frames, counted by the line itself, with no delay added`, async () => {
    const line = await addLinkDelay(lab, 'router-b', { delayMs: 0, lossPercent: LOSS_PERCENT, seed: 1 })
    try {
      const r = await lab.run('peer-b', 'ping', ['-n', '-q', '-c', String(PINGS), '-i', '0.005', '-W', '1', RELAY], { timeoutMs: 30_000 })
      const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout)
      expect(m, r.stdout + r.stderr).not.toBeNull()
      const [transmitted, received] = [Number(m?.[1]), Number(m?.[2])]
      expect(transmitted).toBe(PINGS)
      const s = await line.stats()
      const frames = s.toInternet.received + s.fromInternet.received
      const lost = s.toInternet.lost + s.fromInternet.lost
      expect(frames).toBeGreaterThanOrEqual(2 * PINGS - (PINGS - received))
      // 5 % of ~800 frames: 40 expected, σ ≈ 6; bounds ≈ ±4σ
      expect(lost / frames).toBeGreaterThan(0.02)
      expect(lost / frames).toBeLessThan(0.085)
      // both directions lose; every lost ping is a frame the line dropped
      expect(s.toInternet.lost).toBeGreaterThan(0)
      expect(s.fromInternet.lost).toBeGreaterThan(0)
      expect(transmitted - received).toBeGreaterThan(0)
      expect(transmitted - received).toBeLessThanOrEqual(lost)
      // zero delay: the round trip stays short (userspace forwarding only)
      const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout)
      expect(Number(rtt?.[1])).toBeLessThan(50)
    } finally {
      await line.stop()
    }
  })

  it('applyDelayProfile(zero, { lossPercent }) puts a lossy, undelayed line on every router, relay and public-peer link', async () => {
    const lines = await applyDelayProfile(lab, 'zero', { lossPercent: 1, seed: 3 })
    try {
      expect(lines.map(l => [l.node, l.delayMs, l.lossPercent]).sort()).toEqual([['peer-a', 0, 1], ['relay', 0, 1], ['router-b', 0, 1]])
    } finally {
      for (const l of lines) await l.stop()
    }
    expect(await applyDelayProfile(lab, 'zero')).toEqual([])
  })
})

describe.skipIf(missingPrerequisite(labSkipReason))('CPU burner', () => {
  let lab: Lab

  beforeAll(async () => {
    lab = await Lab.create(defaultTopology('port-restricted', 'port-restricted'))
  })

  afterAll(async () => {
    await lab?.destroy()
  })

  it('runs busy loops in the peers\' namespaces and leaves nothing once stopped', async () => {
    const burner = await startCpuBurner(lab, ['peer-a', 'peer-b'], { workers: 2, maxSeconds: 60 })
    expect(burner.pids).toHaveLength(2)
    expect(nsPids(lab, 'peer-a')).toContain(burner.pids[0])
    expect(nsPids(lab, 'peer-b')).toContain(burner.pids[1])
    // each group holds the timeout process and its busy shell, which burns CPU
    await until(() => burner.pids.every(pid => pidsInGroup(pid).length === 2), 'each burner\'s busy shell', 10_000)
    await until(() => burner.pids.every(pid => groupCpuSeconds(pid) >= 0.2), 'the burners to use CPU', 20_000)
    const members = burner.pids.flatMap(pidsInGroup)
    const stats = await burner.stop()
    expect(stats.workers).toBe(2)
    expect(stats.hosts).toEqual(['peer-a', 'peer-b'])
    expect(stats.cpuSeconds).toBeGreaterThanOrEqual(0.4)
    expect(members.filter(isRunning)).toEqual([])
    expect(nsPids(lab, 'peer-a')).toEqual([])
    expect(nsPids(lab, 'peer-b')).toEqual([])
    // idempotent
    expect(await burner.stop()).toEqual(stats)
  })

  it('ends by itself after maxSeconds (the hard bound)', async () => {
    const burner = await startCpuBurner(lab, ['peer-a'], { workers: 1, maxSeconds: 1 })
    await until(() => pidsInGroup(burner.pids[0]).length === 2, 'the busy shell', 10_000)
    await until(() => pidsInGroup(burner.pids[0]).length === 0, 'the burner to time out', 10_000)
    expect((await burner.stop()).workers).toBe(1)
  })

  it('refuses unbounded settings', async () => {
    await expect(startCpuBurner(lab, ['peer-a'], { workers: 0 })).rejects.toThrow(RangeError)
    await expect(startCpuBurner(lab, ['peer-a'], { maxSeconds: 0 })).rejects.toThrow(RangeError)
    await expect(startCpuBurner(lab, [], {})).rejects.toThrow(RangeError)
  })
})

describe.skipIf(missingPrerequisite(delaySkipReason))('a trial with loss and CPU load', () => {
  it('reports the frames its delay lines dropped and the CPU its burner used, and leaves nothing behind', async () => {
    const r = await runTrial({ a: 'port-restricted', b: 'port-restricted', transport: 'tcp', lossPercent: 5, cpuLoad: true, cpuWorkers: 2, dialTimeoutMs: 20_000 })
    expect(r.error).toBeUndefined()
    expect(r).toMatchObject({ lossPercent: 5, cpuLoad: true })
    // router-a, router-b and the relay each had a lossy line
    expect(r.lossStats?.links).toBe(3)
    expect(r.lossStats?.frames).toBeGreaterThan(100)
    expect(r.lossStats?.lost).toBeGreaterThan(0)
    expect(r.lossStats?.measuredPercent).toBeGreaterThan(1)
    expect(r.lossStats?.measuredPercent).toBeLessThan(12)
    expect(r.cpuBurn?.workers).toBe(2)
    expect(r.cpuBurn?.cpuSeconds).toBeGreaterThan(0.5)
    expect(await listLeftovers(r.prefix)).toEqual({ namespaces: [], links: [], tables: [] })
    // no busy shell from the trial survives it (its own, by the lab's prefix: a lab matrix
    // running beside the tests has burners of its own)
    const shells = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')
      .filter(l => l.includes('while :; do :; done') && l.includes(burnerName(r.prefix ?? 'missing-prefix-')))
    expect(shells).toEqual([])
  }, 120_000)
})
