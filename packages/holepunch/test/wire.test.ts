import { byteStream } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { HOLEPUNCH_PROTOCOL, MAX_MESSAGE_SIZE, decodeFrame, encodeFrame, holePunch } from '../src/index.js'
import { createPeer, createRelay, nextEvent, relayedConnections, reserve, waitUntil } from './helpers.js'
import type { HolePunchFailureEvent, HolePunchService } from '../src/index.js'
import type { Libp2p, Stream } from '@libp2p/interface'

describe('responder on a raw stream', () => {
  let nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  /**
   * A (the service under test) dials the client through a relay; the client
   * opens DCUtR streams on that relayed connection, the only kind A answers.
   */
  async function setup (): Promise<{ a: Libp2p, hp: HolePunchService, client: Libp2p, open: () => Promise<Stream> }> {
    const relay = await createRelay()
    const a = await createPeer({ services: { holePunch: holePunch({ allowPrivateAddresses: true, timeout: 3000 }) } })
    const client = await createPeer({ services: {}, listen: ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'] })
    nodes.push(relay, a, client)
    const circuit = await reserve(client, relay)
    await a.dial(circuit)
    const conn = await waitUntil(() => relayedConnections(client, a)[0], 10_000, 'the relayed connection on the client')
    const open = async (): Promise<Stream> => conn.newStream(HOLEPUNCH_PROTOCOL, { runOnLimitedConnection: true, signal: AbortSignal.timeout(5_000) })
    return { a, hp: (a.services as { holePunch: HolePunchService }).holePunch, client, open }
  }

  it('rejects an oversize message with protocol-error and keeps running', async () => {
    const { hp, open } = await setup()
    const failure = nextEvent<HolePunchFailureEvent>(hp, 'holepunch:failure')
    const stream = await open()
    const big = MAX_MESSAGE_SIZE + 1
    await byteStream(stream).write(new Uint8Array([(big & 0x7f) | 0x80, big >> 7]))
    const f = await failure
    expect(f.reason).toBe('protocol-error')
    expect(f.message).toContain('MessageTooLargeError')
    expect(hp.getStats().failures['protocol-error']).toBe(1)
  })

  it('rejects SYNC where CONNECT is expected', async () => {
    const { hp, open } = await setup()
    const failure = nextEvent<HolePunchFailureEvent>(hp, 'holepunch:failure')
    const stream = await open()
    await byteStream(stream).write(encodeFrame({ type: 'SYNC', obsAddrs: [] }))
    const f = await failure
    expect(f.reason).toBe('protocol-error')
    expect(f.message).toContain('UnexpectedMessageTypeError')
  })

  it('answers CONNECT with its candidate addresses in go-compatible framing', async () => {
    const { client, open } = await setup()
    const stream = await open()
    const bytes = byteStream(stream)
    await bytes.write(encodeFrame({ type: 'CONNECT', obsAddrs: client.getMultiaddrs().map(ma => ma.bytes) }))
    const chunks: Uint8Array[] = []
    let reply
    for (let i = 0; i < 16 && reply == null; i++) {
      const chunk = await bytes.read({ signal: AbortSignal.timeout(3000) })
      if (chunk == null) break
      chunks.push(chunk.subarray())
      try {
        reply = decodeFrame(Buffer.concat(chunks)).message
      } catch {}
    }
    expect(reply?.type).toBe('CONNECT')
    expect(reply?.obsAddrs.length).toBeGreaterThan(0)
    stream.abort(new Error('test done'))
  })
})
