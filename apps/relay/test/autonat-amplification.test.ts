/**
 * Issue 11, attack 7: one AutoNAT v2 request must not make the relay dial
 * every address it lists. js-libp2p's AutoNAT server ignores private and
 * loopback addresses, so this runs lab/autonat-dials.ts in an isolated
 * network namespace (no link to the host's) whose lo carries the "public
 * looking" 11.0.9.1 (relay) and 11.0.9.2 (requester): the dial-backs go to
 * closed ports inside it.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { DEFAULT_AUTONAT_MAX_DIALS_PER_REQUEST, DEFAULT_AUTONAT_REQUESTS_PER_IP } from '@natkit/node/autonat'
import { TS_HOOKS } from '@natkit/testkit'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import { afterAll, describe, expect, it } from 'vitest'

const isRoot = process.getuid?.() === 0
const hasIp = spawnSync('ip', ['-V']).status === 0
const skipReason = !isRoot ? 'the AutoNAT amplification test needs root (a network namespace)' : !hasIp ? 'the AutoNAT amplification test needs `ip` (apt-get install -y iproute2)' : undefined

const LAB_DIR = fileURLToPath(new URL('./lab/', import.meta.url))
const RUN_TIMEOUT = 60_000

function ip (...args: string[]): void {
  const res = spawnSync('ip', args, { encoding: 'utf8', timeout: 5_000 })
  if (res.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${res.stderr}`)
}

interface DialCounts { request200: number, request60: number, requests20: number }

async function runInNamespace (ns: string): Promise<DialCounts> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--no-warnings', '--conditions=source', '--experimental-transform-types', '--import', TS_HOOKS, 'autonat-dials.ts'], { cwd: LAB_DIR, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, RUN_TIMEOUT)
  const code = await new Promise<number | null>((resolve) => { child.once('exit', resolve) })
  clearTimeout(timer)
  const line = out.split('\n').find(l => l.startsWith('{'))
  if (code !== 0 || line == null) throw new Error(`autonat-dials.ts exited with ${code}: ${err.slice(-2000)}`)
  return JSON.parse(line) as DialCounts
}

describe.skipIf(missingPrerequisite(skipReason))('AutoNAT v2 server dial-backs per request (issue 11, attack 7; netns)', () => {
  const ns = `nkan${randomBytes(3).toString('hex')}`
  afterAll(() => { spawnSync('ip', ['netns', 'del', ns], { timeout: 5_000 }) })

  it(`one request yields at most ${DEFAULT_AUTONAT_MAX_DIALS_PER_REQUEST} dial-back; a requester gets ${DEFAULT_AUTONAT_REQUESTS_PER_IP} requests per minute`, async () => {
    ip('netns', 'add', ns)
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    ip('-n', ns, 'addr', 'add', '11.0.9.1/32', 'dev', 'lo')
    ip('-n', ns, 'addr', 'add', '11.0.9.2/32', 'dev', 'lo')
    const counts = await runInNamespace(ns)
    // 200 addresses: more than a DialRequest may carry, refused without a dial
    expect(counts.request200).toBeLessThanOrEqual(DEFAULT_AUTONAT_MAX_DIALS_PER_REQUEST)
    // 60 dialable addresses on the requester's own IP: one dial
    expect(counts.request60).toBe(DEFAULT_AUTONAT_MAX_DIALS_PER_REQUEST)
    // 20 more requests within the minute: only the rest of the per-IP budget (2 used above) is dialled
    expect(counts.requests20).toBe(DEFAULT_AUTONAT_REQUESTS_PER_IP - 2)
  }, RUN_TIMEOUT + 10_000)
})
