import { lpStream, streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { DIAL_REQUEST_PROTOCOL, RESPONSE_STATUS, decodeAutoNATMessage, encodeAutoNATMessage } from '@natkit/autonat-check'
import { describe, expect, it } from 'vitest'
import { AutonatGuard } from './autonat-guard.js'
import type { ComponentLogger, Connection, Stream, StreamHandler } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

const silent = { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) } as unknown as ComponentLogger

/** A guard over a stand-in registrar whose "server" handler records the request it is handed. */
async function guarded (init: ConstructorParameters<typeof AutonatGuard>[1] = {}): Promise<{ handle: StreamHandler, seen: Uint8Array[][] }> {
  const seen: Uint8Array[][] = []
  const server: StreamHandler = async (stream: Stream) => {
    const { dialRequest } = decodeAutoNATMessage(await lpStream(stream).read())
    seen.push(dialRequest?.addrs ?? [])
  }
  let handle: StreamHandler = server
  const registrar = {
    getProtocols: () => [DIAL_REQUEST_PROTOCOL],
    getHandler: () => ({ handler: server, options: {} }),
    handle: async (_p: string, h: StreamHandler) => { handle = h }
  } as unknown as Registrar
  // dialable: any TCP address (the server's transports decide this in a node)
  const connectionManager = { isDialable: async (ma: ReturnType<typeof multiaddr>) => ma.toString().includes('/tcp/') }
  const guard = new AutonatGuard({ registrar, connectionManager, logger: silent }, init)
  await guard.afterStart()
  return { handle: async (s, c) => { await handle(s, c) }, seen }
}

const connection = { remoteAddr: multiaddr('/ip4/11.0.9.2/tcp/4001'), remotePeer: { toString: () => 'P' } } as unknown as Connection
const addrs = ['/ip4/10.0.0.1/tcp/1', '/ip4/11.0.9.2/udp/2', '/ip4/11.0.9.2/tcp/3', '/ip4/11.0.9.2/tcp/4', '/ip4/11.0.9.2/tcp/5'].map(a => multiaddr(a).bytes)

async function ask (handle: StreamHandler, list: Uint8Array[]): Promise<ReturnType<typeof lpStream>> {
  const [client, server] = await streamPair()
  const done = handle(server, connection)
  const messages = lpStream(client)
  await messages.write(encodeAutoNATMessage({ dialRequest: { addrs: list, nonce: 7n } }))
  await done
  return messages
}

describe('AutonatGuard', () => {
  it('hands the server the request cut after the first address it would dial, indexes kept', async () => {
    const { handle, seen } = await guarded()
    await ask(handle, addrs)
    // a private IP and an undialable address stay (the server refuses them without a dial), then the first dialable one
    expect(seen.map(list => list.map(a => multiaddr(a).toString()))).toEqual([['/ip4/10.0.0.1/tcp/1', '/ip4/11.0.9.2/udp/2', '/ip4/11.0.9.2/tcp/3']])
  })

  it('maxDials: cut after that many', async () => {
    const { handle, seen } = await guarded({ maxDials: 2 })
    await ask(handle, addrs)
    expect(seen[0]).toHaveLength(4)
  })

  it('over the per-IP rate: E_REQUEST_REJECTED and nothing reaches the server', async () => {
    const { handle, seen } = await guarded({ requestsPerIp: 1 })
    await ask(handle, addrs)
    const messages = await ask(handle, addrs)
    expect(seen).toHaveLength(1)
    const { dialResponse } = decodeAutoNATMessage(await messages.read({ signal: AbortSignal.timeout(5_000) }))
    expect(dialResponse?.status).toBe(RESPONSE_STATUS.E_REQUEST_REJECTED)
  })
})
