import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createStunServer } from '@natkit/stun'
import { connectOnce, ConnectBackError, createConnectBackServer, tcpConnectBack } from './connect-back.js'
import { discoverNat } from './discover.js'
import type { ConnectBackServer } from './connect-back.js'
import type { StunServer } from '@natkit/stun'

const PRIMARY = '127.0.0.1'
const ALTERNATE = '127.0.0.2'
const closers: Array<{ close: () => Promise<void> }> = []
afterEach(async () => { await Promise.all(closers.splice(0).map(async c => { await c.close() })) })

async function stun (alternate = true): Promise<{ server: StunServer, port: number }> {
  const server = createStunServer(alternate ? { alternate: { address: ALTERNATE, port: 0 } } : {})
  closers.push(server)
  const { port } = await server.listen(0, PRIMARY)
  return { server, port }
}

async function connectBack (init: Partial<Parameters<typeof createConnectBackServer>[0]> = {}): Promise<{ server: ConnectBackServer, port: number }> {
  const server = createConnectBackServer({ from: ALTERNATE, ...init })
  closers.push(server)
  const { port } = await server.listen(0, PRIMARY)
  return { server, port }
}

describe('discoverNat on loopback (no NAT)', () => {
  it('runs every RFC 5780 test against a server with an alternate address and classifies "no NAT"', async () => {
    const { server, port } = await stun()
    const cb = await connectBack()
    const other = server.otherAddress()
    const seen: string[] = []
    const { observations, classification } = await discoverNat({ servers: [{ address: PRIMARY, port }], connectBack: { address: PRIMARY, port: cb.port }, localAddress: PRIMARY, lifetimeMaxMs: 400, onSample: (s) => { seen.push(`${s.server.address}:${s.server.port}`) } })
    // I, II, III, the other port, the filtering socket, two allocation sockets
    expect(seen).toEqual([`${PRIMARY}:${port}`, `${ALTERNATE}:${port}`, `${ALTERNATE}:${other?.port}`, `${PRIMARY}:${other?.port}`, `${PRIMARY}:${port}`, `${PRIMARY}:${port}`, `${PRIMARY}:${port}`])
    expect(observations.samples.every(s => s.mapped?.port === s.local.port)).toBe(true)
    expect(observations.filtering).toEqual({ changeIpAndPort: true, changePort: true })
    expect(observations.tcp?.target.address).toBe(PRIMARY)
    expect(classification).toMatchObject({ natted: false, mapping: 'none', filtering: 'endpoint-independent', allocation: 'preserving', hairpin: true, inbound: 'open', lifetime: { minMs: 400 } })
    expect(observations.lifetime).toEqual({ aliveMs: 400 })
    expect(cb.server.stats).toEqual({ requests: 1, attempts: 1, refused: 0 })
  })

  it('without an alternate address: only the mapping samples, filtering unknown', async () => {
    const { port } = await stun(false)
    const { port: port2 } = await stun(false)
    const { observations, classification } = await discoverNat({ servers: [{ address: PRIMARY, port }, { address: PRIMARY, port: port2 }], localAddress: PRIMARY, allocationSockets: 0, hairpin: false, lifetimeMaxMs: 0 })
    expect(observations.lifetime).toBeUndefined()
    expect(observations.samples.map(s => s.server.port)).toEqual([port, port2])
    expect(observations.filtering).toBeUndefined()
    expect(classification).toMatchObject({ mapping: 'none', filtering: 'unknown', inbound: 'unknown' })
    expect(classification.hairpin).toBeUndefined()
  })

  it('a silent observer is a sample without a mapping; bad options are one-line errors', async () => {
    const silent = net.createServer()
    await new Promise<void>(resolve => { silent.listen(0, PRIMARY, resolve) })
    const port = (silent.address() as net.AddressInfo).port
    silent.close()
    const { observations, classification } = await discoverNat({ servers: [{ address: PRIMARY, port }], localAddress: PRIMARY, timeoutMs: 300, allocationSockets: 0 })
    expect(observations.samples).toHaveLength(1)
    expect(observations.samples[0]?.mapped).toBeUndefined()
    expect(classification.mapping).toBe('unknown')
    await expect(discoverNat({ servers: [] })).rejects.toThrow('NAT discovery needs at least one STUN server')
    await expect(discoverNat({ servers: [{ address: PRIMARY, port }], allocationSockets: 99 })).rejects.toThrow('allocationSockets must be an integer in 0-8, got 99')
    await expect(discoverNat({ servers: [{ address: PRIMARY, port }], lifetimeMaxMs: 60_000 })).rejects.toThrow('lifetimeMaxMs must be an integer in 0-10000, got 60000')
  })
})

