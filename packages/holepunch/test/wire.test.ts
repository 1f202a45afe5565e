import { byteStream } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { HOLEPUNCH_PROTOCOL, MAX_MESSAGE_SIZE, decodeFrame, encodeFrame, holePunch } from '../src/index.js'
import { createPeer, nextEvent } from './helpers.js'
import type { HolePunchFailureEvent, HolePunchService } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

describe('responder on a raw stream', () => {
  let nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  async function setup (): Promise<{ a: Libp2p, hp: HolePunchService, client: Libp2p }> {
    const a = await createPeer({ services: { holePunch: holePunch({ allowPrivateAddresses: true, timeout: 3000 }) } })
    const client = await createPeer({ services: {} })
    nodes.push(a, client)
    return { a, hp: (a.services as { holePunch: HolePunchService }).holePunch, client }
  }

  it('rejects an oversize message with protocol-error and keeps running', async () => {
    const { a, hp, client } = await setup()
    const failure = nextEvent<HolePunchFailureEvent>(hp, 'holepunch:failure')
    const stream = await client.dialProtocol(a.getMultiaddrs()[0], HOLEPUNCH_PROTOCOL)
    const big = MAX_MESSAGE_SIZE + 1
    await byteStream(stream).write(new Uint8Array([(big & 0x7f) | 0x80, big >> 7]))
    const f = await failure
    expect(f.reason).toBe('protocol-error')
    expect(f.message).toContain('MessageTooLargeError')
    expect(hp.getStats().failures['protocol-error']).toBe(1)
  })

  it('rejects SYNC where CONNECT is expected', async () => {
    const { a, hp, client } = await setup()
    const failure = nextEvent<HolePunchFailureEvent>(hp, 'holepunch:failure')
    const stream = await client.dialProtocol(a.getMultiaddrs()[0], HOLEPUNCH_PROTOCOL)
    await byteStream(stream).write(encodeFrame({ type: 'SYNC', obsAddrs: [] }))
    const f = await failure
    expect(f.reason).toBe('protocol-error')
    expect(f.message).toContain('UnexpectedMessageTypeError')
  })

  it('answers CONNECT with its candidate addresses in go-compatible framing', async () => {
    const { a, client } = await setup()
    const stream = await client.dialProtocol(a.getMultiaddrs()[0], HOLEPUNCH_PROTOCOL)
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
