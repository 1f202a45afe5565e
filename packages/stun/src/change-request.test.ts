import { once } from 'node:events'
import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { stunBindingRequest } from './client.js'
import { MAX_STUN_RESPONSE_GROWTH, StunAttribute, StunClass, StunMethod } from './constants.js'
import { StunErrorResponseError } from './errors.js'
import { createTransactionId, decodeChangeRequest, decodeMappedAddress, decodeStunMessage, encodeChangeRequest, encodeStunMessage, getAttribute } from './message.js'
import { createStunServer } from './server.js'
import type { StunServer, StunServerInit } from './server.js'
import type { Socket } from 'node:dgram'

const WAIT_MS = 2_000
const PRIMARY = '127.0.0.1'
const ALTERNATE = '127.0.0.2'

const servers: StunServer[] = []
const sockets: Socket[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map(async server => { await server.close() }))
  await Promise.all(sockets.splice(0).map(async socket => new Promise<void>(resolve => { socket.close(() => { resolve() }) })))
})

async function start (init: StunServerInit = { alternate: { address: ALTERNATE, port: 0 } }): Promise<{ server: StunServer, port: number, other: { address: string, port: number } }> {
  const server = createStunServer(init)
  servers.push(server)
  const { port } = await server.listen(0, PRIMARY)
  const other = server.otherAddress() ?? { address: '', port: 0 }
  return { server, port, other }
}

async function udpSocket (): Promise<Socket> {
  const socket = createSocket('udp4')
  sockets.push(socket)
  socket.bind(0, PRIMARY)
  await once(socket, 'listening')
  return socket
}

