import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { isLoopback } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Connection, Libp2p, ServiceMap } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Every test node refuses to dial anything but loopback: no traffic leaves the host. */
export const loopbackOnlyGater = {
  denyDialMultiaddr: (ma: Multiaddr): boolean => !isLoopback(ma)
}

/** A gater that records every address it is asked about and applies `deny`. */
export function recordingGater (deny: (ma: Multiaddr) => boolean): typeof loopbackOnlyGater & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    denyDialMultiaddr: (ma: Multiaddr): boolean => {
      asked.push(ma.toString())
      // never let a test dial off the host, whatever `deny` says
      return !isLoopback(ma) || deny(ma)
    }
  }
}

/** TCP transport that records the address of every dial it makes. */
export function recordingTcp (dials: string[]): (components: any) => any {
  return (components) => {
    const transport = tcp()(components)
    const dial = transport.dial.bind(transport)
    transport.dial = async (ma: Multiaddr, options: any) => {
      dials.push(ma.toString())
      return dial(ma, options)
    }
    return transport
  }
}

export async function createRelay (): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: loopbackOnlyGater,
    services: { identify: identify(), relay: circuitRelayServer() }
  })
}

export interface PeerOptions<S extends ServiceMap> {
  services: { [K in keyof S]: (components: any) => S[K] }
  listen?: string[]
  announce?: string[]
  appendAnnounce?: string[]
  gater?: typeof loopbackOnlyGater
  /** Records the address of every TCP dial. */
  dials?: string[]
}

export async function createPeer<S extends ServiceMap> (opts: PeerOptions<S>): Promise<Libp2p<S & { identify: unknown, ping: unknown }>> {
  return createLibp2p({
    addresses: { listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0'], announce: opts.announce, appendAnnounce: opts.appendAnnounce },
    transports: [opts.dials != null ? recordingTcp(opts.dials) : tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: opts.gater ?? loopbackOnlyGater,
    services: { identify: identify(), ping: ping(), ...opts.services } as any
  }) as any
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

/** B gets a reservation on the relay; returns B's circuit address. */
export async function reserve (b: Libp2p, relay: Libp2p): Promise<Multiaddr> {
  await b.dial(relay.getMultiaddrs()[0])
  const addr = await waitUntil(() => b.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit')), 10_000, 'relay reservation')
  return multiaddr(addr.toString())
}

export function directConnections (node: Libp2p, peer: Libp2p): Connection[] {
  return node.getConnections(peer.peerId).filter(c => c.limits == null && !c.remoteAddr.toString().includes('/p2p-circuit'))
}

export function relayedConnections (node: Libp2p, peer: Libp2p): Connection[] {
  return node.getConnections(peer.peerId).filter(c => c.remoteAddr.toString().includes('/p2p-circuit'))
}

/** Resolves with the first event `type` on `target`, rejects after `timeoutMs`. */
export async function nextEvent<T> (target: EventTarget, type: string, timeoutMs = 15_000): Promise<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>()
  const handler = (evt: Event): void => { resolve((evt as CustomEvent<T>).detail) }
  const timer = setTimeout(() => { reject(new Error(`no ${type} event within ${timeoutMs} ms`)) }, timeoutMs)
  target.addEventListener(type, handler, { once: true })
  try {
    return await promise
  } finally {
    clearTimeout(timer)
    target.removeEventListener(type, handler)
  }
}

/** Records every holepunch event of a service in order. */
export function recordEvents (target: EventTarget): Array<{ type: string, detail: any }> {
  const log: Array<{ type: string, detail: any }> = []
  for (const type of ['holepunch:attempt', 'holepunch:success', 'holepunch:failure']) {
    target.addEventListener(type, (evt) => { log.push({ type, detail: (evt as CustomEvent).detail }) })
  }
  return log
}
