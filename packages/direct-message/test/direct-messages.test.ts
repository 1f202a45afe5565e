import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import {
  DIRECT_MESSAGE_PROTOCOL, DirectMessageRejectedError, DirectMessageTimeoutError, DirectMessageTooLargeError,
  decodeAck, directMessages, encodeDirectMessage
} from '../src/index.js'
import { createNode, createRelay, waitUntil } from '@natkit/testkit/libp2p'
import type { DirectMessageEvent, DirectMessages, DirectMessagesInit } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type DmNode = Libp2p<{ dm: DirectMessages }>

const nodes: Libp2p[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async n => n.stop()))
})

async function dmNode (init?: DirectMessagesInit, listen?: string[], deny?: (ma: Multiaddr) => boolean): Promise<DmNode> {
  const node = await createNode({ dm: directMessages(init) }, listen, deny)
  nodes.push(node)
  return node
}

function inbox (node: DmNode): DirectMessageEvent[] {
  const got: DirectMessageEvent[] = []
  node.services.dm.addEventListener('message', (evt) => { got.push(evt.detail) })
  return got
}

describe('direct messages', () => {
  it('reaches exactly the addressed peer, with the authenticated sender', async () => {
    const [a, b, c] = await Promise.all([dmNode(), dmNode(), dmNode()])
    const [inA, inB, inC] = [inbox(a), inbox(b), inbox(c)]
    // everyone connected to everyone: only addressing decides who gets it
    await a.dial(b.getMultiaddrs()[0])
    await a.dial(c.getMultiaddrs()[0])
    await b.dial(c.getMultiaddrs()[0])
    await a.services.dm.send(b.peerId, 'hello b')
    await c.services.dm.send(a.peerId, 'hello a')
    // the receiver dispatches before it acks, so `send` resolving means it was delivered
    expect(inB).toEqual([{ from: a.peerId.toString(), text: 'hello b' }])
    expect(inA).toEqual([{ from: c.peerId.toString(), text: 'hello a' }])
    expect(inC).toEqual([])
  })

  it('refuses a too long text before sending anything', async () => {
    const [a, b] = await Promise.all([dmNode({ maxTextBytes: 8 }), dmNode()])
    const inB = inbox(b)
    await a.dial(b.getMultiaddrs()[0])
    await expect(a.services.dm.send(b.peerId, '123456789')).rejects.toThrow(DirectMessageTooLargeError)
    await a.services.dm.send(b.peerId, '12345678')
    expect(inB.map(m => m.text)).toEqual(['12345678'])
  })

  it("the receiver's bound applies: a longer text is refused with a TOO_LARGE ack and not delivered", async () => {
    const [a, b] = await Promise.all([dmNode(), dmNode({ maxTextBytes: 4 })])
    const inB = inbox(b)
    await a.dial(b.getMultiaddrs()[0])
    await expect(a.services.dm.send(b.peerId, 'too long')).rejects.toThrow(DirectMessageRejectedError)
    await expect(a.services.dm.send(b.peerId, 'too long')).rejects.toThrow(/TOO_LARGE/)
    await a.services.dm.send(b.peerId, 'ok!')
    expect(inB.map(m => m.text)).toEqual(['ok!'])
  })

  it('answers oversized, truncated and malformed frames with an error ack or a closed stream, and keeps working', async () => {
    const [a, b] = await Promise.all([createNode({}), dmNode()])
    nodes.push(a)
    const inB = inbox(b)
    await a.dial(b.getMultiaddrs()[0])
    // declared length far over the bound
    let stream = await a.dialProtocol(b.peerId, DIRECT_MESSAGE_PROTOCOL)
    stream.send(new Uint8Array([0xff, 0xff, 0x3f]))
    let lp = lpStream(stream)
    expect(decodeAck(await lp.read())).toMatchObject({ status: 'TOO_LARGE' })
    // a frame whose body is not a DirectMessage (field 1 with wire type 7)
    stream = await a.dialProtocol(b.peerId, DIRECT_MESSAGE_PROTOCOL)
    lp = lpStream(stream)
    await lp.write(new Uint8Array([0x0f, 0x00]))
    expect(decodeAck(await lp.read())).toMatchObject({ status: 'MALFORMED' })
    // half a frame, then the writer closes: truncated
    stream = await a.dialProtocol(b.peerId, DIRECT_MESSAGE_PROTOCOL)
    const body = encodeDirectMessage('cut short')
    stream.send(new Uint8Array([body.byteLength, ...body.subarray(0, 3)]))
    await stream.close()
    lp = lpStream(stream)
    expect(decodeAck(await lp.read())).toMatchObject({ status: 'MALFORMED', error: expect.stringMatching(/truncated/) })
    // the service still works
    const good = await createNode({ dm: directMessages() })
    nodes.push(good)
    await good.dial(b.getMultiaddrs()[0])
    await good.services.dm.send(b.peerId, 'still here')
    expect(inB.map(m => m.text)).toEqual(['still here'])
  })

  it('times out on a peer that never acks', async () => {
    const [a, b] = await Promise.all([dmNode({ timeout: 500 }), createNode({})])
    nodes.push(b)
    // b speaks the protocol but never answers
    await b.handle(DIRECT_MESSAGE_PROTOCOL, () => {})
    await a.dial(b.getMultiaddrs()[0])
    const started = Date.now()
    await expect(a.services.dm.send(b.peerId, 'anyone?')).rejects.toThrow(DirectMessageTimeoutError)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('works over a limited (relayed) connection', async () => {
    const relay = await createRelay()
    nodes.push(relay)
    const b = await dmNode({}, ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit'])
    // b's own addresses are out of reach, as behind a NAT: only the relay connects a and b
    const direct = new Set(b.getMultiaddrs().filter(ma => !ma.toString().includes('/p2p-circuit')).map(ma => ma.toString().split('/p2p/')[0]))
    const behindNat = (ma: Multiaddr): boolean => !ma.toString().includes('/p2p-circuit') && direct.has(ma.toString().split('/p2p/')[0])
    const a = await dmNode({}, undefined, behindNat)
    const inB = inbox(b)
    await b.dial(relay.getMultiaddrs()[0])
    const circuit = await waitUntil(() => b.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit')), 10_000, 'relay reservation')
    await a.dial(multiaddr(circuit.toString()))
    const conns = a.getConnections(b.peerId)
    expect(conns.length).toBeGreaterThan(0)
    expect(conns.every(c => c.limits != null)).toBe(true)
    await a.services.dm.send(b.peerId, 'via relay')
    expect(inB).toEqual([{ from: a.peerId.toString(), text: 'via relay' }])
    expect(a.getConnections(b.peerId).every(c => c.limits != null)).toBe(true)
    // the option reaches the sender: with it off, the limited connection is not used
    const strict = await dmNode({ runOnLimitedConnection: false }, undefined, behindNat)
    await strict.dial(multiaddr(circuit.toString()))
    await expect(strict.services.dm.send(b.peerId, 'not via relay')).rejects.toThrow(/limited connection/)
    expect(inB).toHaveLength(1)
  })
})
