import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { getNetConfig } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import { dialAsResponder, dialFromEphemeralPort, dialWithOptimisticSelect, nodeComponents } from '@natkit/libp2p-internals'
import { DialError, MAX_INITIATOR_CLAIMS, multistreamSelectLines, OptimisticSelectError, tcpReuse } from '../src/index.js'
import type { TcpReuseInit, TcpReuseTransport } from '../src/index.js'
import type { Connection, IdentifyResult, Libp2p, PeerId } from '@libp2p/interface'
import type { Identify } from '@libp2p/identify'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'

const EVENT_TIMEOUT = 5_000

interface TestNode {
  node: Libp2p<{ identify: Identify, ping: Ping }>
  transport: TcpReuseTransport
  port: number
  addr: Multiaddr
}

const nodes: TestNode[] = []
const servers: net.Server[] = []

afterEach(async () => {
  await Promise.all(nodes.splice(0).map(async n => n.node.stop()))
  await Promise.all(servers.splice(0).map(async s => new Promise<void>(resolve => s.close(() => { resolve() }))))
})

async function createNode (init: TcpReuseInit = {}, listen: string[] = ['/ip4/127.0.0.1/tcp/0']): Promise<TestNode> {
  let transport: TcpReuseTransport | undefined
  const node = await createLibp2p({
    addresses: { listen },
    transports: [(components) => {
      transport = tcpReuse(init)(components)
      return transport
    }],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() }
  })

  if (transport == null) {
    throw new Error('transport was not created')
  }

  const addr = node.getMultiaddrs()[0]
  const port = portOf(addr)
  const testNode = { node, transport, port, addr }
  nodes.push(testNode)
  return testNode
}

function portOf (ma: Multiaddr): number {
  return Number(getNetConfig(ma).port)
}

/** resolves with the first connection `node` opens to/from `peer` */
async function nextConnection (node: Libp2p, peer: PeerId): Promise<Connection> {
  return new Promise<Connection>((resolve, reject) => {
    const timer = setTimeout(() => {
      node.removeEventListener('connection:open', onOpen)
      reject(new Error('timed out waiting for connection:open'))
    }, EVENT_TIMEOUT)
    const onOpen = (evt: CustomEvent<Connection>): void => {
      if (evt.detail.remotePeer.equals(peer)) {
        clearTimeout(timer)
        node.removeEventListener('connection:open', onOpen)
        resolve(evt.detail)
      }
    }
    node.addEventListener('connection:open', onOpen)
  })
}

async function nextIdentify (node: Libp2p, peer: PeerId): Promise<IdentifyResult> {
  return new Promise<IdentifyResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      node.removeEventListener('peer:identify', onIdentify)
      reject(new Error('timed out waiting for peer:identify'))
    }, EVENT_TIMEOUT)
    const onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
      if (evt.detail.peerId.equals(peer)) {
        clearTimeout(timer)
        node.removeEventListener('peer:identify', onIdentify)
        resolve(evt.detail)
      }
    }
    node.addEventListener('peer:identify', onIdentify)
  })
}

/** TCP sockets in /proc/net/tcp{,6} with local port `port`, as hex state codes */
function kernelSocketStates (port: number): string[] {
  const states: string[] = []
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')

  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1)

    for (const line of lines) {
      const [, local, , state] = line.trim().split(/\s+/)

      if (local.endsWith(`:${hexPort}`)) {
        states.push(state)
      }
    }
  }

  return states
}

const TCP_ESTABLISHED = '01'
const TCP_LISTEN = '0A'

