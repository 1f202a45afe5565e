import net from 'node:net'
import { tcp } from '@libp2p/tcp'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { NatkitEvents, isUserError } from '@natkit/events'
import { tcpReuse } from '@natkit/tcp-reuse'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { ListenAddressError, checkListenAddrs, toListenAddressError } from './listen.js'
import { startNatkitNode } from './node.js'
import type { Libp2p } from '@libp2p/interface'

const nodes: Libp2p[] = []
const servers: net.Server[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  await Promise.all(servers.splice(0).map(async s => { await new Promise(resolve => s.close(resolve)) }))
})

async function busyPort (reusePort = false): Promise<number> {
  const server = net.createServer()
  servers.push(server)
  await new Promise<void>(resolve => { server.listen({ host: '127.0.0.1', port: 0, reusePort }, resolve) })
  return (server.address() as net.AddressInfo).port
}

async function node (listen: string[], transport: 'tcp' | 'tcpReuse' = 'tcpReuse'): Promise<Libp2p> {
  const n = await createLibp2p({ start: false, privateKey: await generateKeyPair('Ed25519'), addresses: { listen }, transports: [transport === 'tcp' ? tcp() : tcpReuse()] })
  nodes.push(n)
  return n
}

async function listenError (listen: string[]): Promise<ListenAddressError> {
  const err = await checkListenAddrs(await node(listen), listen, 'peer').then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(ListenAddressError)
  expect(isUserError(err)).toBe(true)
  expect((err as Error).message).not.toContain('\n')
  return err as ListenAddressError
}

describe('checkListenAddrs', () => {
  it('names the address and the cause of each kind of failure', async () => {
    const port = await busyPort(true)
    const inUse = await listenError([`/ip4/127.0.0.1/tcp/${port}`])
    expect(inUse.message).toBe(`cannot listen on /ip4/127.0.0.1/tcp/${port}: port ${port} on 127.0.0.1 is already in use (another process listens on it)`)
    expect(inUse.code).toBe('EADDRINUSE')
    // RFC 5737: only bound (which fails), never dialled
    expect((await listenError(['/ip4/192.0.2.9/tcp/0'])).message).toBe('cannot listen on /ip4/192.0.2.9/tcp/0: 192.0.2.9 is not an address of this host')
    expect((await listenError(['/ip4/127.0.0.1/udp/0/quic-v1'])).message).toBe('cannot listen on /ip4/127.0.0.1/udp/0/quic-v1: the peer role has no transport that listens on this kind of address')
    expect((await listenError(['/dns4/localhost/tcp/0'])).message).toMatch(/^cannot listen on \/dns4\/localhost\/tcp\/0: a listen address needs an IP address/)
  })

  it('accepts addresses it can listen on and leaves them free', async () => {
    const n = await node(['/ip4/127.0.0.1/tcp/0'])
    await expect(checkListenAddrs(n, ['/ip4/127.0.0.1/tcp/0'], 'peer')).resolves.toBeUndefined()
  })
})

describe('toListenAddressError', () => {
  it('turns libp2p\'s multi-line listen error into one line naming the address (canary for its format)', async () => {
    const port = await busyPort()
    const n = await node([`/ip4/127.0.0.1/tcp/${port}`], 'tcp')
    const err = await Promise.resolve(n.start()).then(() => undefined, (e: unknown) => e)
    expect((err as Error).name).toBe('UnsupportedListenAddressesError')
    const one = toListenAddressError(err)
    expect(one).toBeInstanceOf(ListenAddressError)
    expect((one as Error).message).toMatch(new RegExp(`^cannot listen on /ip4/127.0.0.1/tcp/${port}: .*EADDRINUSE`))
    expect((one as Error).message).not.toContain('\n')
    const other = new Error('other')
    expect(toListenAddressError(other)).toBe(other)
  })
})

describe('startNatkitNode', () => {
  it('checks the listen addresses before starting, and emits `listening` only once bound', async () => {
    const port = await busyPort()
    const events = new NatkitEvents()
    const bad = await node([`/ip4/127.0.0.1/tcp/${port}`])
    await expect(startNatkitNode(bad, { role: 'peer', options: { network: 'local', listen: [`/ip4/127.0.0.1/tcp/${port}`] }, events })).rejects.toBeInstanceOf(ListenAddressError)
    expect(bad.status).not.toBe('started')

    // with an announced address libp2p reports addresses while starting, before binding
    const good = await createLibp2p({ start: false, privateKey: await generateKeyPair('Ed25519'), addresses: { listen: ['/ip4/127.0.0.1/tcp/0'], announce: ['/ip4/127.0.0.1/tcp/9'] }, transports: [tcpReuse()] })
    nodes.push(good)
    const bound: boolean[] = []
    events.on('listening', () => { bound.push(good.status === 'started') })
    await startNatkitNode(good, { role: 'peer', options: { network: 'local', listen: ['/ip4/127.0.0.1/tcp/0'] }, events })
    expect(bound).toEqual([true])
  })
})
