import { once } from 'node:events'
import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { StunAttribute, StunClass, StunMethod } from './constants.js'
import { TimeoutError } from '@libp2p/interface'
import { StunErrorResponseError } from './errors.js'
import {
  createTransactionId,
  decodeErrorCode,
  decodeMappedAddress,
  decodeSoftware,
  decodeStunMessage,
  decodeUnknownAttributes,
  decodeXorMappedAddress,
  encodeStunMessage,
  getAttribute
} from './message.js'
import { createStunServer } from './server.js'
import { stunBindingRequest } from './client.js'
import type { StunServer, StunServerEvents } from './server.js'
import type { Socket } from 'node:dgram'

const WAIT_MS = 2_000

const servers: StunServer[] = []
const sockets: Socket[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map(async server => { await server.close() }))
  await Promise.all(sockets.splice(0).map(async socket => new Promise<void>(resolve => { socket.close(() => { resolve() }) })))
})

async function startServer (host = '127.0.0.1', init: Parameters<typeof createStunServer>[0] = {}): Promise<{ server: StunServer, port: number }> {
  const server = createStunServer(init)
  servers.push(server)
  const { port } = await server.listen(0, host)
  return { server, port }
}

async function udpSocket (type: 'udp4' | 'udp6' = 'udp4', address = '127.0.0.1'): Promise<Socket> {
  const socket = createSocket(type)
  sockets.push(socket)
  socket.bind(0, address)
  await once(socket, 'listening')
  return socket
}

/** The next datagram on `socket`, or a rejection after `ms`. */
async function nextDatagram (socket: Socket, ms = WAIT_MS): Promise<Buffer> {
  const [data] = await once(socket, 'message', { signal: AbortSignal.timeout(ms) }) as [Buffer]
  return data
}

/** The next `event` from the server, or a rejection after `ms`. */
async function nextEvent<E extends keyof StunServerEvents> (server: StunServer, event: E, ms = WAIT_MS): Promise<StunServerEvents[E]> {
  return await once(server, event, { signal: AbortSignal.timeout(ms) }) as StunServerEvents[E]
}

function bindingRequest (transactionId = createTransactionId(), attributes: Array<{ type: number, value: Uint8Array }> = [], fingerprint = false): Uint8Array {
  return encodeStunMessage({ method: StunMethod.Binding, class: StunClass.Request, transactionId, attributes, fingerprint })
}

