/**
 * The chat example in the NAT lab: both peers behind port-restricted NATs,
 * natkit-relay on the lab internet. The peers meet through the relay, the
 * listener's holePunch() service punches a direct connection, and chat lines
 * cross that direct connection both ways.
 */
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_INTERNET_CIDR, DEFAULT_RELAY_IP, DEFAULT_STARTUP_TIMEOUT_MS, Lab, LineProcess, PEER_PORT, RELAY_PORT,
  defaultTopology, listLeftovers, spawnRole
} from '@natkit/lab'
import { assertFreshBuild, sandboxUnavailableReason } from '@natkit/testkit'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { ProcHandle } from '@natkit/lab'

/** The example as a user runs it: its built output (refused when older than its sources). */
const CHAT = fileURLToPath(new URL('../dist/chat.js', import.meta.url))
/** Bound on the relayed connection plus the hole punch, seen from the dialer. */
const DIRECT_TIMEOUT_MS = 40_000
/** Bound on one chat line reaching the other peer. */
const LINE_TIMEOUT_MS = 10_000

/** The lab's prerequisites are the no-egress sandbox's: Linux, root, iproute2, nftables. */
const unavailable = sandboxUnavailableReason()
const labSkipReason: string | undefined = unavailable == null ? undefined : `the NAT lab ${unavailable}`

/** The value after `prefix` on the first line starting with it. */
async function lineAfter (p: ProcHandle, prefix: string, timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
  return (await p.waitForLine(l => l.startsWith(prefix), timeoutMs)).slice(prefix.length)
}

describe('chat example: bad input', () => {
  it('rejects an invalid --allow with a one-line error, before it dials anything', () => {
    assertFreshBuild(CHAT)
    const r = spawnSync(process.execPath, [CHAT, '--relay', '/ip4/127.0.0.1/tcp/1', '--allow', '11.0.0.0/99'], { encoding: 'utf8', timeout: 20_000 })
    expect(r.status).toBe(2)
    expect(r.stderr.trim()).toBe('chat: invalid --allow "11.0.0.0/99": expected an IPv4 CIDR like 11.0.0.0/16')
  })
})

describe.skipIf(missingPrerequisite(labSkipReason))('chat example in the NAT lab (port-restricted ↔ port-restricted)', () => {
  it('chats both ways over the hole-punched connection, and its gater keeps it off non-allowed networks', async () => {
    assertFreshBuild(CHAT)
    const lab = await Lab.create(defaultTopology('port-restricted', 'port-restricted'))
    const procs: ProcHandle[] = []
    const chat = (host: string, args: string[]): LineProcess => {
      const p = new LineProcess(lab, host, process.execPath, [CHAT, ...args], { label: `chat in ${host}` })
      procs.push(p)
      return p
    }
    try {
      const relay = spawnRole(lab, 'relay', 'relay', ['--listen', `/ip4/0.0.0.0/tcp/${RELAY_PORT}`, '--announce', `/ip4/${DEFAULT_RELAY_IP}/tcp/${RELAY_PORT}`, '--network', 'lab'])
      procs.push(relay)
      const ready = await relay.waitForEvent('listening', (e) => e.addrs.length > 0, DEFAULT_STARTUP_TIMEOUT_MS)
      const relayMa = `/ip4/${DEFAULT_RELAY_IP}/tcp/${RELAY_PORT}/p2p/${ready.peerId}`
      const common = ['--relay', relayMa, '--listen', `/ip4/0.0.0.0/tcp/${PEER_PORT}`, '--allow', DEFAULT_INTERNET_CIDR]

      const b = chat('peer-b', common)
      const circuit = await lineAfter(b, 'listening on ', DEFAULT_STARTUP_TIMEOUT_MS)
      const bId = await lineAfter(b, 'peer id ')
      expect(circuit).toBe(`${relayMa}/p2p-circuit/p2p/${bId}`)

      const a = chat('peer-a', [...common, '--dial', circuit])
      const aId = await lineAfter(a, 'peer id ')
      expect(await lineAfter(a, `relayed connection to ${bId} via `, DIRECT_TIMEOUT_MS)).toBe(circuit)
      const direct = await lineAfter(a, `direct connection to ${bId} at `, DIRECT_TIMEOUT_MS)
      // a real punch: each side sees the other's router mapping of its listen port
      expect(direct).toMatch(new RegExp(`^/ip4/11\\.0\\.2\\.1/tcp/${PEER_PORT}(/p2p/${bId})?$`))
      expect(await lineAfter(a, `chatting with ${bId} over `)).toBe(direct)
      expect(await lineAfter(b, `chatting with ${aId} over `)).toMatch(new RegExp(`^/ip4/11\\.0\\.1\\.1/tcp/${PEER_PORT}(/p2p/${aId})?$`))

      a.send('hello from peer-a')
      await b.waitForLine(l => l === `${aId.slice(-6)}> hello from peer-a`, LINE_TIMEOUT_MS)
      b.send('hello from peer-b')
      await a.waitForLine(l => l === `${bId.slice(-6)}> hello from peer-b`, LINE_TIMEOUT_MS)
      // end of input closes the chat stream; the other side says so
      a.child.stdin?.end()
      await b.waitForLine(l => l === `${aId} closed the chat`, LINE_TIMEOUT_MS)

      // without --allow for the lab internet, the gater refuses to dial the relay
      const denied = chat('peer-a', ['--relay', relayMa, '--listen', `/ip4/0.0.0.0/tcp/${PEER_PORT + 1}`])
      expect(await denied.exited).toBe(2)
      expect(denied.stderr.trim()).toMatch(/^chat: [^\n]*(gater|denied)[^\n]*$/i)
      expect(denied.lines.some(l => l.startsWith('listening on '))).toBe(false)
    } finally {
      await Promise.allSettled(procs.map(async p => p.stop()))
      await lab.destroy()
    }
    const left = await listLeftovers(lab.prefix)
    expect(left).toEqual({ namespaces: [], links: [], tables: [] })
  }, 120_000)
})
