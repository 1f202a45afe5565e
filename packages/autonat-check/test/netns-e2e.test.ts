/**
 * End-to-end check against the stock js-libp2p `autoNATv2()` server.
 *
 * The js server (and js-libp2p) ignore private/loopback addresses, so this
 * builds a two-namespace lab with "public looking" 11.0.9.0/24 addresses:
 *
 *   nkac<id>-srv  [nkac0 11.0.9.1]  <-- veth -->  [nkac1 11.0.9.2 + 11.0.9.3]  nkac<id>-cli
 *
 * The veth pair is created inside the server namespace with its peer moved
 * straight into the client namespace: the host's root namespace is never
 * touched. Server and client each run as a `node` child via `ip netns exec`.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TS_HOOKS } from '@natkit/testkit'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { ReachabilityResult } from '../src/index.js'
import type { ChildProcess } from 'node:child_process'

const isRoot = process.getuid?.() === 0
const hasIp = spawnSync('ip', ['-V']).status === 0
const skipReason = !isRoot ? 'the netns AutoNAT v2 e2e test needs root' : !hasIp ? 'the netns AutoNAT v2 e2e test needs `ip` (apt-get install -y iproute2)' : undefined

const LAB_DIR = fileURLToPath(new URL('./lab/', import.meta.url))
const SERVER_IP = '11.0.9.1'
const CLIENT_IP = '11.0.9.2'
const CLIENT_SECONDARY_IP = '11.0.9.3'
const PORT = '4001'
const STEP_TIMEOUT = 15_000

function ip (...args: string[]): void {
  const res = spawnSync('ip', args, { encoding: 'utf8', timeout: 5_000 })
  if (res.status !== 0) {
    throw new Error(`ip ${args.join(' ')} failed: ${res.stderr}`)
  }
}

/** Resolves with the first stdout line that parses as JSON; rejects on exit or timeout. */
async function firstJsonLine<T> (child: ChildProcess, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => { reject(new Error(`${what}: no output within ${STEP_TIMEOUT} ms; stderr: ${err}`)) }, STEP_TIMEOUT)
    child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        try {
          resolve(JSON.parse(out.slice(0, nl)))
        } catch (e) {
          reject(new Error(`${what}: bad output ${out.slice(0, nl)}; stderr: ${err}`, { cause: e }))
        }
      }
    })
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`${what} exited with ${code} before printing a result; stderr: ${err}`))
    })
  })
}

function nodeIn (ns: string, args: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '--no-warnings', ...args], {
    cwd: LAB_DIR,
    stdio: ['pipe', 'pipe', 'pipe']
  })
}

describe.skipIf(missingPrerequisite(skipReason))('checkReachability against the stock autoNATv2() server (netns lab)', () => {
  const id = randomBytes(3).toString('hex')
  const srvNs = `nkac${id}-srv`
  const cliNs = `nkac${id}-cli`
  const children: ChildProcess[] = []
  let serverAddr = ''

  beforeAll(async () => {
    ip('netns', 'add', srvNs)
    ip('netns', 'add', cliNs)
    ip('-n', srvNs, 'link', 'add', 'nkac0', 'type', 'veth', 'peer', 'name', 'nkac1', 'netns', cliNs)
    ip('-n', srvNs, 'addr', 'add', `${SERVER_IP}/24`, 'dev', 'nkac0')
    ip('-n', cliNs, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', 'nkac1')
    ip('-n', cliNs, 'addr', 'add', `${CLIENT_SECONDARY_IP}/24`, 'dev', 'nkac1')
    for (const ns of [srvNs, cliNs]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up')
    }
    ip('-n', srvNs, 'link', 'set', 'nkac0', 'up')
    ip('-n', cliNs, 'link', 'set', 'nkac1', 'up')

    const server = nodeIn(srvNs, ['server.mjs', SERVER_IP, PORT])
    children.push(server)
    const ready = await firstJsonLine<{ addr: string }>(server, 'autoNATv2 server')
    serverAddr = ready.addr
  })

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode == null && child.signalCode == null) {
        const exited = new Promise(resolve => child.once('exit', resolve))
        child.stdin?.end()
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 3_000).unref())])
        if (child.exitCode == null && child.signalCode == null) {
          child.kill('SIGKILL')
        }
      }
    }
    // deleting the namespaces also destroys the veth pair
    for (const ns of [srvNs, cliNs]) {
      spawnSync('ip', ['netns', 'del', ns], { timeout: 5_000 })
    }
  })

  it('reports reachable, unreachable, amplification-protected and refused addresses', async () => {
    // transform (not just strip) types: the protons-generated codec uses namespaces
    const client = nodeIn(cliNs, ['--experimental-transform-types', '--import', TS_HOOKS, 'client.mjs', serverAddr, CLIENT_IP, CLIENT_SECONDARY_IP, PORT])
    children.push(client)
    const out = await firstJsonLine<{ main: ReachabilityResult[], stingy: ReachabilityResult[], handlerRemoved: boolean }>(client, 'client')
    const [primary, closed, secondary, privateAddr] = out.main

    // (a) we listen on the address the connection comes from: plain dial-back
    expect(primary).toMatchObject({ addr: `/ip4/${CLIENT_IP}/tcp/${PORT}`, status: 'reachable', dialStatus: 'OK', dialDataBytes: 0 })
    expect(primary.dialBackFrom).toMatch(new RegExp(`^/ip4/${SERVER_IP.replaceAll('.', '\\.')}/tcp/\\d+/p2p/`))
    // the server dials back from a new connection, not from its listen port
    expect(primary.dialBackFrom).not.toContain(`/tcp/${PORT}/`)

    // (b) nothing listens there: the server's dial fails
    expect(closed).toMatchObject({ addr: `/ip4/${CLIENT_IP}/tcp/9`, status: 'unreachable', responseStatus: 'OK', dialStatus: 'E_DIAL_ERROR' })

    // an address whose IP differs from the connection's observed IP costs 30-100 kB of dial data first
    expect(secondary).toMatchObject({ addr: `/ip4/${CLIENT_SECONDARY_IP}/tcp/${PORT}`, status: 'reachable' })
    expect(secondary.dialDataBytes).toBeGreaterThanOrEqual(30_000)
    expect(secondary.dialDataBytes).toBeLessThanOrEqual(100_000 + 4096)

    // the js server drops private addresses without answering
    expect(privateAddr).toMatchObject({ status: 'unknown' })
    expect(privateAddr.detail).toContain('without a DialResponse')

    // declining too large a dial-data request gives `unknown`, nothing sent
    expect(out.stingy).toHaveLength(1)
    expect(out.stingy[0]).toMatchObject({ status: 'unknown', dialDataBytes: 0 })
    expect(out.stingy[0].detail).toContain('declined')

    // the temporary dial-back handler is gone afterwards
    expect(out.handlerRemoved).toBe(true)
  })
})
