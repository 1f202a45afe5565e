import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { isLoopback } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { HolePunchAttemptEvent, HolePunchEvents } from '../src/index.js'
import type { Identify } from '@libp2p/identify'
import type { Connection, Libp2p, ServiceMap, Transport, TypedEventTarget } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { TCPComponents } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ServiceFactoryMap } from 'libp2p'

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

/** TCP transport that records the address (and, given `options`, the options) of every dial it makes. */
export function recordingTcp (dials: string[], options?: Array<Record<string, unknown>>): (components: TCPComponents) => Transport {
  return (components) => {
    const transport = tcp()(components)
    const dial = transport.dial.bind(transport)
    transport.dial = async (ma, opts) => {
      dials.push(ma.toString())
      options?.push({ ...opts })
      return dial(ma, opts)
    }
    return transport
  }
}

/** libp2p's connection manager options a test may change (e.g. many peers dialing from 127.0.0.1 at once). */
export interface TestConnectionManager {
  /** Inbound connection attempts per second per host (libp2p: 5). */
  inboundConnectionThreshold?: number
}

export async function createRelay (connectionManager?: TestConnectionManager): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    connectionManager,
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: loopbackOnlyGater,
    services: { identify: identify(), relay: circuitRelayServer() }
  })
}

export interface PeerOptions<S extends ServiceMap> {
  services: ServiceFactoryMap<S>
  listen?: string[]
  announce?: string[]
  appendAnnounce?: string[]
  gater?: typeof loopbackOnlyGater
  /** Records the address of every TCP dial. */
  dials?: string[]
  /** With `dials`: records the options of every TCP dial. */
  dialOptions?: Array<Record<string, unknown>>
  connectionManager?: TestConnectionManager
}

/** The services every `createPeer` node has besides its own. */
export interface PeerBaseServices extends ServiceMap { identify: Identify, ping: Ping }
/** A node made by `createPeer` with services `S`. */
export type PeerNode<S extends ServiceMap> = Libp2p<S & PeerBaseServices>

export async function createPeer<S extends ServiceMap> (opts: PeerOptions<S>): Promise<PeerNode<S>> {
  // each factory reads only the components it declares, so `S`'s factories fit the merged map
  const services = { identify: identify(), ping: ping(), ...opts.services } as ServiceFactoryMap<S & PeerBaseServices>
  return createLibp2p({
    addresses: { listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0'], announce: opts.announce, appendAnnounce: opts.appendAnnounce },
    transports: [opts.dials != null ? recordingTcp(opts.dials, opts.dialOptions) : tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: opts.gater ?? loopbackOnlyGater,
    connectionManager: opts.connectionManager,
    services
  })
}

import { waitUntil } from '@natkit/testkit/libp2p'
export { waitUntil }

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

const RECORDED = ['holepunch:attempt', 'holepunch:success', 'holepunch:failure'] as const
type RecordedType = typeof RECORDED[number]
/** One event `recordEvents` saw: its type and (typed by it) its detail. */
export type RecordedEvent = { [K in RecordedType]: { type: K, detail: HolePunchEvents[K]['detail'] } }[RecordedType]

/** Records every holepunch attempt/success/failure event of a service in order. */
export function recordEvents (target: TypedEventTarget<HolePunchEvents>): RecordedEvent[] {
  const log: RecordedEvent[] = []
  for (const type of RECORDED) {
    target.addEventListener(type, (evt) => { log.push({ type, detail: evt.detail } as RecordedEvent) })
  }
  return log
}

/** The detail of a recorded `holepunch:attempt` event; throws if `event` is missing or of another type. */
export function attemptDetail (event: RecordedEvent | undefined): HolePunchAttemptEvent {
  if (event?.type !== 'holepunch:attempt') throw new Error(`expected a holepunch:attempt event, got ${event?.type ?? 'none'}`)
  return event.detail
}
