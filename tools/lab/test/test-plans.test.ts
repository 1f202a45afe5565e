/**
 * libp2p/test-plans `hole-punch-interop` contract, run in the lab: a Debian
 * redis-server in the relay's namespace (never on the host network), natkit's
 * relay publishing its address under RELAY_TCP_ADDRESS like the suite's relay,
 * and natkit's entry point (tools/interop/test-plans/hole-punch-client.mjs) as
 * listener and dialer behind two port-restricted NATs with the suite's delays.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { applyDelayProfile, defaultTopology, DEFAULT_RELAY_IP, Lab, LineProcess, listLeftovers, REPO_ROOT, RELAY_PORT, spawnRole, type ProcHandle } from '../src/index.js'
import { labSkipReason } from './env.js'

const CLIENT = join(REPO_ROOT, 'tools/interop/test-plans/hole-punch-client.mjs')
const REDIS_SERVER = '/usr/bin/redis-server'
const REDIS_PORT = 6379
/** Bound on the dialer printing its RTT and exiting. */
const DIALER_TIMEOUT_MS = 60_000

// CI (.ci/run sets NATKIT_INTEROP_REQUIRED=1) fails on a missing prerequisite instead of skipping
const inCi = process.env.CI === 'true' || process.env.NATKIT_INTEROP_REQUIRED === '1'
const redisMissing = !existsSync(REDIS_SERVER)
const skipReason = labSkipReason ?? (redisMissing && !inCi ? 'the test-plans check needs redis-server (apt-get install -y redis-server)' : undefined)
if (skipReason != null && labSkipReason == null) process.stderr.write(`[natkit-lab test-plans check skipped] ${skipReason}\n`)

/** Runs the entry point outside any lab (argument checks only; it must exit before touching the network). */
function runClient (env: Record<string, string>): { code: number, stderr: string } {
  try {
    execFileSync(process.execPath, [CLIENT], { env: { PATH: process.env.PATH ?? '', ...env, REDIS_ADDR: '127.0.0.1:1' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
    return { code: 0, stderr: '' }
  } catch (err) {
    const { status, stderr } = err as { status: number, stderr: Buffer }
    return { code: status, stderr: String(stderr) }
  }
}

describe('hole-punch-interop entry point: environment checks', () => {
  it('TRANSPORT=quic exits 1 with a clear unsupported message', () => {
    const r = runClient({ MODE: 'dial', TRANSPORT: 'quic' })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/TRANSPORT=quic is not supported/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('a bad MODE exits 2 naming the problem', () => {
    const r = runClient({ MODE: 'both', TRANSPORT: 'tcp' })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/MODE must be listen or dial, got "both"/)
  })
})

describe.skipIf(skipReason != null)('hole-punch-interop contract in the lab (redis-server, interop delays)', () => {
  it('redis-server is installed', () => {
    expect(redisMissing, 'apt-get install -y redis-server (.ci/run does)').toBe(false)
  })

  it('the dialer prints {"rtt_to_holepunched_peer_millis": N} for a hole-punched connection and exits 0', async () => {
    expect(redisMissing, 'apt-get install -y redis-server').toBe(false)
    const procs: ProcHandle[] = []
    const lab = await Lab.create(defaultTopology('port-restricted', 'port-restricted'))
    try {
      // the suite's delays: 100 ms RTT on each router link, 25 ms on the relay's
      await applyDelayProfile(lab, 'interop')
      const redis = new LineProcess(lab, 'relay', REDIS_SERVER, ['--port', String(REDIS_PORT), '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--dir', '/tmp'], { label: 'redis-server' })
      procs.push(redis)
      await redis.waitForLine(l => l.includes('Ready to accept connections'), 15_000)
      const relay = spawnRole(lab, 'relay', 'relay', ['--listen', `/ip4/0.0.0.0/tcp/${RELAY_PORT}`, '--announce', `/ip4/${DEFAULT_RELAY_IP}/tcp/${RELAY_PORT}`, '--seed', 'lab-relay', '--network', 'lab'])
      procs.push(relay)
      const ready = await relay.waitForEvent('listening', (e) => e.addrs.length > 0, 20_000)
      const relayMa = `/ip4/${DEFAULT_RELAY_IP}/tcp/${RELAY_PORT}/p2p/${ready.peerId}`
      // like the suite's relay: its address once per client
      const pushed = await lab.run('relay', 'redis-cli', ['-p', String(REDIS_PORT), 'RPUSH', 'RELAY_TCP_ADDRESS', relayMa, relayMa], { timeoutMs: 5_000 })
      expect(pushed.stdout.trim()).toBe('2')

      const env = { ...process.env, MODE: 'listen', TRANSPORT: 'tcp', REDIS_ADDR: `${DEFAULT_RELAY_IP}:${REDIS_PORT}` }
      const listener = new LineProcess(lab, 'peer-b', process.execPath, [CLIENT], { env, label: 'listener' })
      procs.push(listener)
      const dialer = new LineProcess(lab, 'peer-a', process.execPath, [CLIENT], { env: { ...env, MODE: 'dial' }, label: 'dialer' })
      procs.push(dialer)
      const code = await Promise.race([dialer.exited, new Promise<string>((resolve) => setTimeout(() => { resolve('timeout') }, DIALER_TIMEOUT_MS))])
      expect(code, `dialer stderr: ${dialer.stderr.slice(-3000)}\nlistener stderr: ${listener.stderr.slice(-2000)}`).toBe(0)
      // stdout is exactly the result line (logs go to stderr)
      expect(dialer.lines).toHaveLength(1)
      const out = JSON.parse(dialer.lines[0])
      process.stderr.write(`[test-plans] dialer stdout: ${dialer.lines[0]}\n`)
      expect(Object.keys(out)).toEqual(['rtt_to_holepunched_peer_millis'])
      // direct path: two delayed router links each way (≥ 200 ms); the relayed path would add the relay's 25 ms
      expect(out.rtt_to_holepunched_peer_millis).toBeGreaterThanOrEqual(190)
      expect(out.rtt_to_holepunched_peer_millis).toBeLessThan(1_000)
      // the listener is still up (it must wait to be killed) and the peer id key was consumed
      expect(listener.exitCode).toBeUndefined()
      const left = await lab.run('relay', 'redis-cli', ['-p', String(REDIS_PORT), 'LLEN', 'LISTEN_CLIENT_PEER_ID'], { timeoutMs: 5_000 })
      expect(left.stdout.trim()).toBe('0')
    } finally {
      await Promise.allSettled(procs.map(async p => await p.stop()))
      await lab.destroy()
    }
    const left = await listLeftovers(lab.prefix)
    expect(left.namespaces).toEqual([])
  }, 120_000)
})
