import { execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { cidrContains, cleanupAll, defaultTopology, Lab, listLeftovers, tcpConnect, tcpServer, udpAgent, udpSend, UnsupportedNatProfileError, UpnpUnavailableError, withLab, type NatProfile } from '../src/index.js'
import { labSkipReason } from './env.js'
import { assertFreshBuild } from '@natkit/testkit'
import { missingPrerequisite } from '@natkit/testkit/vitest'

const DIST_INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url))

function rootLinks (): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map(l => /^\d+:\s+([^:\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n != null)
    .sort()
}

function rootTables (): string {
  return execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })
}

function netnsList (): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
}

function pidAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Starts a child process that builds a lab and sends it SIGTERM either while the
 * lab is being built (on the first router log line) or once it is ready.
 */
async function signalChild (when: 'building' | 'ready'): Promise<{ prefix: string, pid: number }> {
  assertFreshBuild(DIST_INDEX)
  const script = `
    import { Lab, defaultTopology, tcpServer } from ${JSON.stringify(DIST_INDEX)}
    const out = o => process.stdout.write(JSON.stringify(o) + '\\n')
    const lab = await Lab.create(defaultTopology('port-restricted', 'symmetric'), {
      log: line => { if (line.includes('behind router-a')) out({ building: line.split(':')[0].split(' ')[1] }) }
    })
    const srv = await tcpServer(lab, 'relay', 6002)
    out({ prefix: lab.prefix, pid: srv.pid })
    setTimeout(() => process.exit(99), 20000)
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => child.once('close', resolve))
  const info = await new Promise<{ prefix: string, pid: number }>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      for (const line of out.split('\n').slice(0, -1)) {
        const v = JSON.parse(line)
        if (when === 'building' && v.building != null) resolve({ prefix: v.building, pid: 0 })
        if (when === 'ready' && v.prefix != null) resolve(v)
      }
    })
    child.once('close', (code) => { reject(new Error(`child exited ${code} before the signal point`)) })
  })
  expect(netnsList()).toContain(info.prefix)
  child.kill('SIGTERM')
  expect(await exited).toBe(143)
  return info
}

async function expectGone (prefix: string): Promise<void> {
  expect(await listLeftovers(prefix)).toEqual({ namespaces: [], links: [], tables: [] })
  expect(netnsList()).not.toContain(prefix)
  expect(rootTables()).not.toContain(prefix.replace(/-$/, ''))
}

describe('topology refusals', () => {
  it('refuses NAT profiles it does not know, naming the ones it builds', () => {
    expect(() => defaultTopology('restricted-cone' as NatProfile, 'port-restricted')).toThrow(UnsupportedNatProfileError)
    expect(() => defaultTopology('port-restricted', 'cone' as NatProfile)).toThrow(/unknown NAT profile "cone"; expected one of .*full-cone/)
    // the cone profiles are built now (tools/lab/test/profiles.test.ts proves their behaviour)
    expect(defaultTopology('full-cone', 'address-restricted').routers.map(r => r.profile)).toEqual(['full-cone', 'address-restricted'])
  })
})

describe.skipIf(missingPrerequisite(labSkipReason))('lab lifecycle and isolation', () => {
  it('two labs with different prefixes coexist, stay isolated from the host, and tear down completely', async () => {
    const linksBefore = rootLinks()
    const tablesBefore = rootTables()
    const [a, b] = await Promise.all([
      Lab.create(defaultTopology('none', 'port-restricted')),
      Lab.create(defaultTopology('port-restricted', 'symmetric'))
    ])
    try {
      expect(a.prefix).not.toBe(b.prefix)
      expect(a.prefix).toMatch(/^nk[0-9a-f]{4}-$/)
      const listed = netnsList()
      for (const ns of [...a.namespaces, ...b.namespaces]) expect(listed).toContain(ns)
      expect(rootLinks()).toEqual(linksBefore)
      expect(rootTables()).toBe(tablesBefore)

      // interface names fit IFNAMSIZ and every route stays inside the lab
      for (const lab of [a, b]) {
        const lanCidrs = lab.topology.routers.map(r => r.lanCidr)
        const labCidrs = [lab.topology.internetCidr, ...lanCidrs]
        const gateways = lab.topology.routers.map(r => r.lanIp)
        for (const ns of lab.namespaces) {
          const name = ns.slice(lab.prefix.length)
          const links = (await lab.run(name, 'ip', ['-o', 'link', 'show'])).stdout
          for (const m of links.matchAll(/^\d+:\s+([^:@\s]+)/gm)) expect((m[1] as string).length).toBeLessThanOrEqual(15)
          // every veth's peer is in a namespace of this lab: none in the namespace the lab was built from
          // (the host's, or the no-egress sandbox's under npm test), none in a namespace without a name
          const details = (await lab.run(name, 'ip', ['-o', '-d', 'link', 'show'])).stdout
          expect(details).not.toMatch(/link-netnsid/)
          for (const m of details.matchAll(/link-netns (\S+)/g)) expect(lab.namespaces).toContain(m[1])
          const routes = (await lab.run(name, 'ip', ['-4', 'route', 'show'])).stdout.split('\n').filter(l => l.trim() !== '')
          for (const route of routes) {
            const [dst, , via] = route.split(/\s+/)
            if (dst === 'default') {
              expect(gateways).toContain(via)
            } else {
              expect(labCidrs.some(c => cidrContains(c, (dst as string).split('/')[0] as string))).toBe(true)
            }
          }
        }
        // routers (the only hop with a default-route client) cannot reach anything outside
        for (const r of lab.topology.routers) {
          const res = await lab.run(r.name, 'ip', ['route', 'get', '1.1.1.1'])
          expect(res.code).not.toBe(0)
        }
      }

      // both labs use the same addresses without interfering
      const srvA = await tcpServer(a, 'relay', 6000)
      const srvB = await tcpServer(b, 'relay', 6000)
      expect((await tcpConnect(a, 'peer-b', '11.0.0.10', 6000)).seen?.ip).toBe('11.0.2.1')
      expect((await tcpConnect(b, 'peer-a', '11.0.0.10', 6000)).seen?.ip).toBe('11.0.1.1')
      expect(srvA.records.filter(r => r.probe === 'accepted').map(r => r.ip)).toEqual(['11.0.2.1'])
      expect(srvB.records.filter(r => r.probe === 'accepted').map(r => r.ip)).toEqual(['11.0.1.1'])

      // profile none: peer-a sits on the internet and is directly reachable, also by unsolicited UDP
      expect(a.host('peer-a')).toMatchObject({ segment: 'internet', ip: '11.0.1.10' })
      const srvPeer = await tcpServer(a, 'peer-a', 5000)
      expect((await tcpConnect(a, 'relay', '11.0.1.10', 5000)).seen?.ip).toBe('11.0.0.10')
      await srvPeer.stop()
      const agent = await udpAgent(a, 'peer-a', 5001)
      await udpSend(a, 'bootstrap', '11.0.1.10', 5001, 'unsolicited', 4000)
      await agent.waitFor(r => r.probe === 'datagram' && r.msg === 'unsolicited' && r.ip === '11.0.0.11' && r.port === 4000)
      await agent.stop()
    } finally {
      await Promise.all([a.destroy(), b.destroy()])
    }
    await expectGone(a.prefix)
    await expectGone(b.prefix)
    expect(rootLinks()).toEqual(linksBefore)
  })

  it('tears down when the work throws midway, killing processes started in the lab', async () => {
    let prefix = ''
    let pid = 0
    await expect(withLab(defaultTopology('port-restricted', 'port-restricted'), async (lab) => {
      prefix = lab.prefix
      const srv = await tcpServer(lab, 'relay', 6001)
      pid = srv.pid as number
      expect(pidAlive(pid)).toBe(true)
      throw new Error('boom')
    })).rejects.toThrow('boom')
    expect(prefix).not.toBe('')
    await expectGone(prefix)
    expect(pidAlive(pid)).toBe(false)
  })

  it('removes what it built when creation fails midway', async () => {
    const prefix = 'nkfa11-'
    await expect(Lab.create(defaultTopology('port-restricted', 'upnp'), { prefix, miniupnpdPath: '/nonexistent/miniupnpd' })).rejects.toThrow(UpnpUnavailableError)
    await expectGone(prefix)
  })

  it('cleanup removes namespaces left with a lab prefix', async () => {
    const prefix = 'nkc1ea-'
    execFileSync('ip', ['netns', 'add', `${prefix}stale`])
    expect((await listLeftovers(prefix)).namespaces).toEqual([`${prefix}stale`])
    expect(await cleanupAll(prefix)).toEqual([`${prefix}stale`])
    await expectGone(prefix)
  })

  it('tears down on SIGTERM after creation (runs the built dist/)', async () => {
    const { prefix, pid } = await signalChild('ready')
    expect(pidAlive(pid)).toBe(false)
    await expectGone(prefix)
  })

  it('tears down on SIGTERM in the middle of building (runs the built dist/)', async () => {
    const { prefix } = await signalChild('building')
    await expectGone(prefix)
  })
})
