/**
 * Fast start (issue 14): every role answers `--help` and usage errors without
 * loading libp2p, and a running role loads only the services it runs (a relay
 * never loads WebRTC). Proved structurally, from the modules each process
 * loaded (TRACE_MODULES_HOOK), not from timings a busy machine would skew.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BINS, RolePool, binNodeFlags, packagesOf, type RoleProcess } from '@natkit/testkit/roles'
import { assertFreshBuild } from '@natkit/testkit'

const pool = new RolePool()
const dir = mkdtempSync(join(tmpdir(), 'natkit-startup-'))
afterAll(async () => {
  await pool.stopAll()
  rmSync(dir, { recursive: true, force: true })
})

let n = 0
/** Runs a role with the module trace on; resolves with its process and, once it exited, the module URLs and packages it loaded. */
function traced (bin: keyof typeof BINS, args: string[]): { proc: RoleProcess, urls: () => Promise<string[]>, packages: () => Promise<string[]> } {
  const file = join(dir, `modules-${n++}.txt`)
  const proc = pool.start(bin, args, { traceModules: file })
  const urls = async (): Promise<string[]> => {
    await proc.exited
    return readFileSync(file, 'utf8').split('\n').filter(Boolean)
  }
  return { proc, urls, packages: async () => packagesOf(await urls()) }
}

