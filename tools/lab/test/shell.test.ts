/**
 * natkit-peer's shell in the NAT lab (issue 12), both peers behind
 * port-restricted NATs, driven through `shell --json` on stdin: peer-a finds a
 * file peer-b shares through the DHT, reaches peer-b through the relay (the
 * transfer waits there, because the relay's limits are too small for it) and
 * receives it, verified, over the hole-punched direct connection; then chat
 * messages cross both NATs in both directions.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import { DEFAULT_STARTUP_TIMEOUT_MS, PEER_PORT, listLeftovers, startPeerLab, type RoleHandle } from '../src/index.js'
import { labSkipReason } from './env.js'

/** Bound on the file transfer: provider search, relayed connection, hole punch, 2 MiB. */
const TRANSFER_TIMEOUT_MS = 60_000
/** Bound on one chat message reaching the other peer. */
const MESSAGE_TIMEOUT_MS = 10_000

describe.skipIf(missingPrerequisite(labSkipReason))('peer shell in the NAT lab (port-restricted ↔ port-restricted)', () => {
  it('a transfer that starts while only relayed completes over the direct connection, and chat crosses both NATs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'natkit-lab-shell-'))
    const content = randomBytes(2 * 1024 * 1024 + 777)
    await writeFile(join(dir, 'shared.bin'), content)
    const peerLab = await startPeerLab('port-restricted', 'port-restricted', { seed: 'lab-shell' })
    const lab = peerLab.lab
    try {
      const peer = (name: string): RoleHandle => peerLab.start(name, 'peer', peerLab.shellArgs(name))

      const b = peer('peer-b')
      const bId = (await b.waitForEvent('reservation', () => true, DEFAULT_STARTUP_TIMEOUT_MS)).peerId
      b.send('join chat')
      b.send(`share ${join(dir, 'shared.bin')}`)
      const shared = await b.waitForEvent('file:shared')
      await b.waitForEvent('info', (e) => e.message === `announced ${shared.cid} in the DHT`)

      // peer-a knows only the relay and the bootstrap node: the provider record leads it to peer-b
      const a = peer('peer-a')
      const aId = (await a.waitForEvent('reservation', () => true, DEFAULT_STARTUP_TIMEOUT_MS)).peerId
      expect(a.events.some(e => e.event === 'peer:connect' && e.remotePeer === bId)).toBe(false)
      a.send('join chat')
      a.send(`get ${shared.cid} ${join(dir, 'fetched.bin')}`)
      const waiting = await a.waitForEvent('file:waiting', () => true, TRANSFER_TIMEOUT_MS)
      expect(waiting).toMatchObject({ cid: shared.cid, peer: bId })
      expect(waiting.message).toMatch(/^waiting for a direct connection to 12D3Koo\w+; relayed limit is /)
      const received = await a.waitForEvent('file:received', () => true, TRANSFER_TIMEOUT_MS)
      expect(received).toMatchObject({ cid: shared.cid, path: join(dir, 'fetched.bin'), bytes: content.length, from: bId })
      expect(createHash('sha256').update(await readFile(join(dir, 'fetched.bin'))).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'))
      // the transfer ran over the punched connection: peer-b's router mapping of its listen port
      a.send('peers')
      const peers = await a.waitForEvent('command:result', (e) => e.command === 'peers')
      expect(peers.data).toContainEqual(expect.objectContaining({ peer: bId, direct: true, transport: 'tcp', addr: expect.stringMatching(new RegExp(`^/ip4/11\\.0\\.2\\.1/tcp/${PEER_PORT}`)) }))
      const connects = a.events.filter(e => e.event === 'peer:connect' && e.remotePeer === bId)
      expect(connects[0]).toMatchObject({ limited: true })

      // chat both ways across both NATs, over the direct connection: the relayed one is closed after the upgrade
      await a.waitForEvent('peer:disconnect', (e) => e.remotePeer === bId && e.remoteAddr?.includes('/p2p-circuit') === true, MESSAGE_TIMEOUT_MS)
      await a.waitForEvent('pubsub:peer', (e) => e.peer === bId && e.subscribed, MESSAGE_TIMEOUT_MS)
      await b.waitForEvent('pubsub:peer', (e) => e.peer === aId && e.subscribed, MESSAGE_TIMEOUT_MS)
      // right after the upgrade gossipsub reopens its streams on the direct connection (the peer runs identify
      // there again to make it); a `say` before that waits for it
      a.send('say chat hello from behind router-a')
      const heard = await b.waitForEvent('pubsub:message', (e) => e.text === 'hello from behind router-a', MESSAGE_TIMEOUT_MS).catch((err: Error) => {
        throw new Error(`${err.message}; peer-a: ${JSON.stringify(a.events.filter(e => /^(command|pubsub|peer:)/.test(e.event)))}; peer-b: ${JSON.stringify(b.events.filter(e => /^(command|pubsub|peer:)/.test(e.event)))}`)
      })
      expect(heard).toMatchObject({ topic: 'chat', from: aId })
      b.send('say chat hello from behind router-b')
      expect(await a.waitForEvent('pubsub:message', (e) => e.text === 'hello from behind router-b', MESSAGE_TIMEOUT_MS)).toMatchObject({ topic: 'chat', from: bId })
      expect(a.events.filter(e => e.event === 'command:error')).toEqual([])
      expect(b.events.filter(e => e.event === 'command:error')).toEqual([])

      a.send('quit')
      b.send('quit')
      expect(await a.exited).toBe(0)
      expect(await b.exited).toBe(0)
    } finally {
      await peerLab.close()
      await rm(dir, { recursive: true, force: true })
    }
    expect(await listLeftovers(lab.prefix)).toEqual({ namespaces: [], links: [], tables: [] })
  }, 180_000)
})