describe('STUN server ↔ client on loopback', () => {
  it('returns the client socket\'s own address and port', async () => {
    const { server, port } = await startServer()
    const client = await udpSocket()

    const result = await stunBindingRequest({ host: '127.0.0.1', port }, { timeout: WAIT_MS, socket: client })

    expect(result.address).toBe('127.0.0.1')
    expect(result.port).toBe(client.address().port)
    expect(result.family).toBe('IPv4')
    expect(result.software).toBe('natkit')
    expect(server.stats).toMatchObject({ requests: 1, responses: 1, malformed: 0 })
  })

  it('binds its own socket on localPort when no socket is given', async () => {
    const { port } = await startServer()
    // find a free port, release it, then ask the client to use it
    const probe = await udpSocket()
    const localPort = probe.address().port
    sockets.splice(sockets.indexOf(probe), 1)
    await new Promise<void>(resolve => { probe.close(() => { resolve() }) })

    const result = await stunBindingRequest({ host: '127.0.0.1', port }, { timeout: WAIT_MS, localPort, localAddress: '127.0.0.1' })
    expect(result).toMatchObject({ address: '127.0.0.1', port: localPort })
  })

  it('echoes the transaction id and sends XOR-MAPPED-ADDRESS, MAPPED-ADDRESS and SOFTWARE', async () => {
    const { port } = await startServer()
    const client = await udpSocket()
    const transactionId = createTransactionId()

    client.send(bindingRequest(transactionId), port, '127.0.0.1')
    const response = decodeStunMessage(await nextDatagram(client))

    expect(response.class).toBe(StunClass.SuccessResponse)
    expect(response.method).toBe(StunMethod.Binding)
    expect(Buffer.from(response.transactionId).equals(Buffer.from(transactionId))).toBe(true)
    expect(response.fingerprint).toBe(false)

    const expected = { address: '127.0.0.1', port: client.address().port, family: 'IPv4' }
    expect(decodeXorMappedAddress(getAttribute(response, StunAttribute.XorMappedAddress) ?? new Uint8Array(), transactionId)).toEqual(expected)
    expect(decodeMappedAddress(getAttribute(response, StunAttribute.MappedAddress) ?? new Uint8Array())).toEqual(expected)
    expect(decodeSoftware(getAttribute(response, StunAttribute.Software) ?? new Uint8Array())).toBe('natkit')
  })

  it('adds a valid FINGERPRINT when the request has one', async () => {
    const { port } = await startServer()
    const client = await udpSocket()

    client.send(bindingRequest(undefined, [], true), port, '127.0.0.1')
    const response = decodeStunMessage(await nextDatagram(client))

    expect(response.fingerprint).toBe(true)
    expect(response.attributes.at(-1)?.type).toBe(StunAttribute.Fingerprint)
  })

  it('answers the RFC 5769 §2.1 sample request (ICE attributes, MESSAGE-INTEGRITY)', async () => {
    const { port } = await startServer()
    const client = await udpSocket()
    const sample = Buffer.from(`000100582112a442b7e7a701bc34d686fa87dfae80220010${Buffer.from('STUN test client').toString('hex')}` +
      '002400046e0001ff80290008932ff9b151263b36000600096576746a3a683676592020200008001' +
      '49aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf', 'hex')

    client.send(sample, port, '127.0.0.1')
    const response = decodeStunMessage(await nextDatagram(client))

    expect(response.class).toBe(StunClass.SuccessResponse)
    expect(Buffer.from(response.transactionId).toString('hex')).toBe('b7e7a701bc34d686fa87dfae')
    expect(response.fingerprint).toBe(true)
  })

  it('drops and counts malformed datagrams without answering them', async () => {
    const { server, port } = await startServer()
    const client = await udpSocket()
    const good = bindingRequest()

    const badCookie = Buffer.from(good)
    badCookie.writeUInt32BE(0x2112A443, 4)
    const badLength = Buffer.from(good)
    badLength.writeUInt16BE(8, 2)
    const truncatedAttribute = Buffer.concat([Buffer.from(good), Buffer.from([0x80, 0x22, 0x00, 0x08, 0x61, 0x62, 0x63, 0x64])])
    truncatedAttribute.writeUInt16BE(8, 2)
    const indication = Buffer.from(encodeStunMessage({ method: StunMethod.Binding, class: StunClass.Indication, transactionId: createTransactionId() }))
    const response = Buffer.from(encodeStunMessage({ method: StunMethod.Binding, class: StunClass.SuccessResponse, transactionId: createTransactionId() }))
    const allocate = Buffer.from(encodeStunMessage({ method: 0x003, class: StunClass.Request, transactionId: createTransactionId() }))
    const oversize = Buffer.alloc(1600)
    oversize.set(good)
    oversize.writeUInt16BE(1600 - 20, 2)

    const cases: Array<[Buffer, string]> = [
      [Buffer.from(good.subarray(0, 12)), 'too-short'],
      [badCookie, 'bad-cookie'],
      [badLength, 'bad-length'],
      [truncatedAttribute, 'truncated-attribute'],
      [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'not-stun'],
      [indication, 'not-a-request'],
      [response, 'not-a-request'],
      [allocate, 'unsupported-method'],
      [oversize, 'too-long']
    ]

    for (const [datagram, reason] of cases) {
      const dropped = nextEvent(server, 'malformed')
      client.send(datagram, port, '127.0.0.1')
      const [event] = await dropped
      expect(event.reason).toBe(reason)
    }

    expect(server.stats).toMatchObject({ requests: 0, responses: 0, malformed: cases.length })

    // the server is still alive, and the first datagram the client receives is
    // the answer to this request: none of the malformed ones was answered
    const transactionId = createTransactionId()
    client.send(bindingRequest(transactionId), port, '127.0.0.1')
    const answer = decodeStunMessage(await nextDatagram(client))
    expect(Buffer.from(answer.transactionId).equals(Buffer.from(transactionId))).toBe(true)
    expect(server.stats).toMatchObject({ requests: 1, responses: 1, malformed: cases.length })
  })

  it('answers 420 with UNKNOWN-ATTRIBUTES for unknown comprehension-required attributes', async () => {
    const { server, port } = await startServer()
    const client = await udpSocket()
    const transactionId = createTransactionId()

    client.send(bindingRequest(transactionId, [
      { type: 0x7777, value: new Uint8Array(4) },
      { type: 0xC001, value: new Uint8Array(4) }, // unknown but comprehension-optional: ignored
      { type: StunAttribute.ChangeRequest, value: new Uint8Array(4) },
      { type: 0x7777, value: new Uint8Array(0) }
    ]), port, '127.0.0.1')
    const response = decodeStunMessage(await nextDatagram(client))

    expect(response.class).toBe(StunClass.ErrorResponse)
    expect(response.method).toBe(StunMethod.Binding)
    expect(Buffer.from(response.transactionId).equals(Buffer.from(transactionId))).toBe(true)
    expect(decodeErrorCode(getAttribute(response, StunAttribute.ErrorCode) ?? new Uint8Array())).toEqual({ code: 420, reason: 'Unknown Attribute' })
    expect(decodeUnknownAttributes(getAttribute(response, StunAttribute.UnknownAttributes) ?? new Uint8Array())).toEqual([0x7777, StunAttribute.ChangeRequest])
    expect(getAttribute(response, StunAttribute.XorMappedAddress)).toBeUndefined()
    expect(server.stats).toMatchObject({ requests: 1, responses: 1, errorResponses: 1, malformed: 0 })
  })

  it('the client surfaces a 420 as StunErrorResponseError', async () => {
    const { port } = await startServer()

    await expect(stunBindingRequest({ host: '127.0.0.1', port }, {
      timeout: WAIT_MS,
      attributes: [{ type: 0x7001, value: new Uint8Array(0) }]
    })).rejects.toSatisfy((err: unknown) => err instanceof StunErrorResponseError && err.code === 420 && err.unknownAttributes[0] === 0x7001)
  })

  it('the client times out (and retransmits) when nothing answers', async () => {
    // a bound socket that never answers
    const silent = await udpSocket()
    let received = 0
    silent.on('message', () => { received++ })

    await expect(stunBindingRequest({ host: '127.0.0.1', port: silent.address().port }, { timeout: 400, initialRto: 50 }))
      .rejects.toBeInstanceOf(TimeoutError)
    expect(received).toBeGreaterThanOrEqual(2)
  })

  it('serves IPv6 clients over ::1', async () => {
    const { port } = await startServer('::1')
    const client = await udpSocket('udp6', '::1')

    const result = await stunBindingRequest({ host: '::1', port }, { timeout: WAIT_MS, socket: client })
    expect(result).toMatchObject({ address: '::1', port: client.address().port, family: 'IPv6' })
  })

  it('a dual-stack server reports IPv4 clients as IPv4, not ::ffff:', async () => {
    const { port } = await startServer('::')
    const client = await udpSocket()

    const result = await stunBindingRequest({ host: '127.0.0.1', port }, { timeout: WAIT_MS, socket: client })
    expect(result).toMatchObject({ address: '127.0.0.1', port: client.address().port, family: 'IPv4' })
  })

  it('rate-limits per source and counts what it drops', async () => {
    const { server, port } = await startServer('127.0.0.1', { rateLimit: { maxRequests: 2, windowMs: 60_000 } })
    const client = await udpSocket()

    for (let i = 0; i < 2; i++) {
      client.send(bindingRequest(), port, '127.0.0.1')
      await nextDatagram(client)
    }

    const limited = nextEvent(server, 'rate-limited')
    client.send(bindingRequest(), port, '127.0.0.1')
    await limited
    expect(server.stats).toMatchObject({ requests: 2, responses: 2, rateLimited: 1 })

    // another source IP (all of 127/8 is loopback on Linux) is unaffected
    const other = await udpSocket('udp4', '127.0.0.2')
    const result = await stunBindingRequest({ host: '127.0.0.1', port }, { timeout: WAIT_MS, socket: other })
    expect(result).toMatchObject({ address: '127.0.0.2', port: other.address().port })
  })

  it('refuses to listen twice and closes idempotently', async () => {
    const { server } = await startServer()

    await expect(server.listen(0, '127.0.0.1')).rejects.toHaveProperty('name', 'StunServerAlreadyListeningError')
    await server.close()
    await server.close()
    expect(server.address()).toBeUndefined()
  })

  it('a throwing event listener does not break the server', async () => {
    const { server, port } = await startServer()
    server.on('request', () => { throw new Error('listener bug') })
    const client = await udpSocket()

    const result = await stunBindingRequest({ host: '127.0.0.1', port }, { timeout: WAIT_MS, socket: client })
    expect(result.port).toBe(client.address().port)
  })
})