describe('TCP connect-back', () => {
  it('connects back only to the requester\'s observed address, from the other address', async () => {
    const { port } = await connectBack()
    const r = await tcpConnectBack({ address: PRIMARY, port }, { localAddress: PRIMARY })
    expect(r).toMatchObject({ result: 'connected', accepted: 1 })
    expect(r.target.address).toBe(r.observed.address)
  })

  it('reports a reset for a closed port (the lab test covers drop and reject)', async () => {
    const closed = net.createServer()
    await new Promise<void>(resolve => { closed.listen(0, PRIMARY, resolve) })
    const port = (closed.address() as net.AddressInfo).port
    await new Promise<void>(resolve => { closed.close(() => { resolve() }) })
    expect(await connectOnce({ address: PRIMARY, port }, ALTERNATE, 1_000)).toBe('reset')
  })

  it('is rate-limited per source IP and refuses malformed requests', async () => {
    const { server, port } = await connectBack({ rateLimit: { maxRequests: 2, windowMs: 60_000 } })
    await tcpConnectBack({ address: PRIMARY, port }, { localAddress: PRIMARY })
    const bad = net.connect(port, PRIMARY)
    bad.write('GET / HTTP/1.1\n')
    const answer = await new Promise<string>(resolve => { let t = ''; bad.on('data', d => { t += String(d) }); bad.on('end', () => { resolve(t) }) })
    expect(JSON.parse(answer)).toEqual({ error: 'expected "natkit-connect-back/1 <port>"' })
    await expect(tcpConnectBack({ address: PRIMARY, port }, { localAddress: PRIMARY })).rejects.toThrow(ConnectBackError)
    await expect(tcpConnectBack({ address: PRIMARY, port }, { localAddress: PRIMARY })).rejects.toThrow(/refused: rate-limited/)
    expect(server.stats).toEqual({ requests: 1, attempts: 1, refused: 3 })
    expect(() => createConnectBackServer({ from: 'observer' })).toThrow('from must be an IP address, got "observer"')
    expect(() => createConnectBackServer({ from: ALTERNATE, maxConnections: 0 })).toThrow('maxConnections must be a positive integer, got 0')
  })
})

describe('connect-back bounds', () => {
  it('maxConnections caps the open request connections; close() ends the open ones', async () => {
    const { server, port } = await connectBack({ maxConnections: 1 })
    const idle = net.connect(port, PRIMARY)
    await new Promise<void>(resolve => { idle.once('connect', () => { resolve() }) })
    const closedIdle = new Promise<void>(resolve => { idle.once('close', () => { resolve() }) })
    // a second connection is closed by the server at once, without an answer
    const second = net.connect(port, PRIMARY)
    second.on('error', () => {})
    const got = await new Promise<string>(resolve => { let t = ''; second.on('data', d => { t += String(d) }); second.once('close', () => { resolve(t) }) })
    expect(got).toBe('')
    await server.close()
    await closedIdle
    expect(server.stats).toEqual({ requests: 0, attempts: 0, refused: 0 })
  })
})

describe('discoverNat without a connect-back observer', () => {
  it('a refused TCP connect-back is evidence, not a failure: inbound unknown', async () => {
    const { port } = await stun()
    const { observations, classification } = await discoverNat({ servers: [{ address: PRIMARY, port }], connectBack: { address: PRIMARY, port }, localAddress: PRIMARY, allocationSockets: 0, hairpin: false, lifetimeMaxMs: 0 })
    expect(observations.tcpError).toMatch(/connect-back observer 127\.0\.0\.1:\d+: connect ECONNREFUSED/)
    expect(classification.inbound).toBe('unknown')
    expect(classification.evidence.at(-1)).toMatch(/^TCP connect-back: /)
  })
})

describe('mapping lifetime probe', () => {
  it('an observer that does not honour the delay (answers at once) gives no lifetime', async () => {
    const server = createStunServer({ maxResponseDelayMs: 0 })
    closers.push(server)
    const { port } = await server.listen(0, PRIMARY)
    const { observations } = await discoverNat({ servers: [{ address: PRIMARY, port }], localAddress: PRIMARY, allocationSockets: 0, hairpin: false, lifetimeMaxMs: 400 })
    expect(observations.lifetime).toBeUndefined()
  })
})