describe('tcpReuse', () => {
  it('dials from the listening port and ping works over the connection', async () => {
    const a = await createNode()
    const b = await createNode()

    const inbound = nextConnection(b.node, a.node.peerId)
    const conn = await a.node.dial(b.addr)
    const atB = await inbound

    expect(conn.remoteAddr.toString()).toContain(`/tcp/${b.port}`)
    expect(atB.direction).toBe('inbound')
    expect(portOf(atB.remoteAddr)).toBe(a.port)

    const rtt = await a.node.services.ping.ping(b.node.peerId)
    expect(rtt).toBeGreaterThanOrEqual(0)

    expect(a.transport.reuseStatus()).toEqual({
      listening: [{ host: '127.0.0.1', port: a.port, family: 4 }],
      reuseDials: 1,
      fallbackDials: 0
    })
  })

  it('identify reports an observed address carrying the listen port', async () => {
    const a = await createNode()
    const b = await createNode()

    const identified = nextIdentify(a.node, b.node.peerId)
    await a.node.dial(b.addr)
    const result = await identified

    expect(result.observedAddr).toBeDefined()
    expect(result.observedAddr?.toString()).toBe(`/ip4/127.0.0.1/tcp/${a.port}/p2p/${a.node.peerId.toString()}`)
  })

  it('dialSource tells which connections left from the listen port and which fell back to an ephemeral one', async () => {
    const a = await createNode()
    const b = await createNode()

    const atB = nextConnection(b.node, a.node.peerId)
    const reused = await a.node.dial(b.addr)
    expect(a.transport.dialSource(reused)).toEqual({ port: a.port, reused: true })
    // the same 4-tuple is taken: the second connection falls back
    const fallback = await a.node.dial(b.addr, { force: true })
    const source = a.transport.dialSource(fallback)
    expect(source?.reused).toBe(false)
    expect(source?.port).not.toBe(a.port)
    // inbound connections have no dial source
    expect(b.transport.dialSource(await atB)).toBeUndefined()
  })

  it('a dial with reusePort: false in its options leaves from an ephemeral port', async () => {
    const a = await createNode()
    const b = await createNode()

    const inbound = nextConnection(b.node, a.node.peerId)
    // @natkit/libp2p-internals passes `reusePort: false` through the transport manager
    const conn = await dialFromEphemeralPort(nodeComponents(a.node).transportManager, b.addr, { signal: AbortSignal.timeout(EVENT_TIMEOUT) })
    const atB = await inbound

    expect(portOf(atB.remoteAddr)).not.toBe(a.port)
    expect(a.transport.dialSource(conn)).toMatchObject({ reused: false })
    expect(a.transport.reuseStatus()).toMatchObject({ reuseDials: 0, fallbackDials: 1 })
  })

  it('with reusePort: false the remote sees an ephemeral port', async () => {
    const a = await createNode({ reusePort: false })
    const b = await createNode()

    const inbound = nextConnection(b.node, a.node.peerId)
    await a.node.dial(b.addr)
    const atB = await inbound

    expect(portOf(atB.remoteAddr)).not.toBe(a.port)
    expect(a.transport.reuseStatus()).toEqual({ listening: [], reuseDials: 0, fallbackDials: 1 })
  })

  it('reuses the port towards several peers and falls back for a second connection to the same remote', async () => {
    const a = await createNode()
    const b = await createNode()
    const c = await createNode()

    const atB = nextConnection(b.node, a.node.peerId)
    const atC = nextConnection(c.node, a.node.peerId)
    await a.node.dial(b.addr)
    await a.node.dial(c.addr)

    expect(portOf((await atB).remoteAddr)).toBe(a.port)
    expect(portOf((await atC).remoteAddr)).toBe(a.port)
    expect(a.transport.reuseStatus()).toMatchObject({ reuseDials: 2, fallbackDials: 0 })

    // 127.0.0.1:A -> 127.0.0.1:B is taken by the first connection, so the
    // kernel refuses the same 4-tuple and the transport must fall back
    const secondAtB = nextConnection(b.node, a.node.peerId)
    const second = await a.node.dial(b.addr, { force: true })
    const secondInbound = await secondAtB

    expect(second.status).toBe('open')
    expect(portOf(secondInbound.remoteAddr)).not.toBe(a.port)
    expect(a.node.getConnections(b.node.peerId)).toHaveLength(2)
    expect(a.transport.reuseStatus()).toMatchObject({ reuseDials: 2, fallbackDials: 1 })

    // both connections carry traffic
    await expect(a.node.services.ping.ping(b.node.peerId)).resolves.toBeGreaterThanOrEqual(0)
  })

  it('frees the port and its sockets when the node stops', async () => {
    const a = await createNode()
    const b = await createNode()
    await a.node.dial(b.addr)

    const states = kernelSocketStates(a.port)
    expect(states).toContain(TCP_LISTEN)
    expect(states).toContain(TCP_ESTABLISHED)

    await a.node.stop()
    await b.node.stop()

    expect(a.transport.reuseStatus().listening).toEqual([])
    // TIME_WAIT etc. may linger, but nothing listening or connected
    const after = kernelSocketStates(a.port)
    expect(after).not.toContain(TCP_LISTEN)
    expect(after).not.toContain(TCP_ESTABLISHED)

    // a plain server (no SO_REUSEPORT) can only bind if our listener is gone
    const server = net.createServer()
    servers.push(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(a.port, '127.0.0.1', () => { resolve() })
    })
    expect((server.address() as net.AddressInfo).port).toBe(a.port)
  })

  it('a plain server cannot bind the port while the node listens', async () => {
    const a = await createNode()
    const server = net.createServer()
    servers.push(server)

    await expect(new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(a.port, '127.0.0.1', () => { resolve() })
    })).rejects.toMatchObject({ code: 'EADDRINUSE' })
  })

  it('restarts on its own fixed port while its dials from that port are still open, and keeps reusing it', async () => {
    const a = await createNode()
    const b = await createNode()
    await a.node.dial(b.addr)
    // a second node in this process on the same fixed port would be another server: refused too
    await expect(createNode({}, [`/ip4/127.0.0.1/tcp/${a.port}`])).rejects.toThrow(/EADDRINUSE/)
    await a.node.stop()
    const again = await createNode({}, [`/ip4/127.0.0.1/tcp/${a.port}`])
    const c = await createNode()
    const atC = nextConnection(c.node, again.node.peerId)
    await again.node.dial(c.addr)
    expect(portOf((await atC).remoteAddr)).toBe(a.port)
  })

  it('aborting a dial rejects promptly and closes the socket', async () => {
    const a = await createNode()
    // accepts TCP but never speaks, so the upgrade hangs until aborted
    const silent = net.createServer()
    servers.push(silent)
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', () => { resolve() }))
    const silentPort = (silent.address() as net.AddressInfo).port

    const controller = new AbortController()
    const remoteClosed = new Promise<number>(resolve => {
      silent.once('connection', socket => {
        const remotePort = socket.remotePort ?? -1
        socket.once('close', () => { resolve(remotePort) })
        socket.resume()
        controller.abort()
      })
    })

    const started = Date.now()
    await expect(a.node.dial(multiaddr(`/ip4/127.0.0.1/tcp/${silentPort}`), { signal: controller.signal }))
      .rejects.toMatchObject({ name: 'AbortError' })
    expect(Date.now() - started).toBeLessThan(EVENT_TIMEOUT)
    // the connection was made from the listen port and torn down on abort
    expect(await remoteClosed).toBe(a.port)
  })

  it('a pre-aborted signal rejects without connecting', async () => {
    const a = await createNode()
    const silent = net.createServer()
    servers.push(silent)
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', () => { resolve() }))
    let connections = 0
    silent.on('connection', socket => { connections++; socket.destroy() })

    const ma = multiaddr(`/ip4/127.0.0.1/tcp/${(silent.address() as net.AddressInfo).port}`)
    const { upgrader } = nodeComponents(a.node)
    await expect(a.transport.dial(ma, { signal: AbortSignal.abort(), upgrader }))
      .rejects.toMatchObject({ name: 'AbortError' })
    expect(connections).toBe(0)
    expect(a.transport.reuseStatus()).toMatchObject({ reuseDials: 0, fallbackDials: 0 })
  })

  it('reports connection errors with the remote address and errno', async () => {
    const a = await createNode()
    // a port nothing listens on: bind, learn it, close
    const probe = net.createServer()
    await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', () => { resolve() }))
    const deadPort = (probe.address() as net.AddressInfo).port
    await new Promise<void>(resolve => probe.close(() => { resolve() }))

    const { upgrader } = nodeComponents(a.node)
    const err = await a.transport.dial(multiaddr(`/ip4/127.0.0.1/tcp/${deadPort}`), {
      signal: AbortSignal.timeout(EVENT_TIMEOUT),
      upgrader
    }).catch(err => err)

    expect(err).toBeInstanceOf(DialError)
    expect(err.message).toBe(`connection error 127.0.0.1:${deadPort}: ECONNREFUSED`)
    expect(err.code).toBe('ECONNREFUSED')
  })

  it('dials IPv6 from the IPv6 listen port and IPv4 from the IPv4 one', async () => {
    const a = await createNode({}, ['/ip4/127.0.0.1/tcp/0', '/ip6/::1/tcp/0'])
    const b = await createNode({}, ['/ip6/::1/tcp/0'])
    const c = await createNode()
    const aPort6 = portOf(a.node.getMultiaddrs().find(ma => ma.toString().startsWith('/ip6/')) ?? a.addr)
    expect(aPort6).not.toBe(a.port)

    const atB = nextConnection(b.node, a.node.peerId)
    const atC = nextConnection(c.node, a.node.peerId)
    await a.node.dial(b.addr)
    await a.node.dial(c.addr)

    expect((await atB).remoteAddr.toString()).toContain(`/ip6/::1/tcp/${aPort6}`)
    expect((await atC).remoteAddr.toString()).toContain(`/ip4/127.0.0.1/tcp/${a.port}`)
    expect(a.transport.reuseStatus()).toMatchObject({ reuseDials: 2, fallbackDials: 0 })
  })

  it('falls back to an ephemeral port when no listener has the remote\'s IP family', async () => {
    const a = await createNode()
    const b = await createNode({}, ['/ip6/::1/tcp/0'])

    const atB = nextConnection(b.node, a.node.peerId)
    await a.node.dial(b.addr)

    expect(portOf((await atB).remoteAddr)).not.toBe(a.port)
    expect(a.transport.reuseStatus()).toMatchObject({ reuseDials: 0, fallbackDials: 1 })
  })

  it('filters TCP multiaddrs only', async () => {
    const { transport } = await createNode()
    const addrs = [
      multiaddr('/ip4/127.0.0.1/tcp/1234'),
      multiaddr('/ip6/::1/tcp/1234/p2p/12D3KooWJRSrypvnpHgc6ZAgyCni4KcSmbV7uGRaMw5LgMKT18fq'),
      multiaddr('/ip4/127.0.0.1/udp/1234/quic-v1'),
      multiaddr('/ip4/127.0.0.1/tcp/1234/ws'),
      multiaddr('/unix/tmp%2Fsock')
    ]

    expect(transport.listenFilter(addrs).map(ma => ma.toString())).toEqual([addrs[0].toString(), addrs[1].toString()])
    expect(transport.dialFilter(addrs)).toHaveLength(2)
    expect(Object.prototype.toString.call(transport)).toBe('[object @natkit/tcp-reuse]')
  })
})

