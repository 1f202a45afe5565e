/**
 * Client behaviour against a scripted AutoNAT v2 server on loopback. The
 * "server" is a real libp2p node whose dial-request handler is written with
 * our codec, so each test can make it misbehave in one specific way.
 */
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  checkReachability,
  decodeAutoNATMessage,
  decodeDialBackResponse,
  DIAL_BACK_PROTOCOL,
  DIAL_REQUEST_PROTOCOL,
  DIAL_STATUS,
  encodeAutoNATMessage,
  encodeDialBack,
  RESPONSE_STATUS
} from '../src/index.js'
import type { DialRequest } from '../src/index.js'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

async function makeNode (): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

type ServerScript = (ctx: { request: DialRequest, messages: ReturnType<typeof lpStream<Stream>>, connection: Connection, server: Libp2p }) => Promise<void>

/** Sends `DialBack{nonce}` on `conn` and returns the decoded response status, or the error name. */
async function sendDialBack (conn: Connection, nonce: bigint): Promise<number | string> {
  try {
    const stream = await conn.newStream(DIAL_BACK_PROTOCOL)
    const messages = lpStream(stream)
    await messages.write(encodeDialBack({ nonce }))
    const status = decodeDialBackResponse(await messages.read({ signal: AbortSignal.timeout(5_000) })).status
    await stream.close()
    return status
  } catch (err) {
    return (err as Error).name
  }
}

async function respond (messages: ReturnType<typeof lpStream<Stream>>, status: number, dialStatus: number, addrIdx = 0): Promise<void> {
  await messages.write(encodeAutoNATMessage({ dialResponse: { status, addrIdx, dialStatus } }))
}