describe('CHANGE-REQUEST, RESPONSE-ORIGIN, OTHER-ADDRESS (RFC 5780)', () => {
  it('CHANGE-REQUEST round-trips its two flags', () => {
    for (const ip of [false, true]) {
      for (const port of [false, true]) expect(decodeChangeRequest(encodeChangeRequest({ ip, port }))).toEqual({ ip, port })
    }
    expect(encodeChangeRequest({ ip: true, port: true })).toEqual(new Uint8Array([0, 0, 0, 6]))
    expect(() => decodeChangeRequest(new Uint8Array(3))).toThrow(/4 bytes/)
  })

  it('answers from the socket each CHANGE-REQUEST names, and says so in RESPONSE-ORIGIN', async () => {
    const { port, other } = await start()
    expect(other.address).toBe(ALTERNATE)
    expect(other.port).not.toBe(port)
    const client = await udpSocket()
    const cases = [
      [{}, { address: PRIMARY, port }],
      [{ port: true }, { address: PRIMARY, port: other.port }],
      [{ ip: true }, { address: ALTERNATE, port }],
      [{ ip: true, port: true }, { address: ALTERNATE, port: other.port }]
    ] as const
    for (const [changeRequest, origin] of cases) {
      const r = await stunBindingRequest({ host: PRIMARY, port }, { timeout: WAIT_MS, socket: client, changeRequest })
      expect(r.from).toEqual(origin)
      expect(r.responseOrigin).toMatchObject(origin)
      expect(r.otherAddress).toMatchObject(other)
      // the mapping is the client's own address in every case
      expect({ address: r.address, port: r.port }).toEqual({ address: PRIMARY, port: client.address().port })
    }
  })

  it('a request to the alternate socket is answered relative to it; OTHER-ADDRESS is then the primary', async () => {
    const { port, other } = await start()
    const client = await udpSocket()
    const r = await stunBindingRequest(other.address === '' ? { host: PRIMARY, port } : { host: other.address, port: other.port }, { timeout: WAIT_MS, socket: client, changeRequest: { ip: true } })
    expect(r.from).toEqual({ address: PRIMARY, port: other.port })
    expect(r.otherAddress).toMatchObject({ address: PRIMARY, port })
  })

  it('without an alternate, CHANGE-REQUEST gets a 420 and no RESPONSE-ORIGIN/OTHER-ADDRESS is sent', async () => {
    const { server, port } = await start({})
    expect(server.otherAddress()).toBeUndefined()
    const client = await udpSocket()
    await expect(stunBindingRequest({ host: PRIMARY, port }, { timeout: WAIT_MS, socket: client, changeRequest: { ip: true } }))
      .rejects.toSatisfy((err: unknown) => err instanceof StunErrorResponseError && err.code === 420 && err.unknownAttributes.includes(StunAttribute.ChangeRequest))
    const plain = await stunBindingRequest({ host: PRIMARY, port }, { timeout: WAIT_MS, socket: client })
    expect(plain.responseOrigin).toBeUndefined()
    expect(plain.otherAddress).toBeUndefined()
  })

  it('never answers anywhere but the request source: RESPONSE-PORT gets a 420 sent back to the source', async () => {
    const { server, port } = await start()
    const client = await udpSocket()
    const bystander = await udpSocket()
    let bystanderGot = 0
    bystander.on('message', () => { bystanderGot++ })
    const responsePort = new Uint8Array(4)
    new DataView(responsePort.buffer).setUint16(0, bystander.address().port)
    // RESPONSE-PORT (RFC 5780 §7.5) = 0x0027
    await expect(stunBindingRequest({ host: PRIMARY, port }, { timeout: WAIT_MS, socket: client, attributes: [{ type: 0x0027, value: responsePort }] }))
      .rejects.toSatisfy((err: unknown) => err instanceof StunErrorResponseError && err.code === 420 && err.unknownAttributes[0] === 0x0027)
    const destinations: number[] = []
    server.on('response', ({ destination }) => { destinations.push(destination.port) })
    await stunBindingRequest({ host: PRIMARY, port }, { timeout: WAIT_MS, socket: client, changeRequest: { ip: true, port: true } })
    expect(destinations).toEqual([client.address().port])
    expect(bystanderGot).toBe(0)
  })

  it('a response exceeds its request by at most MAX_STUN_RESPONSE_GROWTH bytes (here: the smallest request)', async () => {
    const { port } = await start({ alternate: { address: ALTERNATE, port: 0 }, software: 'x'.repeat(127) })
    const client = await udpSocket()
    const request = encodeStunMessage({ method: StunMethod.Binding, class: StunClass.Request, transactionId: createTransactionId() })
    client.send(request, port, PRIMARY)
    const [data] = await once(client, 'message', { signal: AbortSignal.timeout(WAIT_MS) }) as [Buffer]
    const response = decodeStunMessage(data)
    expect(response.class).toBe(StunClass.SuccessResponse)
    expect(decodeMappedAddress(getAttribute(response, StunAttribute.ResponseOrigin) ?? new Uint8Array())).toMatchObject({ address: PRIMARY, port })
    expect(data.length - request.length).toBeGreaterThan(100)
    expect(data.length - request.length).toBeLessThanOrEqual(MAX_STUN_RESPONSE_GROWTH)
  })

  it('the per-source rate limit counts requests to all four sockets together', async () => {
    const { server, port, other } = await start({ alternate: { address: ALTERNATE, port: 0 }, rateLimit: { maxRequests: 2, windowMs: 60_000 } })
    const client = await udpSocket()
    await stunBindingRequest({ host: PRIMARY, port }, { timeout: WAIT_MS, socket: client })
    await stunBindingRequest({ host: other.address, port: other.port }, { timeout: WAIT_MS, socket: client })
    const limited = once(server, 'rate-limited', { signal: AbortSignal.timeout(WAIT_MS) })
    client.send(encodeStunMessage({ method: StunMethod.Binding, class: StunClass.Request, transactionId: createTransactionId() }), port, ALTERNATE)
    await limited
    expect(server.stats).toMatchObject({ requests: 2, responses: 2, rateLimited: 1 })
  })

  it('a malformed CHANGE-REQUEST is dropped and counted', async () => {
    const { server, port } = await start()
    const client = await udpSocket()
    const dropped = once(server, 'malformed', { signal: AbortSignal.timeout(WAIT_MS) })
    client.send(encodeStunMessage({ method: StunMethod.Binding, class: StunClass.Request, transactionId: createTransactionId(), attributes: [{ type: StunAttribute.ChangeRequest, value: new Uint8Array(2) }] }), port, PRIMARY)
    const [{ reason }] = await dropped as [{ reason: string }]
    expect(reason).toBe('bad-attribute')
    expect(server.stats).toMatchObject({ responses: 0, malformed: 1 })
  })

  it('bad alternate settings are one-line errors', async () => {
    expect(() => createStunServer({ alternate: { address: 'stun.example', port: 1 } })).toThrow('alternate.address must be a specific IP address, got "stun.example"')
    expect(() => createStunServer({ alternate: { address: '0.0.0.0', port: 1 } })).toThrow(/specific IP address/)
    expect(() => createStunServer({ alternate: { address: ALTERNATE, port: 70_000 } })).toThrow('alternate.port must be an integer in 0-65535, got 70000')
    const server = createStunServer({ alternate: { address: ALTERNATE, port: 0 } })
    await expect(server.listen(0, '0.0.0.0')).rejects.toThrow('with an alternate address the STUN server needs a specific IPv4 host other than 127.0.0.2, got "0.0.0.0"')
    await expect(server.listen(0, ALTERNATE)).rejects.toThrow(/other than 127.0.0.2/)
    expect(server.address()).toBeUndefined()
  })
})