/** Why this host cannot run the netns test, or undefined when it can. */
function netnsUnavailableReason (): string | undefined {
  if (process.getuid?.() !== 0) return 'the simultaneous-open test needs root (a private network namespace)'
  try {
    execFileSync('unshare', ['-n', 'nft', 'list', 'ruleset'], { stdio: 'ignore', timeout: EVENT_TIMEOUT })
    return undefined
  } catch {
    return 'the simultaneous-open test needs unshare (util-linux) and nft (apt-get install -y nftables)'
  }
}

describe('optimistic multistream-select (optimisticSelect)', () => {
  /** A TCP server that records what arrives and answers with `reply(received)` when it returns bytes. */
  async function rawServer (reply?: (received: Buffer) => Uint8Array | undefined): Promise<{ addr: Multiaddr, received: () => Buffer, grew: (n: number) => Promise<Buffer> }> {
    let received = Buffer.alloc(0)
    const waiters: Array<{ n: number, resolve: (b: Buffer) => void }> = []
    const server = net.createServer((socket) => {
      socket.on('error', () => {})
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk])
        for (const w of waiters.filter(w => received.byteLength >= w.n)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(received) }
        const out = reply?.(received)
        if (out != null) socket.write(out)
      })
    })
    servers.push(server)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    return {
      addr: multiaddr(`/ip4/127.0.0.1/tcp/${port}`),
      received: () => received,
      grew: async (n) => {
        if (received.byteLength >= n) return received
        return new Promise<Buffer>((resolve, reject) => {
          const timer = setTimeout(() => { reject(new Error(`only ${received.byteLength} of ${n} bytes arrived`)) }, EVENT_TIMEOUT)
          waiters.push({ n, resolve: (b) => { clearTimeout(timer); resolve(b) } })
        })
      }
    }
  }

  it('the noise handshake\'s first message leaves with the select, before the remote said a word', async () => {
    const a = await createNode()
    // a remote that never answers: without optimism only the select would arrive
    const remote = await rawServer()
    const lines = multistreamSelectLines('/noise')
    const stop = new AbortController()
    const dial = dialWithOptimisticSelect(nodeComponents(a.node).transportManager, remote.addr, '/noise', { signal: AbortSignal.any([stop.signal, AbortSignal.timeout(EVENT_TIMEOUT)]) })
    dial.catch(() => {})
    // noise XX message 1: a 2-byte length, then the 32-byte ephemeral key
    const got = await remote.grew(lines.byteLength + 2 + 32)
    expect(got.subarray(0, lines.byteLength)).toEqual(Buffer.from(lines))
    expect(got.readUInt16BE(lines.byteLength)).toBeGreaterThanOrEqual(32)
    stop.abort()
    await expect(dial).rejects.toThrow()
  })

  it('a libp2p remote accepts it: the connection opens, its real echo is dropped, ping works', async () => {
    const a = await createNode()
    const b = await createNode()
    const conn = await dialWithOptimisticSelect(nodeComponents(a.node).transportManager, b.addr, '/noise', { signal: AbortSignal.timeout(EVENT_TIMEOUT) })
    expect(conn.remotePeer.equals(b.node.peerId)).toBe(true)
    expect(conn.encryption).toBe('/noise')
    expect(conn.direction).toBe('outbound')
    const rtt = await a.node.services.ping.ping(b.node.peerId, { signal: AbortSignal.timeout(EVENT_TIMEOUT) })
    expect(rtt).toBeGreaterThanOrEqual(0)
  })

  it('a remote that answers na fails the dial with OptimisticSelectError naming the protocol', async () => {
    const a = await createNode()
    const lines = multistreamSelectLines('/noise')
    const na = Buffer.from([19, ...Buffer.from('/multistream/1.0.0\n'), 3, ...Buffer.from('na\n')])
    const remote = await rawServer((received) => received.byteLength >= lines.byteLength ? na : undefined)
    const err = await dialWithOptimisticSelect(nodeComponents(a.node).transportManager, remote.addr, '/noise', { signal: AbortSignal.timeout(EVENT_TIMEOUT) }).then(() => undefined, (e: Error) => e)
    expect(err?.message).toMatch(/the remote did not accept \/noise, selected optimistically \(it answered ".*na"\)/)
    expect(OptimisticSelectError.name).toBe('OptimisticSelectError')
  })

  it('another first write (a different protocol) turns it off: the select waits for the real answer', async () => {
    const a = await createNode()
    const b = await createNode()
    // the upgrader selects /noise first, not /tls: no echo is assumed and the connection is ordinary
    const conn = await dialWithOptimisticSelect(nodeComponents(a.node).transportManager, b.addr, '/tls/1.0.0', { signal: AbortSignal.timeout(EVENT_TIMEOUT) })
    expect(conn.encryption).toBe('/noise')
  })
})

