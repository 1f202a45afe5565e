/**
 * Issue 11, attacks 6, 8 and 9, against the role binaries on loopback:
 * - 9: a listen address the host cannot listen on is one line on stderr
 *   naming it and the cause, exit status 2; `listening` comes only after
 *   the port is bound (also with `--announce`); `dial <garbage>` is a usage
 *   error before the node starts;
 * - 6: a second process on a fixed port another natkit process serves exits
 *   2 with one line, while the first keeps dialing from that port;
 * - 8: a huge option value is refused in one line, leaving the key file alone.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadIdentity } from '@natkit/node'
import { BINS, listeningAddr, RolePool } from '@natkit/testkit/roles'
import { assertFreshBuild } from '@natkit/testkit'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'

/** Exit status of a usage error (`EXIT_USAGE` of @natkit/cli). */
const USAGE = 2
/** Bound on a role binary's start and exit. */
const PROCESS_TIMEOUT = 20_000

const pool = new RolePool()
const start = pool.start
afterAll(async () => { await pool.stopAll() })

let dir: string
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'natkit-hostile-cli-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

/** Runs a role binary to its exit with extra env; its exit code and stderr. */
async function runToExit (bin: keyof typeof BINS, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stderr: string }> {
  assertFreshBuild(BINS[bin])
  const child = spawn(process.execPath, [BINS[bin], ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBUG: '', ...env } })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, PROCESS_TIMEOUT)
  const code = await new Promise<number | null>(resolve => { child.on('close', resolve) })
  clearTimeout(timer)
  return { code, stderr }
}

/** A loopback port that is free right now. */
async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  return port
}

/** Whether a TCP connect to 127.0.0.1:port is accepted. */
async function accepts (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
}