/** npm packages loaded from more than one directory (a nested copy besides the hoisted one), with those directories. */
function loadedTwice (urls: string[]): Record<string, string[]> {
  const dirs = new Map<string, Set<string>>()
  for (const u of urls) {
    const m = /^(.*\/node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(u)
    if (m != null) dirs.set(m[2], (dirs.get(m[2]) ?? new Set()).add(m[1]))
  }
  return Object.fromEntries([...dirs].filter(([, d]) => d.size > 1).map(([name, d]) => [name, [...d]]))
}

const isLibp2p = (name: string): boolean => name === 'libp2p' || name.startsWith('@libp2p/') || name.startsWith('@chainsafe/libp2p')

describe('--help and usage errors load no libp2p', () => {
  for (const role of Object.keys(BINS) as Array<keyof typeof BINS>) {
    it(`natkit ${role}: --help prints usage (exit 0), a bad flag one line (exit 2), neither loads libp2p`, async () => {
      const help = traced(role, ['--help'])
      const bad = traced(role, ['--no-such-flag'])
      expect(await help.proc.exited).toBe(0)
      expect(help.proc.other.join('\n')).toMatch(/^Usage: natkit-/m)
      expect(await bad.proc.exited).toBe(2)
      expect(bad.proc.stderr.trim().split('\n')).toEqual([expect.stringMatching(/unknown option '--no-such-flag'/)])
      const loaded = [...await help.packages(), ...await bad.packages()]
      // the trace works: parsing's own packages are there
      expect(loaded).toContain('commander')
      expect(loaded.filter(isLibp2p)).toEqual([])
    }, 30_000)
  }
})

describe('a role loads only the services it runs', () => {
  it('a relay never loads WebRTC or the port-reusing TCP transport; without --autonat not AutoNAT; without --metrics not Prometheus', async () => {
    const relay = traced('relay', ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-autonat'])
    await relay.proc.waitFor('listening', (e) => e.addrs.length > 0)
    expect(await relay.proc.stop()).toBe(0)
    const loaded = await relay.packages()
    expect(loaded).toEqual(expect.arrayContaining(['libp2p', '@libp2p/circuit-relay-v2', '@libp2p/tcp']))
    // node-unix-socket: the native addon of @natkit/tcp-reuse's transport (the listen check needs only its probe)
    for (const p of ['@libp2p/webrtc', 'node-datachannel', 'node-unix-socket', '@libp2p/autonat-v2', '@libp2p/prometheus-metrics', 'prom-client', '@libp2p/kad-dht', '@libp2p/bootstrap']) expect(loaded).not.toContain(p)
  }, 30_000)

  it('a peer loads WebRTC only with --webrtc (the default), and the relay AutoNAT only with --autonat (the default)', async () => {
    const peer = traced('peer', ['run', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-webrtc', '--no-dht'])
    const relay = traced('relay', ['--listen', '/ip4/127.0.0.1/tcp/0'])
    await peer.proc.waitFor('listening', (e) => e.addrs.length > 0)
    await relay.proc.waitFor('listening', (e) => e.addrs.length > 0)
    expect(await peer.proc.stop()).toBe(0)
    expect(await relay.proc.stop()).toBe(0)
    const peerLoaded = await peer.packages()
    expect(peerLoaded).toContain('@libp2p/circuit-relay-v2')
    for (const p of ['@libp2p/webrtc', 'node-datachannel', '@libp2p/kad-dht', '@achingbrain/nat-port-mapper', '@libp2p/mdns']) expect(peerLoaded).not.toContain(p)
    expect(await relay.packages()).toContain('@libp2p/autonat-v2')
    // nor natkit's peer-side capabilities (@natkit/node/relay, @natkit/node/autonat-guard): the reachability checker
    // (AutoNAT client), direct paths, reservations, relay discovery, address confirmation, the STOP guard
    const relayUrls = await relay.urls()
    expect(relayUrls).toEqual(expect.arrayContaining([expect.stringMatching(/\/packages\/node\/(dist|src)\/relay-gater\.(js|ts)$/), expect.stringMatching(/\/packages\/node\/(dist|src)\/autonat-guard\.(js|ts)$/)]))
    const peerSide = /\/packages\/node\/(dist|src)\/(reachability|direct-paths|reservations|relay-discovery|public-addrs|stop-guard)\.(js|ts)$/
    expect(relayUrls.filter(u => peerSide.test(u))).toEqual([])
    // one copy of each package: a version conflict once nested uint8arrays (and its multiformats) under
    // every @libp2p package, ~130 more modules to load at every start (see the root package.json's overrides)
    expect(loadedTwice(await relay.urls())).toEqual({})
    expect(loadedTwice(await peer.urls())).toEqual({})
  }, 30_000)
})

describe('WebSockets without undici (issue 14: ~30 ms of every start, nodejs/node#59686)', () => {
  const UNDICI = 'node:internal/deps/undici/undici'
  const WS_LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/tcp/0/ws']
  const ROLE_ARGS: Record<keyof typeof BINS, string[]> = {
    relay: [...WS_LISTEN, '--no-autonat'],
    bootstrap: WS_LISTEN,
    autonat: WS_LISTEN,
    peer: ['run', ...WS_LISTEN, '--no-webrtc', '--no-dht']
  }

  for (const role of Object.keys(BINS) as Array<keyof typeof BINS>) {
    it(`natkit ${role}: listens on /ws without loading undici; a natkit peer connects over it`, async () => {
      const server = traced(role, ROLE_ARGS[role])
      const listening = await server.proc.waitFor('listening', (e) => e.addrs.some((a: string) => a.includes('/ws/')))
      const wsAddr = listening.addrs.find((a: string) => a.includes('/ws/')) ?? ''
      const client = traced('peer', ['dial', wsAddr, '--no-webrtc', '--timeout', '10s'])
      expect(await client.proc.exited, client.proc.stderr).toBe(0)
      expect((await client.proc.waitFor('dial:result')).outcome).toBe('direct')
      const connected = await client.proc.waitFor('peer:connect', (e) => e.remotePeer === listening.peerId)
      expect(connected.remoteAddr).toMatch(/\/tcp\/\d+\/ws\//)
      // the other side saw it arrive over WebSockets
      const seen = await server.proc.waitFor('peer:connect', (e) => e.remotePeer === connected.peerId)
      expect(seen.remoteAddr).toMatch(/\/tcp\/\d+\/ws\//)
      expect(await server.proc.stop()).toBe(0)
      // the role listened on WebSockets (node:http, the transport) without loading undici
      const served = await server.urls()
      expect(served).toEqual(expect.arrayContaining(['node:http', expect.stringContaining('/node_modules/@libp2p/websockets/')]))
      expect(served).not.toContain(UNDICI)
      // the dialling side does load it: @libp2p/websockets dials with Node's WebSocket (undici), which also shows the trace sees it
      expect(await client.urls()).toContain(UNDICI)
    }, 30_000)
  }
})

describe('natkit-relay caps V8\'s young generation (issue 14: scavenge pauses with many connections)', () => {
  const FLAG = '--max-semi-space-size=4'
  const cmdline = (pid: number | undefined): string[] => readFileSync(`/proc/${pid ?? 0}/cmdline`, 'utf8').split('\0').filter(Boolean)

  it('run as a command (its shebang), Node gets the flag; so does a relay the tests and benchmarks start with node', async () => {
    assertFreshBuild(BINS.relay)
    expect(binNodeFlags(BINS.relay)).toEqual([FLAG])
    // as a user runs it: the file itself, `node` found on PATH (npm puts node_modules/.bin first)
    const child = spawn(BINS.relay, ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-autonat', '--json'], { env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` }, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise(resolve => child.on('exit', resolve))
    try {
      await new Promise<void>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('"event":"listening"')) resolve() })
        child.on('exit', (code) => { reject(new Error(`natkit-relay exited (${code}) before listening`)) })
      })
      expect(cmdline(child.pid).slice(0, 3), 'the process env started: node, the flag, the script').toEqual([expect.stringMatching(/node$/), FLAG, BINS.relay])
    } finally {
      child.kill('SIGTERM')
      await exited
    }
    const started = pool.start('relay', ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-autonat'])
    await started.waitFor('listening', (e) => e.addrs.length > 0)
    expect(cmdline(started.child.pid), 'RoleProcess passes the shebang\'s flags').toContain(FLAG)
    expect(await started.stop()).toBe(0)
  }, 30_000)
})

describe('the role binaries keep V8\'s compile cache', () => {
  /** Runs `bin --help` with the OS temp dir in `tmp`; resolves with the files of the compile cache there. */
  function cacheAfterHelp (bin: keyof typeof BINS, tmp: string, env: Record<string, string> = {}): string[] {
    assertFreshBuild(BINS[bin])
    mkdirSync(tmp, { recursive: true })
    const childEnv: Record<string, string | undefined> = { ...process.env, TMPDIR: tmp, ...env }
    // only the binary may turn the cache on, not the environment
    delete childEnv.NODE_COMPILE_CACHE
    const res = spawnSync(process.execPath, [BINS[bin], '--help'], { env: childEnv, encoding: 'utf8', timeout: 20_000 })
    expect(res.status).toBe(0)
    const cache = join(tmp, 'node-compile-cache')
    return existsSync(cache) ? readdirSync(cache, { recursive: true }).map(String) : []
  }

  for (const role of Object.keys(BINS) as Array<keyof typeof BINS>) {
    it(`natkit ${role}: a run leaves code cache entries in the OS temp dir; NODE_DISABLE_COMPILE_CACHE=1 leaves none`, () => {
      expect(cacheAfterHelp(role, join(dir, `cc-${role}`)).length).toBeGreaterThan(1)
      expect(cacheAfterHelp(role, join(dir, `cc-off-${role}`), { NODE_DISABLE_COMPILE_CACHE: '1' })).toEqual([])
    }, 30_000)
  }
})
