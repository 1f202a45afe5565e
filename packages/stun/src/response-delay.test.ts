import { once } from 'node:events'
import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { stunBindingRequest } from './client.js'
import { StunAttribute } from './constants.js'
import { decodeResponseDelay, encodeResponseDelay } from './message.js'
import { createStunServer } from './server.js'
import type { StunServer, StunServerInit } from './server.js'
import type { Socket } from 'node:dgram'

const HOST = '127.0.0.1'
const servers: StunServer[] = []
const sockets: Socket[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(async s => { await s.close() }))
  for (const s of sockets.splice(0)) s.close()
})

async function start (init: StunServerInit = {}): Promise<{ server: StunServer, port: number }> {
  const server = createStunServer(init)
  servers.push(server)
  const { port } = await server.listen(0, HOST)
  return { server, port }
}

async function udpSocket (): Promise<Socket> {
  const s = createSocket('udp4')
  sockets.push(s)
  s.bind(0, HOST)
  await once(s, 'listening')
  return s
}

/** A Binding request asking for a delayed answer, sent once; resolves with the time it took. */
async function delayed (port: number, ms: number, timeout = 3_000): Promise<number> {
  const started = Date.now()
  await stunBindingRequest({ host: HOST, port }, { socket: await udpSocket(), timeout, maxTransmissions: 1, attributes: [{ type: StunAttribute.NatkitResponseDelay, value: encodeResponseDelay(ms) }] })
  return Date.now() - started
}

describe('NATKIT-RESPONSE-DELAY (mapping lifetime probes)', () => {
  it('round-trips; bad values are errors', () => {
    expect(decodeResponseDelay(encodeResponseDelay(1500))).toBe(1500)
    expect(() => encodeResponseDelay(-1)).toThrow(/32-bit unsigned/)
    expect(() => decodeResponseDelay(new Uint8Array(2))).toThrow(/4 bytes/)
  })

  it('answers after the delay asked for, to the request source only', async () => {
    const { server, port } = await start()
    expect(await delayed(port, 400)).toBeGreaterThanOrEqual(390)
    expect(server.stats).toMatchObject({ requests: 1, responses: 1, delayedResponses: 1 })
  })

  it('answers at once above maxResponseDelayMs and beyond maxDelayedResponses pending', async () => {
    const { server, port } = await start({ maxResponseDelayMs: 1_000, maxDelayedResponses: 1 })
    expect(await delayed(port, 5_000)).toBeLessThan(300)
    const held = delayed(port, 800)
    expect(await delayed(port, 800)).toBeLessThan(300)
    expect(await held).toBeGreaterThanOrEqual(790)
    expect(server.stats).toMatchObject({ requests: 3, responses: 3, delayedResponses: 1 })
    expect(() => createStunServer({ maxResponseDelayMs: -1 })).toThrow('maxResponseDelayMs must be a non-negative integer, got -1')
  })

  it('close() drops the pending delayed responses', async () => {
    const { server, port } = await start()
    const pending = delayed(port, 300, 800).catch((err: Error) => err.name)
    await once(server, 'request')
    await server.close()
    expect(await pending).toBe('TimeoutError')
    expect(server.stats.responses).toBe(0)
  })
})