describe('claimed inbound connections (expectInitiator)', () => {
  // a hole punch's responder dials as the responder (`initiator: false`); when its SYN reaches
  // the initiator's listener instead of the initiator's own dial socket, the listener must take the initiator's role
  it('without a claim, a responder dial reaching a listener finds no initiator: the upgrade times out', async () => {
    const a = await createNode({}, ['/ip4/127.0.0.1/tcp/0'])
    const b = await createNode()
    expect(a.addr.toString()).toContain(`/p2p/${a.node.peerId}`)
    await expect(dialAsResponder(nodeComponents(b.node).transportManager, a.addr, { signal: AbortSignal.timeout(1_500) })).rejects.toThrow(/abort|timeout/i)
  })

  it('with a claim on the dialer\'s address, the listener upgrades as the initiator: both sides have the connection and ping works', async () => {
    const a = await createNode()
    const b = await createNode()
    const claim = new AbortController()
    // b dials from its listen port (port reuse), so its connection arrives from b.addr
    expect(a.transport.expectInitiator(b.addr, { signal: claim.signal, optimisticSelect: '/noise' })).toBe(true)
    const atA = nextConnection(a.node, b.node.peerId)
    const conn = await dialAsResponder(nodeComponents(b.node).transportManager, a.addr, { signal: AbortSignal.timeout(EVENT_TIMEOUT) })
    expect(conn.direction).toBe('inbound')
    const theirs = await atA
    expect(theirs.direction).toBe('outbound')
    expect(theirs.remotePeer.equals(b.node.peerId)).toBe(true)
    expect(portOf(theirs.remoteAddr)).toBe(b.port)
    const rtt = await a.node.services.ping.ping(b.node.peerId, { signal: AbortSignal.timeout(EVENT_TIMEOUT) })
    expect(rtt).toBeGreaterThanOrEqual(0)
    claim.abort()
  })

  it('a claim ends with its signal: the next connection from that address is an ordinary inbound one', async () => {
    const a = await createNode()
    const b = await createNode()
    const claim = new AbortController()
    expect(a.transport.expectInitiator(b.addr, { signal: claim.signal })).toBe(true)
    expect(a.transport.claimed('127.0.0.1', b.port)).toBeDefined()
    claim.abort()
    expect(a.transport.claimed('127.0.0.1', b.port)).toBeUndefined()
    const atA = nextConnection(a.node, b.node.peerId)
    await b.node.dial(a.addr, { signal: AbortSignal.timeout(EVENT_TIMEOUT) })
    expect((await atA).direction).toBe('inbound')
  })

  it('refuses an address without /p2p/, a non-TCP one, an aborted signal, and more than MAX_INITIATOR_CLAIMS addresses', async () => {
    const a = await createNode()
    const peer = a.node.peerId.toString()
    const signal = new AbortController().signal
    expect(a.transport.expectInitiator(multiaddr('/ip4/127.0.0.1/tcp/4001'), { signal })).toBe(false)
    expect(a.transport.expectInitiator(multiaddr(`/ip4/127.0.0.1/udp/4001/p2p/${peer}`), { signal })).toBe(false)
    expect(a.transport.expectInitiator(multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${peer}`), { signal: AbortSignal.abort() })).toBe(false)
    for (let i = 0; i < MAX_INITIATOR_CLAIMS; i++) expect(a.transport.expectInitiator(multiaddr(`/ip4/127.0.0.1/tcp/${10_000 + i}/p2p/${peer}`), { signal })).toBe(true)
    expect(a.transport.expectInitiator(multiaddr(`/ip4/127.0.0.1/tcp/20000/p2p/${peer}`), { signal })).toBe(false)
    // the same address again replaces its claim
    expect(a.transport.expectInitiator(multiaddr(`/ip4/127.0.0.1/tcp/10000/p2p/${peer}`), { signal })).toBe(true)
  })
})

describe('kernel TCP simultaneous open', () => {
  it.skipIf(missingPrerequisite(netnsUnavailableReason()))('pairs two reuse-port sockets dialing each other, bypassing both listeners', async () => {
    // ports are private to the new network namespace, so fixed values are safe
    const portX = 40001
    const portY = 40002
    const fixture = fileURLToPath(new URL('./fixtures/simultaneous-open.mjs', import.meta.url))
    const script = [
      'ip link set lo up',
      'nft add table inet natkit',
      'nft add chain inet natkit out "{ type filter hook output priority 0; }"',
      // drop X's SYNs (but not its SYN-ACK) so X is still in SYN_SENT when Y's SYN arrives
      `nft add rule inet natkit out tcp sport ${portX} "tcp flags & (syn|ack) == syn" drop`,
      `exec "${process.execPath}" "${fixture}"`
    ].join(' && ')

    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('unshare', ['-n', 'sh', '-c', script], {
        env: { ...process.env, PORT_X: String(portX), PORT_Y: String(portY) },
        timeout: 3 * EVENT_TIMEOUT
      }, (err, out, errOut) => {
        if (err != null) {
          reject(new Error(`fixture failed: ${err.message} ${errOut}`))
          return
        }
        resolve(out)
      })
    })

    expect(JSON.parse(stdout.trim())).toEqual({
      x: { local: portX, remote: portY },
      y: { local: portY, remote: portX },
      received: 'hello',
      // neither listener saw a connection: the two dialing sockets were paired
      accepted: []
    })
  })
})
