import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayServerInit, type CircuitRelayTransportInit } from '@libp2p/circuit-relay-v2'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper, type KadDHTInit } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { uPnPNAT } from '@libp2p/upnp-nat'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { holePunch, type HolePunchInit } from '@natkit/holepunch'
import { tcpReuse } from '@natkit/tcp-reuse'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { relayGater, type RelayGaterInit } from './relay-gater.js'
import type { ReservationKeeperInit } from './reservations.js'
import type { NatkitEvents } from '@natkit/events'
import type { Role, RoleOptions, RelayOptions, PeerOptions, BootstrapOptions } from '@natkit/config'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

/** The libp2p identify agent string every natkit node announces. */
export const NATKIT_VERSION = '0.1.0'
export const NATKIT_AGENT = `natkit/${NATKIT_VERSION}`

export interface BuildInit<R extends Role = Role> {
  options: RoleOptions<R>
  privateKey: PrivateKey
  events: NatkitEvents
  /**
   * autonat role only: run the AutoNAT v2 server. `natkit-autonat check` turns
   * it off because the check client needs the dial-back protocol itself.
   *
   * @default true
   */
  autonatServer?: boolean
}

const str = (xs: ReadonlyArray<unknown> | undefined): string[] => (xs ?? []).map(x => String(x))

/**
 * The init natkit hands to each libp2p component of a role, derived from the
 * resolved options only. `buildNode` builds from exactly this (and `NatkitRole`
 * takes the reservation keeper's from it), so a test of this function proves
 * an option reaches the component that uses it.
 */
export interface ComposedInit {
  connectionManager: { maxConnections: number, dialTimeout: number }
  /** bootstrap (server) and peer (client, `--dht`) */
  dht?: KadDHTInit
  /** relay */
  relayServer?: CircuitRelayServerInit
  /** relay: the per-peer circuit cap (its `events` are added by `buildNode`) */
  relayGater?: Omit<RelayGaterInit, 'events'>
  /** peer */
  circuitTransport?: CircuitRelayTransportInit
  /** peer, `--holepunch` */
  holepunch?: HolePunchInit
  /** peer, with `--relay`: the reservation keeper `NatkitRole` runs (its `events` are added there) */
  reservationKeeper?: Omit<ReservationKeeperInit, 'events'>
}

/** Pure: resolved role options → the init of each libp2p component that takes a limit or timeout. */
export function composeInit (options: RoleOptions<Role>): ComposedInit {
  const o = options
  const composed: ComposedInit = { connectionManager: { maxConnections: o.maxConnections, dialTimeout: o.dialTimeout } }
  // Lab/local presets run on addresses js-libp2p would otherwise filter; only
  // the public preset strips private addresses from DHT records.
  const mapper = o.network === 'public' ? removePrivateAddressesMapper : passthroughMapper
  switch (o.role) {
    case 'bootstrap': {
      const b = o as BootstrapOptions
      composed.dht = { clientMode: false, protocol: b.dhtProtocol, kBucketSize: b.kBucketSize, peerInfoMapper: mapper, allowQueryWithZeroPeers: true }
      break
    }
    case 'relay': {
      const r = o as RelayOptions
      composed.relayServer = {
        hopTimeout: r.hopTimeout,
        maxInboundHopStreams: r.maxInboundHopStreams,
        maxOutboundStopStreams: r.maxOutboundStopStreams,
        reservations: {
          maxReservations: r.maxReservations,
          reservationTtl: r.reservationTtl,
          defaultDurationLimit: r.circuitDuration,
          defaultDataLimit: BigInt(r.circuitData),
          applyDefaultLimit: true
        }
      }
      composed.relayGater = { maxCircuitsPerPeer: r.maxCircuitsPerPeer, windowMs: r.circuitDuration }
      break
    }
    case 'peer': {
      const p = o as PeerOptions
      composed.circuitTransport = { reservationCompletionTimeout: p.dialTimeout }
      if (p.holepunch) composed.holepunch = { timeout: p.holepunchTimeout, attempts: p.holepunchAttempts, allowPrivateAddresses: p.allowPrivateAddresses }
      if (p.dht) composed.dht = { clientMode: true, protocol: p.dhtProtocol, peerInfoMapper: mapper }
      if (p.relay.length > 0) composed.reservationKeeper = { relays: str(p.relay), retry: p.reservationRetry, retryMax: p.reservationRetryMax, timeout: p.dialTimeout }
      break
    }
  }
  return composed
}

/**
 * Composes a libp2p node for a role. Every app goes through here; apps never
 * call `createLibp2p` themselves. The node is created but not started.
 */
export async function buildNode<R extends Role> (init: BuildInit<R>): Promise<Libp2p<Record<string, any>>> {
  const o = init.options as RoleOptions<Role>
  const c = composeInit(o)
  const services: Record<string, any> = {
    identify: identify(),
    identifyPush: identifyPush(),
    ping: ping()
  }
  const transports: any[] = []
  const listen = str(o.listen)
  let connectionGater: Libp2pOptions['connectionGater'] = {}

  switch (o.role) {
    case 'bootstrap': {
      transports.push(tcp(), webSockets())
      services.dht = kadDHT(c.dht)
      break
    }
    case 'relay': {
      const r = o as RelayOptions
      transports.push(tcp(), webSockets())
      services.relay = circuitRelayServer(c.relayServer)
      if (r.autonat) services.autonat = autoNATv2()
      connectionGater = relayGater({ ...c.relayGater as Omit<RelayGaterInit, 'events'>, events: init.events })
      break
    }
    case 'peer': {
      const p = o as PeerOptions
      transports.push(p.tcpReuse ? tcpReuse() : tcp(), webSockets(), circuitRelayTransport(c.circuitTransport))
      if (p.webrtc) {
        transports.push(webRTC({ rtcConfiguration: { iceServers: p.stun.length > 0 ? [{ urls: [...p.stun] }] : [] } }))
        if (!listen.includes('/webrtc')) listen.push('/webrtc')
      }
      if (c.holepunch != null) services.holepunch = holePunch(c.holepunch)
      services.autonat = autoNATv2()
      // the gateway itself reports the mapping, so the mapped address is announced
      // without waiting for AutoNAT confirmations from several network segments
      if (p.upnp) services.upnp = uPnPNAT({ autoConfirmAddress: true })
      if (c.dht != null) services.dht = kadDHT(c.dht)
      break
    }
    case 'autonat': {
      // dial from the listen port, so the address the server observes (and is
      // asked to dial back) is the NAT mapping of the port we listen on
      transports.push(tcpReuse(), webSockets())
      if (init.autonatServer !== false) services.autonat = autoNATv2()
      break
    }
  }

  const bootstrapList = str(o.bootstrap)
  const libp2p = await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    nodeInfo: { name: 'natkit', version: NATKIT_VERSION, userAgent: NATKIT_AGENT },
    addresses: { listen, announce: str(o.announce) },
    transports,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater,
    connectionManager: c.connectionManager,
    peerDiscovery: bootstrapList.length > 0 ? [bootstrap({ list: bootstrapList })] : [],
    metrics: o.metrics != null ? prometheusMetrics({ collectDefaultMetrics: true }) : undefined,
    services
  })
  return libp2p as Libp2p<Record<string, any>>
}
