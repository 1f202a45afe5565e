import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { formatHuman } from '@natkit/events'
import { checkPrerequisites, type Lab } from './netns.js'
import { RoleHandle, runnableRoleBinary, REPO_ROOT } from './procs.js'
import { nodeArgv } from '@natkit/testkit/roles'
import { runTrial, timelineLine, TIMELINE_EVENTS, type LabTransport, type TrialResult } from './scenario.js'
import { defaultTopology, describeTopology, type NatProfile } from './topology.js'

const out = (s: string): void => { process.stdout.write(`${s}\n`) }

/** Exit codes of the demo: direct connection made / only relayed / did not run through. */
export const DEMO_EXIT_DIRECT = 0
export const DEMO_EXIT_RELAYED = 3
export const DEMO_EXIT_FAILED = 1

function summaryLines (r: TrialResult): string[] {
  const lines = [
    '',
    '── summary ─────────────────────────────────────────────',
    `NATs            peer-a behind ${r.a}, peer-b behind ${r.b}; transport ${r.transport}`,
    `result          ${r.direct ? 'DIRECT connection between the two NATed peers' : r.outcome === 'relayed' ? 'relayed only (no direct connection)' : 'not connected'}`
  ]
  if (r.timeToRelayedMs != null) lines.push(`relayed after   ${Math.round(r.timeToRelayedMs)} ms (from peer-a's dial)`)
  if (r.timeToDirectMs != null) lines.push(`direct after    ${Math.round(r.timeToDirectMs)} ms (from the relayed connection), ${r.attempts} punch attempt(s)`)
  if (r.directAddr != null) lines.push(`direct path     ${r.directAddr}`)
  lines.push(`ping RTT        relayed ${r.relayedRttMs ?? '-'} ms, direct ${r.directRttMs ?? '-'} ms`)
  if (r.failureReason != null) lines.push(`why not direct  ${r.failureReason}`)
  if (r.reachability != null) {
    for (const [peer, x] of Object.entries(r.reachability)) lines.push(`AutoNAT ${peer.padEnd(8)}${x.reachable} address(es) reachable, ${x.unreachable} unreachable`)
  }
  if (r.error != null) lines.push(`error           ${r.error}`)
  return lines
}

/**
 * The README's main command. In the NAT lab (root, iproute2, nftables): the
 * default scenario with bootstrap, relay and AutoNAT servers on the lab
 * internet and two peers behind NAT routers, as a live timeline. Without root:
 * says why and runs the same roles on loopback instead.
 */
export async function runDemo ([a, b]: [NatProfile, NatProfile], transport: LabTransport): Promise<number> {
  try {
    await checkPrerequisites().catch(async (err) => {
      if (!(await installLabPackages())) throw err
      await checkPrerequisites()
    })
  } catch (err) {
    out(`natkit demo: the NAT lab cannot run here (${(err as Error).message}).`)
    out('natkit demo: running the same roles on loopback instead: no NAT, so this shows the relay and hole-punch protocol flow, not NAT traversal.')
    return await runLoopbackDemo(transport)
  }
  out(`natkit NAT traversal demo: ${a} NAT ↔ ${b} NAT over ${transport}`)
  out(describeTopology(defaultTopology(a, b)))
  out('')
  const t0 = Date.now()
  const r = await runTrial({
    a,
    b,
    transport,
    full: true,
    onEvent: (role, e) => { if (TIMELINE_EVENTS.has(e.event)) out(timelineLine(t0, role, e)) }
  })
  for (const line of summaryLines(r)) out(line)
  return r.direct ? DEMO_EXIT_DIRECT : r.outcome === 'relayed' ? DEMO_EXIT_RELAYED : DEMO_EXIT_FAILED
}

/**
 * As root on Debian/Ubuntu with iproute2 or nftables missing, installs them
 * (the README's demo command runs on a fresh machine). Returns whether it did.
 */
async function installLabPackages (): Promise<boolean> {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return false
  const missing = [['ip', 'iproute2'], ['nft', 'nftables']].filter(([bin]) => !['/usr/sbin/', '/usr/bin/', '/sbin/', '/bin/'].some(d => existsSync(d + bin))).map(([, pkg]) => pkg)
  if (missing.length === 0) return false
  out(`natkit demo: installing ${missing.join(' ')} (apt-get) for the NAT lab`)
  const run = (args: string[]): boolean => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 300_000 }).status === 0
  return run(['update', '-qq']) && run(['install', '-y', '-qq', '--no-install-recommends', ...missing])
}

/** The demo's roles on 127.0.0.1 (no NAT), for machines where the lab cannot run. */
async function runLoopbackDemo (transport: LabTransport): Promise<number> {
  // RoleHandle only needs `exec`; run directly on this host's loopback
  const local = { exec: (_host: unknown, cmd: string, args: string[], opts: object) => spawn(cmd, args, opts) } as unknown as Lab
  const handles: RoleHandle[] = []
  const t0 = Date.now()
  const start = (role: string, bin: 'relay' | 'peer', args: string[]): RoleHandle => {
    const h = new RoleHandle(local, role, process.execPath, [...nodeArgv(runnableRoleBinary(bin)), ...args, '--json', '--network', 'local'], { cwd: REPO_ROOT, label: role })
    handles.push(h)
    h.onEvent((e) => { if (TIMELINE_EVENTS.has(e.event)) out(timelineLine(t0, role, e)) })
    return h
  }
  try {
    const relay = start('relay', 'relay', ['--listen', '/ip4/127.0.0.1/tcp/0', '--seed', 'demo-relay'])
    const ready = await relay.waitForEvent('listening', (e) => e.addrs.length > 0, 20_000)
    const relayMa = ready.addrs[0]
    const common = ['--listen', '/ip4/127.0.0.1/tcp/0', '--relay', relayMa, '--allow-private-addresses', '--no-dht', '--no-upnp', ...(transport === 'tcp' ? ['--no-webrtc'] : ['--no-holepunch'])]
    const b = start('peer-b', 'peer', ['run', '--seed', 'demo-peer-b', ...common])
    const res = await b.waitForEvent('reservation', () => true, 20_000)
    const target = `${relayMa}/p2p-circuit${transport === 'webrtc' ? '/webrtc' : ''}/p2p/${res.peerId}`
    const peerA = start('peer-a', 'peer', ['dial', target, '--seed', 'demo-peer-a', '--timeout', '20s', ...common])
    const code = await peerA.exited
    const result = peerA.events.find(e => e.event === 'dial:result')
    out('')
    out(`summary (loopback): ${result != null ? formatHuman(result).replace(/^\S+ /, '') : `peer-a exited ${String(code)} without a result`}`)
    return code === 0 ? DEMO_EXIT_DIRECT : code === 3 ? DEMO_EXIT_RELAYED : DEMO_EXIT_FAILED
  } finally {
    await Promise.allSettled(handles.map(async h => { await h.stop() }))
  }
}