function expectOneLine (stderr: string, pattern: RegExp): void {
  expect(stderr.endsWith('\n')).toBe(true)
  const lines = stderr.trimEnd().split('\n')
  expect(lines, stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
  expect(stderr).not.toMatch(/^\s+at /m)
}

describe('listen failures are one line and exit 2 (attack 9)', () => {
  it('a port another process listens on (plain socket)', async () => {
    const server = net.createServer()
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
    const { port } = server.address() as net.AddressInfo
    try {
      for (const bin of ['peer', 'relay'] as const) {
        const { code, stderr } = await runToExit(bin, ['--listen', `/ip4/127.0.0.1/tcp/${port}`])
        expect(code, stderr).toBe(USAGE)
        expectOneLine(stderr, new RegExp(`^natkit-${bin}: cannot listen on /ip4/127.0.0.1/tcp/${port}: port ${port} on 127.0.0.1 is already in use \\(another process listens on it\\)$`))
      }
    } finally {
      server.close()
    }
  }, 60_000)

  // 192.0.2.0/24 (RFC 5737) is only bound, never dialled: binding fails before any packet
  const cases: Array<[string, string, RegExp]> = [
    ['an address not on this host', '/ip4/192.0.2.7/tcp/0', /: 192\.0\.2\.7 is not an address of this host$/],
    ['a QUIC address', '/ip4/127.0.0.1/udp/0/quic-v1', /: the peer role has no transport that listens on this kind of address$/],
    ['a DNS name', '/dns4/localhost/tcp/0', /: a listen address needs an IP address \(\/ip4\/… or \/ip6\/…\), not a DNS name$/]
  ]
  it.each(cases)('%s', async (_name, address, problem) => {
    const { code, stderr } = await runToExit('peer', ['--listen', address])
    expect(code, stderr).toBe(USAGE)
    expectOneLine(stderr, new RegExp(`^natkit-peer: cannot listen on ${address.replaceAll('/', '\\/').replaceAll('.', '\\.')}`))
    expect(stderr.trimEnd()).toMatch(problem)
  }, 30_000)

  it('`dial <garbage>` is a usage error before the node starts', async () => {
    const { code, stderr } = await runToExit('peer', ['dial', 'garbage', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'])
    expect(code, stderr).toBe(USAGE)
    expectOneLine(stderr, /^natkit-peer: "garbage" is neither a multiaddr nor a peer id$/)
    const bad = await runToExit('peer', ['dial', '/ip4/127.0.0.1/tcp/notaport', '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(bad.code, bad.stderr).toBe(USAGE)
    expectOneLine(bad.stderr, /^natkit-peer: invalid multiaddr "\/ip4\/127\.0\.0\.1\/tcp\/notaport": /)
  }, 30_000)
})

describe('`listening` only once the port is bound (attack 9)', () => {
  const roles: Array<[keyof typeof BINS, string[]]> = [
    ['relay', []],
    ['autonat', ['server']],
    ['peer', ['--no-webrtc']]
  ]
  it.each(roles)('%s with --announce accepts a connection as soon as it says `listening`', async (bin, extra) => {
    const port = await freePort()
    const addr = `/ip4/127.0.0.1/tcp/${port}`
    const p = start(bin, [...extra, '--listen', addr, '--announce', addr])
    const e = await p.waitFor('listening', () => true, PROCESS_TIMEOUT)
    expect(await accepts(port)).toBe(true)
    expect(e.addrs.some((a: string) => a.startsWith(addr))).toBe(true)
    expect(await p.stop()).toBe(0)
  }, 60_000)
})

describe('a fixed port is not shared with another process (attack 6)', () => {
  it('the second peer on the port exits 2 with one line; the first keeps dialing from it', async () => {
    const relay = start('relay', ['--listen', '/ip4/127.0.0.1/tcp/0'])
    const relayAddr = await listeningAddr(relay)
    const port = await freePort()
    const first = start('peer', ['--listen', `/ip4/127.0.0.1/tcp/${port}`, '--no-webrtc', '--relay', relayAddr.addr])
    const firstAddr = await listeningAddr(first)
    // the first peer reserves on the relay from its listen port (SO_REUSEPORT dial)
    await relay.waitFor('peer:connect', (e) => e.remotePeer === firstAddr.peerId && e.remoteAddr === `/ip4/127.0.0.1/tcp/${port}/p2p/${firstAddr.peerId}`, PROCESS_TIMEOUT)

    const second = await runToExit('peer', ['--listen', `/ip4/127.0.0.1/tcp/${port}`, '--no-webrtc'])
    expect(second.code, second.stderr).toBe(USAGE)
    expectOneLine(second.stderr, new RegExp(`^natkit-peer: cannot listen on /ip4/127.0.0.1/tcp/${port}: port ${port} on 127.0.0.1 is already in use \\(another process listens on it\\)$`))

    // the first is undisturbed and still the one serving the port
    expect(first.child.exitCode).toBeNull()
    expect(await accepts(port)).toBe(true)
    expect(await first.stop()).toBe(0)
  }, 90_000)
})

describe('a huge option value (attack 8)', () => {
  it('is refused in one line, exit 2, leaving the key file as it was', async () => {
    const key = join(dir, 'peer.key')
    await loadIdentity({ identity: key })
    const before = readFileSync(key)
    // argv and env strings are limited to 128 KiB by Linux; 1 MiB values are covered in @natkit/config
    const value = '1' + ' '.repeat(100_000) + '!'
    const t0 = performance.now()
    const { code, stderr } = await runToExit('peer', ['--identity', key, '--listen', '/ip4/127.0.0.1/tcp/0'], { NATKIT_DIAL_TIMEOUT: value })
    expect(code, stderr).toBe(USAGE)
    expectOneLine(stderr, /^natkit-peer: invalid value for NATKIT_DIAL_TIMEOUT \(env\): "1 +\.\.\. is 100002 characters long, more than the limit of 4096$/)
    expect(performance.now() - t0).toBeLessThan(PROCESS_TIMEOUT)
    expect(readFileSync(key)).toEqual(before)
  }, 30_000)
})
