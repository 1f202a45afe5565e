import { spawn, spawnSync } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { Sandbox, SandboxError, cleanupStaleSandboxes, formatDestination, parseSinkState, sandboxUnavailableReason, SANDBOX_PREFIX, type Escapes } from '../src/index.js'
import { missingPrerequisite } from '../src/vitest.js'

const WAIT_MS = 5_000

function links (ns?: string): string[] {
  const out = spawnSync('ip', [...(ns != null ? ['-n', ns] : []), '-o', '-d', 'link', 'show'], { encoding: 'utf8', timeout: 5_000 }).stdout
  return out.split('\n').filter(l => l.trim() !== '')
}

function netnsList (): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5_000 }).stdout.split('\n').map(l => l.split(' ')[0] as string).filter(n => n !== '')
}

/** Runs a node script inside the sandbox and waits for it to exit 0. */
function nodeIn (sb: Sandbox, script: string): void {
  const { file, args } = sb.command(process.execPath, ['-e', script])
  const res = spawnSync(file, args, { encoding: 'utf8', timeout: WAIT_MS })
  if (res.status !== 0) throw new Error(`script in the sandbox failed (${res.status}): ${res.stderr}`)
}

/** Polls the sink until `ok` holds or WAIT_MS passed; returns the last state. */
async function escapesWhen (sb: Sandbox, ok: (e: Escapes) => boolean): Promise<Escapes> {
  const end = Date.now() + WAIT_MS
  let e = sb.escapes()
  while (!ok(e) && Date.now() < end) {
    await new Promise(resolve => setTimeout(resolve, 50))
    e = sb.escapes()
  }
  return e
}

const udpSend = (type: 'udp4' | 'udp6', sends: Array<[string, number]>): string => `
  const s = require('node:dgram').createSocket('${type}')
  let n = 0
  for (const [host, port] of ${JSON.stringify(sends)}) s.send('natkit sandbox test', port, host, (err) => { if (err) throw err; if (++n === ${sends.length}) s.close() })
`

describe('parseSinkState / formatDestination', () => {
  it('reads the counter and both destination sets of `nft -j` output', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: {} },
        { counter: { name: 'escaped', packets: 3, bytes: 120 } },
        { set: { name: 'dst4', elem: [{ concat: ['192.0.2.1', 'udp', 9] }, { elem: { val: { concat: ['192.0.2.7', 'icmp', 0] } } }] } },
        { set: { name: 'dst6', elem: [{ concat: ['ff02::fb', 'udp', 5353] }] } }
      ]
    })
    const e = parseSinkState(json)
    expect(e.packets).toBe(3)
    expect(e.bytes).toBe(120)
    expect(e.destinations.map(formatDestination)).toEqual(['udp 192.0.2.1:9', 'icmp 192.0.2.7', 'udp [ff02::fb]:5353'])
  })

  it('refuses output without the counter', () => {
    expect(() => parseSinkState('{"nftables":[]}')).toThrow(/no "escaped" counter/)
  })
})

