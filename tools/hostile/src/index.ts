/**
 * Hostile clients for issue-11 tests, loopback only: throwaway identities
 * that each make one HOP RESERVE from a chosen 127.x.y.z source address
 * (127.0.0.0/8 is all loopback on Linux), and many idle TCP sockets.
 */
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_PENDING_INBOUND, DEFAULT_MAX_PENDING_INBOUND_PER_IP } from '@natkit/config'
import { connect, type Socket } from 'node:net'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createNatkitNode, loadIdentity, type NatkitNode, type NatkitServiceFactories } from '@natkit/node'
import type { ServiceMap } from '@libp2p/interface'

export const HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
/** A length-prefixed HopMessage `{ type: RESERVE }` (field 1, varint 0). */
const RESERVE = Uint8Array.from([0x02, 0x08, 0x00])

/**
 * Connections a throwaway node keeps at most.
 *
 * @default 10
 */
export const DEFAULT_THROWAWAY_MAX_CONNECTIONS = 10

export interface ThrowawayNodeInit<S extends ServiceMap> {
  /**
   * Listen addresses, e.g. a reservation `<relay>/p2p-circuit` (the circuit
   * relay transport is added when there are any).
   *
   * @default []
   */
  listen?: string[]
  /** Services beside the base's identify and ping. */
  services?: NatkitServiceFactories<S>
  /** @default DEFAULT_THROWAWAY_MAX_CONNECTIONS */
  maxConnections?: number
}

/** A started natkit node with a fresh ephemeral identity whose TCP dials leave from `localAddress`. */
export async function throwawayNode<S extends ServiceMap = ServiceMap> (localAddress: string, init: ThrowawayNodeInit<S> = {}): Promise<NatkitNode<S>> {
  const listen = init.listen ?? []
  const { key } = await loadIdentity({})
  // not in TCPSocketOptions' type, but @libp2p/tcp hands dialOpts to net.connect as they are
  const dialOpts: TCPSocketOptions & { localAddress: string } = { localAddress }
  const node = await createNatkitNode<S>({
    services: init.services,
    options: { listen, announce: [], bootstrap: [], maxConnections: init.maxConnections ?? DEFAULT_THROWAWAY_MAX_CONNECTIONS, dialTimeout: 5_000, maxPendingInbound: DEFAULT_MAX_PENDING_INBOUND, maxPendingInboundPerIp: DEFAULT_MAX_PENDING_INBOUND_PER_IP, handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT },
    privateKey: key,
    transports: listen.length > 0 ? [tcp({ dialOpts }), circuitRelayTransport()] : [tcp({ dialOpts })]
  })
  await node.start()
  return node
}

/**
 * One HOP RESERVE from a throwaway identity: resolves once the relay answered
 * (or closed the stream), with the node still connected; the caller stops it.
 */
export async function reserveOnce (relay: Multiaddr | string, localAddress: string, timeout = 10_000): Promise<NatkitNode> {
  const node = await throwawayNode(localAddress)
  try {
    const signal = AbortSignal.timeout(timeout)
    const stream = await node.dialProtocol(multiaddr(relay.toString()), HOP_PROTOCOL, { signal })
    await new Promise<void>((resolve) => {
      stream.addEventListener('message', () => { resolve() }, { once: true })
      stream.addEventListener('close', () => { resolve() }, { once: true })
      signal.addEventListener('abort', () => { resolve() }, { once: true })
      stream.send(RESERVE)
    })
    return node
  } catch (err) {
    await node.stop()
    throw err
  }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once; resolves with the failures. */
export async function bounded (count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<Error[]> {
  const failures: Error[] = []
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const i = next++
      await task(i).catch((err: Error) => { failures.push(err) })
    }
  }))
  return failures
}

/** Opens `count` idle TCP sockets to host:port, the i-th from `source(i)`; resolves once all are connected. */
export async function idleSockets (host: string, port: number, count: number, source: (i: number) => string): Promise<Socket[]> {
  const sockets: Socket[] = []
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const socket = connect({ host, port, localAddress: source(i) })
    sockets.push(socket)
    socket.on('error', () => {})
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
  }))
  return sockets
}
