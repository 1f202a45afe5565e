/**
 * `natkit-autonat check` as a user runs it (the built binary, loopback only):
 * a server that never speaks, the same server twice, and a node with nothing
 * but loopback addresses to check.
 */
import { spawn } from 'node:child_process'
import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { BINS, RoleProcess, listeningAddr } from '@natkit/testkit/roles'

const procs: RoleProcess[] = []
const servers: Server[] = []
const sockets = new Set<Socket>()
afterAll(async () => {
  await Promise.all(procs.map(async p => await p.stop('SIGKILL')))
  for (const s of sockets) s.destroy()
  await Promise.all(servers.map(async s => await new Promise(resolve => { s.close(resolve) })))
})

/** A TCP server on 127.0.0.1 that accepts connections and never sends a byte. */
async function silentServer (): Promise<number> {
  const server = createServer((socket) => { sockets.add(socket); socket.on('error', () => {}) })
  servers.push(server)
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return (server.address() as { port: number }).port
}

/** Runs the binary with human output; resolves with exit code and output once it exits (bounded). */
async function run (args: string[], bound = 30_000): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [BINS.autonat, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '' } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, bound)
  const code = await new Promise<number | null>((resolve) => { child.on('exit', resolve) })
  clearTimeout(timer)
  return { code, stdout, stderr }
}

const SOME_PEER = '12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6'

describe('natkit-autonat check', () => {
  it('a server that accepts TCP and never speaks: one error line, exit 1, no stack or unhandled rejection', async () => {
    const port = await silentServer()
    const { code, stdout, stderr } = await run(['check', '--server', `/ip4/127.0.0.1/tcp/${port}/p2p/${SOME_PEER}`, '--timeout', '2s', '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(stderr).toBe('')
    expect(code).toBe(1)
    const errors = stdout.split('\n').filter(l => l.includes('ERROR'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain(`cannot reach AutoNAT server /ip4/127.0.0.1/tcp/${port}/p2p/${SOME_PEER}: no answer within 2000 ms`)
    expect(stdout).not.toMatch(/^\s+at /m)
  }, 40_000)

  it('the same server twice: the second check uses the existing connection instead of waiting out the timeout', async () => {
    const server = new RoleProcess('autonat', ['server', '--listen', '/ip4/127.0.0.1/tcp/0'])
    procs.push(server)
    const { addr, peerId } = await listeningAddr(server)
    const check = new RoleProcess('autonat', ['check', '--server', addr, '--server', addr, '--timeout', '20s', '--listen', '/ip4/127.0.0.1/tcp/0'])
    procs.push(check)
    const started = Date.now()
    const code = await check.exited
    expect(Date.now() - started).toBeLessThan(15_000)
    const seen = check.events.filter(e => e.event === 'info' && e.message.startsWith(`AutoNAT server ${peerId} sees this node as /ip4/127.0.0.1/tcp/`))
    expect(seen).toHaveLength(2)
    expect(check.events.filter(e => e.event === 'error')).toEqual([])
    // both answered, but loopback is all there is to check here
    expect(code).toBe(2)
  }, 60_000)

  it('only loopback addresses to check: usage error (exit 2) saying to pass --listen on a non-loopback interface', async () => {
    const server = new RoleProcess('autonat', ['server', '--listen', '/ip4/127.0.0.1/tcp/0'])
    procs.push(server)
    const { addr } = await listeningAddr(server)
    const { code, stderr } = await run(['check', '--server', addr, '--timeout', '10s', '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(code).toBe(2)
    expect(stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(stderr).toMatch(/^natkit-autonat: no address to check: .*loopback.*pass --listen on a non-loopback interface/)
  }, 40_000)
})