describe('checkReachability (scripted server on loopback)', () => {
  let client: Libp2p
  let server: Libp2p
  let script: ServerScript
  let clientAddr: Multiaddr
  let serverAddr: Multiaddr

  beforeEach(async () => {
    client = await makeNode()
    server = await makeNode()
    await server.handle(DIAL_REQUEST_PROTOCOL, async (stream, connection) => {
      const messages = lpStream(stream)
      try {
        const { dialRequest } = decodeAutoNATMessage(await messages.read({ signal: AbortSignal.timeout(5_000) }))
        if (dialRequest == null) {
          throw new Error('expected DialRequest')
        }
        await script({ request: dialRequest, messages, connection, server })
        await stream.close()
      } catch (err) {
        stream.abort(err as Error)
      }
    })
    clientAddr = client.getMultiaddrs()[0].decapsulateCode(421)
    serverAddr = server.getMultiaddrs()[0]
  })

  afterEach(async () => {
    await Promise.all([client?.stop(), server?.stop()])
  })

  it('reachable when the server dials back over a new connection with our nonce', async () => {
    const seenNonces: bigint[] = []
    let dialBackStatus: number | string | undefined
    script = async ({ request, messages, server }) => {
      seenNonces.push(request.nonce)
      const conn = await server.dial(multiaddr(request.addrs[0]), { force: true })
      dialBackStatus = await sendDialBack(conn, request.nonce)
      await conn.close()
      await respond(messages, RESPONSE_STATUS.OK, DIAL_STATUS.OK)
    }
    const results = await checkReachability(client, serverAddr, [clientAddr, clientAddr], { timeout: 5_000 })
    expect(results.map(r => r.status)).toEqual(['reachable', 'reachable'])
    expect(results[0]).toMatchObject({ addr: clientAddr.toString(), responseStatus: 'OK', dialStatus: 'OK', dialDataBytes: 0 })
    expect(dialBackStatus).toBe(0)
    // one fresh nonce per address
    expect(seenNonces).toHaveLength(2)
    expect(seenNonces[0]).not.toBe(seenNonces[1])
    expect(client.getProtocols()).not.toContain(DIAL_BACK_PROTOCOL)
  })

  it('rejects a dial-back with a foreign nonce and does not report reachable', async () => {
    let dialBackStatus: number | string | undefined
    script = async ({ request, messages, server }) => {
      const conn = await server.dial(multiaddr(request.addrs[0]), { force: true })
      dialBackStatus = await sendDialBack(conn, request.nonce ^ 1n)
      await conn.close()
      await respond(messages, RESPONSE_STATUS.OK, DIAL_STATUS.OK)
    }
    const [result] = await checkReachability(client, serverAddr, [clientAddr], { timeout: 5_000, dialBackGrace: 200 })
    expect(dialBackStatus).not.toBe(0)
    expect(result.status).toBe('unknown')
    expect(result.detail).toContain('never arrived')
  })

  it('does not count a dial-back sent over the dial-request connection', async () => {
    script = async ({ request, messages, connection }) => {
      expect(await sendDialBack(connection, request.nonce)).toBe(0)
      await respond(messages, RESPONSE_STATUS.OK, DIAL_STATUS.OK)
    }
    const [result] = await checkReachability(client, serverAddr, [clientAddr], { timeout: 5_000 })
    expect(result.status).toBe('unknown')
    expect(result.detail).toContain('dial-request connection')
  })

  it('maps E_DIAL_ERROR to unreachable and the other statuses to unknown', async () => {
    const answers: Array<[number, number, number]> = [
      [RESPONSE_STATUS.OK, DIAL_STATUS.E_DIAL_ERROR, 0],
      [RESPONSE_STATUS.OK, DIAL_STATUS.E_DIAL_BACK_ERROR, 0],
      [RESPONSE_STATUS.E_DIAL_REFUSED, DIAL_STATUS.UNUSED, 0],
      [RESPONSE_STATUS.E_REQUEST_REJECTED, DIAL_STATUS.UNUSED, 0],
      [RESPONSE_STATUS.E_INTERNAL_ERROR, DIAL_STATUS.UNUSED, 0],
      [123, DIAL_STATUS.OK, 0],
      [RESPONSE_STATUS.OK, DIAL_STATUS.E_DIAL_ERROR, 1]
    ]
    let i = 0
    script = async ({ messages }) => {
      const [status, dialStatus, addrIdx] = answers[i++]
      await respond(messages, status, dialStatus, addrIdx)
    }
    const addrs = answers.map((_, n) => multiaddr(`/ip4/203.0.113.${n + 1}/tcp/4001`))
    const results = await checkReachability(client, serverAddr, addrs, { timeout: 5_000 })
    expect(results.map(r => r.status)).toEqual(['unreachable', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown'])
    expect(results.map(r => r.addr)).toEqual(addrs.map(a => a.toString()))
    expect(results[2].detail).toContain('refused')
    expect(results[3].detail).toContain('rejected')
    expect(results[5].detail).toContain('unknown response status 123')
    expect(results[6].detail).toContain('index 1')
  })

  it('sends the requested dial data in chunks of at most 4096 bytes', async () => {
    const chunkSizes: number[] = []
    script = async ({ messages }) => {
      await messages.write(encodeAutoNATMessage({ dialDataRequest: { addrIdx: 0, numBytes: 10_000n } }))
      let received = 0
      for (let n = 0; n < 100 && received < 10_000; n++) {
        const { dialDataResponse } = decodeAutoNATMessage(await messages.read({ signal: AbortSignal.timeout(5_000) }))
        if (dialDataResponse == null) {
          throw new Error('expected DialDataResponse')
        }
        chunkSizes.push(dialDataResponse.data.byteLength)
        received += dialDataResponse.data.byteLength
      }
      await respond(messages, RESPONSE_STATUS.OK, DIAL_STATUS.E_DIAL_ERROR)
    }
    const [result] = await checkReachability(client, serverAddr, [multiaddr('/ip4/203.0.113.9/tcp/1')], { timeout: 5_000 })
    expect(result).toMatchObject({ status: 'unreachable', dialDataBytes: 12_288 })
    expect(chunkSizes).toEqual([4096, 4096, 4096])
  })

  it('declines dial data above maxDialDataBytes by resetting the stream', async () => {
    let reportServerError: (name: string) => void = () => {}
    const serverError = new Promise<string>(resolve => { reportServerError = resolve })
    script = async ({ messages }) => {
      await messages.write(encodeAutoNATMessage({ dialDataRequest: { addrIdx: 0, numBytes: 300_000n } }))
      try {
        await messages.read({ signal: AbortSignal.timeout(5_000) })
        reportServerError('none')
      } catch (err) {
        reportServerError((err as Error).name)
      }
    }
    const [result] = await checkReachability(client, serverAddr, [multiaddr('/ip4/203.0.113.9/tcp/1')], { timeout: 5_000 })
    expect(result).toMatchObject({ status: 'unknown', dialDataBytes: 0 })
    expect(result.detail).toContain('300000')
    // the server sees the stream reset well before its own 5 s read timeout
    expect(await serverError).toMatch(/Reset|Abort|EOF/)
  })

  it('reports a silent server as unknown after the timeout', async () => {
    script = async ({ messages }) => {
      // never answers; waits until the client gives up and resets
      await messages.read({ signal: AbortSignal.timeout(5_000) }).catch(() => {})
    }
    const started = Date.now()
    const [result] = await checkReachability(client, serverAddr, [clientAddr], { timeout: 400 })
    expect(result.status).toBe('unknown')
    expect(result.detail).toContain('no answer within 400 ms')
    expect(Date.now() - started).toBeLessThan(4_000)
  })

  it('reports a server that closes without answering as unknown', async () => {
    script = async () => {}
    const [result] = await checkReachability(client, serverAddr, [multiaddr('/ip4/10.0.0.1/tcp/1')], { timeout: 5_000 })
    expect(result.status).toBe('unknown')
    expect(result.detail).toContain('private/loopback')
  })

  it('shares one dial-back handler between concurrent checks', async () => {
    script = async ({ request, messages, server }) => {
      const conn = await server.dial(multiaddr(request.addrs[0]), { force: true })
      const status = await sendDialBack(conn, request.nonce)
      await conn.close()
      await respond(messages, RESPONSE_STATUS.OK, status === 0 ? DIAL_STATUS.OK : DIAL_STATUS.E_DIAL_BACK_ERROR)
    }
    const [a, b] = await Promise.all([
      checkReachability(client, serverAddr, [clientAddr], { timeout: 5_000 }),
      checkReachability(client, serverAddr, [clientAddr], { timeout: 5_000 })
    ])
    expect([a[0].status, b[0].status]).toEqual(['reachable', 'reachable'])
    expect(client.getProtocols()).not.toContain(DIAL_BACK_PROTOCOL)
  })

  it('throws typed errors for problems that are not about the address', async () => {
    script = async () => {}
    await expect(checkReachability(client, serverAddr, [])).rejects.toMatchObject({ name: 'InvalidParametersError' })
    await expect(checkReachability(client, serverAddr, [clientAddr], { dialDataChunkSize: 5000 })).rejects.toMatchObject({ name: 'InvalidParametersError' })

    await server.unhandle(DIAL_REQUEST_PROTOCOL)
    await expect(checkReachability(client, serverAddr, [clientAddr], { timeout: 5_000 })).rejects.toMatchObject({ name: 'ServerProtocolUnsupportedError' })

    const stopped = await makeNode()
    const deadAddr = stopped.getMultiaddrs()[0]
    await stopped.stop()
    await expect(checkReachability(client, deadAddr, [clientAddr], { timeout: 5_000 })).rejects.toMatchObject({ name: 'ServerDialError' })

    await client.handle(DIAL_BACK_PROTOCOL, () => {})
    await expect(checkReachability(client, serverAddr, [clientAddr], { timeout: 5_000 })).rejects.toMatchObject({ name: 'DialBackHandlerInUseError' })
    await client.unhandle(DIAL_BACK_PROTOCOL)

    const controller = new AbortController()
    controller.abort(new Error('stop now'))
    await expect(checkReachability(client, serverAddr, [clientAddr], { signal: controller.signal })).rejects.toThrow('stop now')
    // every failed call released the handler
    expect(client.getProtocols()).not.toContain(DIAL_BACK_PROTOCOL)
  })
})