describe.skipIf(missingPrerequisite(sandboxUnavailableReason() != null ? `the no-egress sandbox ${sandboxUnavailableReason() as string}` : undefined))('Sandbox (network namespaces + nftables)', () => {
  let sb: Sandbox | undefined
  afterEach(() => { sb?.destroy(); sb = undefined })

  it('has no link to the namespace it was created from: its only way out is the sink', () => {
    const before = links().map(l => l.split(':')[1]?.trim())
    sb = Sandbox.create()
    expect(links().map(l => l.split(':')[1]?.trim())).toEqual(before)
    const inside = links(sb.name)
    expect(inside).toHaveLength(2)
    expect(inside.find(l => / lo: /.test(l))).toBeDefined()
    expect(inside.find(l => / eth0@/.test(l))).toContain(`link-netns ${sb.sink}`)
    const sink = links(sb.sink)
    expect(sink).toHaveLength(2)
    expect(sink.find(l => / sandbox0@/.test(l))).toContain(`link-netns ${sb.name}`)
  })

  it('counts exactly the one UDP packet sent to a documentation address, and names its destination', async () => {
    sb = Sandbox.create()
    expect(sb.escapes()).toEqual({ packets: 0, bytes: 0, destinations: [] })
    nodeIn(sb, udpSend('udp4', [['192.0.2.1', 9]]))
    const e = await escapesWhen(sb, x => x.packets >= 1)
    expect(e.packets).toBe(1)
    expect(e.destinations.map(formatDestination)).toEqual(['udp 192.0.2.1:9'])
  })

  it('counts multicast (SSDP, mDNS over IPv4 and IPv6) and IPv6 unicast', async () => {
    sb = Sandbox.create()
    nodeIn(sb, udpSend('udp4', [['239.255.255.250', 1900], ['224.0.0.251', 5353]]))
    nodeIn(sb, udpSend('udp6', [['ff02::fb', 5353], ['2001:db8::1', 9]]))
    const e = await escapesWhen(sb, x => x.packets >= 4)
    expect(e.packets).toBe(4)
    expect(e.destinations.map(formatDestination).sort()).toEqual(['udp 224.0.0.251:5353', 'udp 239.255.255.250:1900', 'udp [2001:db8::1]:9', 'udp [ff02::fb]:5353'])
  })

  it('verify() passes on a working sandbox and leaves the count at zero; fails when the route to the sink is gone', () => {
    sb = Sandbox.create()
    sb.verify()
    expect(sb.escapes()).toEqual({ packets: 0, bytes: 0, destinations: [] })
    spawnSync('ip', ['-n', sb.name, 'route', 'del', 'default'])
    expect(() => { sb?.verify() }).toThrow(SandboxError)
  })

  it('counts a TCP dial, and nothing for traffic that stays on the sandbox\'s loopback', async () => {
    sb = Sandbox.create()
    nodeIn(sb, `
      const net = require('node:net')
      const srv = net.createServer(c => c.end('hi')).listen(0, '127.0.0.1', () => {
        net.connect(srv.address().port, '127.0.0.1').on('data', () => { srv.close(); process.exit(0) })
      })`)
    expect(sb.escapes().packets).toBe(0)
    const { file, args } = sb.command(process.execPath, ['-e', "require('node:net').connect(4001, '198.51.100.1').on('error', () => {})"])
    const child = spawn(file, args, { stdio: 'ignore' })
    try {
      const e = await escapesWhen(sb, x => x.packets >= 1)
      expect(e.destinations.map(formatDestination)).toEqual(['tcp 198.51.100.1:4001'])
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('destroy removes the sandbox and the sink, killing what still runs there', async () => {
    sb = Sandbox.create()
    const { file, args } = sb.command(process.execPath, ['-e', 'setInterval(() => {}, 1000)'])
    const child = spawn(file, args, { stdio: 'ignore' })
    const exited = new Promise(resolve => child.once('exit', resolve))
    const { name, sink } = sb
    const end = Date.now() + WAIT_MS
    while (!spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout.includes(String(child.pid)) && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 20))
    expect(netnsList()).toEqual(expect.arrayContaining([name, sink]))
    sb.destroy()
    await exited
    expect(netnsList()).not.toContain(name)
    expect(netnsList()).not.toContain(sink)
  })

  it('cleanupStaleSandboxes removes the sandboxes of runs that are gone, not of live ones', () => {
    sb = Sandbox.create()
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout
    const stale = `${SANDBOX_PREFIX}${dead}-abcd`
    spawnSync('ip', ['netns', 'add', stale])
    spawnSync('ip', ['netns', 'add', `${stale}-sink`])
    expect(cleanupStaleSandboxes()).toEqual(expect.arrayContaining([stale, `${stale}-sink`]))
    expect(netnsList()).not.toContain(stale)
    expect(netnsList()).toContain(sb.name)
  })
})
