/**
 * Loopback libp2p nodes for package tests: tcp on 127.0.0.1, noise, yamux,
 * the circuit relay transport and identify, a gater that dials nothing but
 * loopback; a relay server; a bounded poll.
 */
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp, type TCPOptions } from '@libp2p/tcp'
import { isLoopback } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import type { Libp2p, ServiceMap } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ServiceFactoryMap } from 'libp2p'

/** Test nodes dial nothing but loopback: no traffic leaves the host. */
const loopbackOnlyGater = { denyDialMultiaddr: (ma: Multiaddr): boolean => !isLoopback(ma) }

/**
 * A node on 127.0.0.1 (tcp, noise, yamux, circuit relay transport, identify)
 * with `services`. `deny` refuses further (loopback) addresses, e.g. to play a
 * peer whose direct addresses a NAT makes unreachable. `localAddress` (a
 * 127.x.y.z address) is the source of its TCP dials: many nodes, many hosts.
 */
export async function createNode<S extends ServiceMap> (services: ServiceFactoryMap<S>, listen = ['/ip4/127.0.0.1/tcp/0'], deny?: (ma: Multiaddr) => boolean, localAddress?: string): Promise<Libp2p<S>> {
  return createLibp2p({
    addresses: { listen },
    // @libp2p/tcp spreads dialOpts into net.connect's options (localAddress is not in its type)
    transports: [tcp(localAddress != null ? { dialOpts: { localAddress } as NonNullable<TCPOptions['dialOpts']> } : {}), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: deny == null ? loopbackOnlyGater : { denyDialMultiaddr: (ma: Multiaddr): boolean => loopbackOnlyGater.denyDialMultiaddr(ma) || deny(ma) },
    services: { identify: identify(), ...services } as ServiceFactoryMap<S>
  })
}

/** A circuit relay v2 server on 127.0.0.1 with the default (limited) reservations. */
export async function createRelay (): Promise<Libp2p> {
  return createNode({ relay: circuitRelayServer() })
}

/** Polls `check` until it returns a value, at most `timeoutMs`. */
export async function waitUntil<T> (check: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const v = check()
    if (v !== undefined && v !== false) return v
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}
