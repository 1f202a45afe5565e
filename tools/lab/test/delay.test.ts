import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addLinkDelay, DelayAlreadyActiveError, DelayTargetError, DELAY_PROFILES, applyDelayProfile } from '../src/delay.js'
import { defaultTopology, Lab, listLeftovers, tcpConnect, tcpServer } from '../src/index.js'
import { labSkipReason, works } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { Probe } from '../src/index.js'

const RELAY = '11.0.0.10'
const WAN_A = '11.0.1.1'
const TCP_PORT = 4001

const skipReason = labSkipReason ??
  (!works('python3', ['-c', 'import socket; socket.AF_PACKET']) ? 'link delay needs python3' : undefined) ??
  (!existsSync('/dev/net/tun') ? 'link delay needs /dev/net/tun' : undefined) ??
  (!works('ping', ['-V']) ? 'link delay test needs ping (apt-get install -y iputils-ping)' : undefined)

interface PingResult { transmitted: number, received: number, avgMs?: number }

async function ping (lab: Lab, from: string, to: string, count: number, intervalS = 0.2): Promise<PingResult> {
  const r = await lab.run(from, 'ping', ['-n', '-q', '-c', String(count), '-i', String(intervalS), '-W', '1', to], { timeoutMs: 20_000 })
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout)
  if (m == null) throw new Error(`unexpected ping output: ${r.stdout} ${r.stderr}`)
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout)
  return { transmitted: Number(m[1]), received: Number(m[2]), avgMs: rtt != null ? Number(rtt[1]) : undefined }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe.skipIf(missingPrerequisite(skipReason))('link delay line (userspace, no netem)', () => {
  let lab: Lab
  let server: Probe
  let baselineMs: number

  beforeAll(async () => {
    lab = await Lab.create(defaultTopology('port-restricted', 'port-restricted'))
    server = await tcpServer(lab, 'relay', TCP_PORT)
    // warm ARP caches, then measure
    await ping(lab, 'peer-a', RELAY, 1)
    const base = await ping(lab, 'peer-a', RELAY, 5)
    expect(base.received).toBe(5)
    baselineMs = base.avgMs as number
  })

  afterAll(async () => {
    await lab?.destroy()
  })

  it('adds 2 × delayMs to the RTT through the router and keeps the NAT working', async () => {
    const line = await addLinkDelay(lab, 'router-a', { delayMs: 50 })
    try {
      const delayed = await ping(lab, 'peer-a', RELAY, 5)
      expect(delayed.received).toBe(5)
      const added = (delayed.avgMs as number) - baselineMs
      expect(added).toBeGreaterThanOrEqual(80)
      expect(added).toBeLessThanOrEqual(160)
      // peer-b's path does not cross router-a's link: unaffected
      const other = await ping(lab, 'peer-b', RELAY, 3)
      expect(other.avgMs).toBeLessThan(20)

      // NAT semantics unchanged: the server sees router-a's WAN address and the preserved port
      const t = await tcpConnect(lab, 'peer-a', RELAY, TCP_PORT, { localPort: 40100, timeoutMs: 3_000 })
      expect(t.error).toBeUndefined()
      expect(t.seen).toEqual({ ip: WAN_A, port: 40100 })
      // unsolicited inbound still dropped by the router behind the delay line
      const inbound = await tcpConnect(lab, 'relay', WAN_A, 40100, { timeoutMs: 1_000 })
      expect(inbound.connected).toBe(false)

      const s = await line.stats()
      expect(s.toInternet.forwarded).toBeGreaterThanOrEqual(5)
      expect(s.fromInternet.forwarded).toBeGreaterThanOrEqual(5)
      expect(s.toInternet.lost + s.fromInternet.lost).toBe(0)
      await expect(addLinkDelay(lab, 'router-a', { delayMs: 10 })).rejects.toBeInstanceOf(DelayAlreadyActiveError)
    } finally {
      const final = await line.stop()
      expect(final?.toInternet.received).toBeGreaterThan(0)
    }
    // the port is back on the bridge: RTT back to the baseline
    const after = await ping(lab, 'peer-a', RELAY, 3)
    expect(after.received).toBe(3)
    expect((after.avgMs as number) - baselineMs).toBeLessThan(20)
  })

  it('drops frames at random with lossPercent', async () => {
    const line = await addLinkDelay(lab, 'router-a', { delayMs: 1, lossPercent: 50, seed: 7 })
    try {
      const r = await ping(lab, 'peer-a', RELAY, 40, 0.05)
      const loss = 1 - r.received / r.transmitted
      expect(loss).toBeGreaterThan(0.2)
      const s = await line.stats()
      expect(s.toInternet.lost + s.fromInternet.lost).toBeGreaterThan(0)
      expect(s.toInternet.forwarded + s.fromInternet.forwarded).toBeGreaterThan(0)
    } finally {
      await line.stop()
    }
  })

  it('gives the node its link back when the delay line dies', async () => {
    const line = await addLinkDelay(lab, 'router-a', { delayMs: 30 })
    expect((await ping(lab, 'peer-a', RELAY, 2)).avgMs).toBeGreaterThan(50)
    process.kill(line.pid as number, 'SIGKILL')
    // wait (bounded) until the router's port is back on the bridge
    let onBridge = false
    for (let i = 0; i < 50 && !onBridge; i++) {
      const [l] = JSON.parse(execFileSync('ip', ['-j', '-n', lab.nsName('inet'), 'link', 'show', 'dev', line.port], { encoding: 'utf8' })) as Array<{ master?: string }>
      onBridge = l?.master === 'br0'
      if (!onBridge) await new Promise(resolve => setTimeout(resolve, 100))
    }
    expect(onBridge).toBe(true)
    const after = await ping(lab, 'peer-a', RELAY, 3)
    expect(after.received).toBe(3)
    expect((after.avgMs as number) - baselineMs).toBeLessThan(20)
    expect(await line.stop()).toBeUndefined()
  })

  it('refuses LAN hosts and unknown nodes', async () => {
    await expect(addLinkDelay(lab, 'peer-a', { delayMs: 10 })).rejects.toBeInstanceOf(DelayTargetError)
    await expect(addLinkDelay(lab, 'nope', { delayMs: 10 })).rejects.toBeInstanceOf(DelayTargetError)
    await expect(addLinkDelay(lab, 'router-a', { delayMs: -1 })).rejects.toBeInstanceOf(RangeError)
  })

  it('interop profile: +100 ms RTT per router, +25 ms to the relay; destroy removes everything', async () => {
    const lines = await applyDelayProfile(lab, 'interop')
    expect(lines.map(l => l.node).sort()).toEqual(['relay', 'router-a', 'router-b'])
    const r = await ping(lab, 'peer-a', RELAY, 5)
    const expected = 2 * (DELAY_PROFILES.interop.routerOneWayMs + DELAY_PROFILES.interop.relayOneWayMs)
    expect((r.avgMs as number) - baselineMs).toBeGreaterThanOrEqual(expected - 15)
    expect((r.avgMs as number) - baselineMs).toBeLessThanOrEqual(expected + 60)

    // the three delay-line processes run in the internet namespace
    const pids = listNsPids(lab)
    expect(pids.length).toBeGreaterThanOrEqual(3)
    await server.stop()
    const prefix = lab.prefix
    await lab.destroy()
    expect(await listLeftovers(prefix)).toEqual({ namespaces: [], links: [], tables: [] })
    expect(pids.filter(isAlive)).toEqual([])
  })
})

function listNsPids (lab: Lab): number[] {
  const out = execFileSync('ip', ['netns', 'pids', lab.nsName('inet')], { encoding: 'utf8' })
  return out.split('\n').map(Number).filter(n => Number.isInteger(n) && n > 1)
}
