/**
 * `natkit-autonat nat` as a user runs it (the built binary, loopback only):
 * against a `natkit-autonat server --stun-listen --stun-alternate` on
 * 127.0.0.1 / 127.0.0.2 it finds no NAT, with every RFC 5780 test run; bad
 * input is one line. The lab test (tools/lab/test/nat-behavior.test.ts) runs
 * it behind every NAT profile.
 */
import { spawn } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { BINS, RoleProcess, freeUdpPort } from '@natkit/testkit/roles'

const procs: RoleProcess[] = []
afterAll(async () => { await Promise.all(procs.map(async p => await p.stop('SIGKILL'))) })

async function run (args: string[], bound = 30_000): Promise<{ code: number | null, stdout: string, stderr: string }> {
  // without DEBUG, as a user runs it (DEBUG set at all adds stacks to unexpected errors)
  const env = { ...process.env }
  delete env.DEBUG
  const child = spawn(process.execPath, [BINS.autonat, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, bound)
  const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve) })
  clearTimeout(timer)
  return { code, stdout, stderr }
}

describe('natkit-autonat nat', () => {
  it('against a server with an alternate address: no NAT, every test reported with evidence, exit 0', async () => {
    const port = await freeUdpPort()
    const server = new RoleProcess('autonat', ['server', '--listen', '/ip4/127.0.0.1/tcp/0', '--stun-listen', `127.0.0.1:${port}`, '--stun-alternate', '127.0.0.2:0'])
    procs.push(server)
    await server.waitFor('info', e => e.message.startsWith('TCP connect-back observer'))
    const { code, stdout, stderr } = await run(['nat', '--stun', `127.0.0.1:${port}`, '--mapping-lifetime-max', '600ms', '--json'])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const events = stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    const nat = events.find(e => e.event === 'nat')
    expect(nat).toMatchObject({ natted: false, mapping: 'none', filtering: 'endpoint-independent', allocation: 'preserving', inbound: 'open', hairpin: true, lifetime: { minMs: 600 } })
    const observers = nat?.observers as Array<{ server: string }>
    expect(observers.map(o => o.server.split(':')[0])).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.2', '127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1'])
    expect((nat?.evidence as string[]).some(l => l.startsWith('TCP: observer saw 127.0.0.1:'))).toBe(true)
    // the human form: one line per piece of evidence, then the verdict
    const human = await run(['nat', '--stun', `stun:127.0.0.1:${port}`, '--no-tcp-probe', '--mapping-lifetime-max', '0'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/saw 127\.0\.0\.1:\d+ \(from local port \d+\)/)
    expect(human.stdout).not.toContain('mapping lifetime')
    expect(human.stdout).toMatch(/NAT: none \(public address\), allocation preserving, unsolicited inbound TCP unknown, hairpinning yes; public address 127\.0\.0\.1/)
  }, 60_000)

  it('no --stun, or no observer answering: one line, exit 2 / 1', async () => {
    const none = await run(['nat'])
    expect(none).toMatchObject({ code: 2, stderr: 'natkit-autonat: nat needs at least one --stun <host:port of a natkit STUN server>\n' })
    const port = await freeUdpPort()
    const silent = await run(['nat', '--stun', `127.0.0.1:${port}`, '--no-tcp-probe'])
    expect(silent.code).toBe(1)
    expect(silent.stderr).toBe('')
    expect(silent.stdout).toContain(`127.0.0.1:${port} did not answer`)
    expect(silent.stdout).toContain('NAT: mapping unknown, filtering unknown, allocation unknown')
    // --timeout bounds the whole discovery: one line, exit 1
    const short = await run(['nat', '--stun', `127.0.0.1:${port}`, '--no-tcp-probe', '--timeout', '300ms', '--mapping-lifetime-max', '0'])
    expect(short.code).toBe(1)
    expect(short.stderr).toBe('natkit-autonat: nat: no verdict within 300 ms (--timeout plus --mapping-lifetime-max)\n')
  }, 60_000)
})
