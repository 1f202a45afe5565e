/**
 * The bootstrap's composition: a Kademlia DHT server (plus the base's
 * identify and ping) other roles list with `--bootstrap`.
 */
import { kadDHT, passthroughMapper, removePrivateAddressesMapper, type KadDHT, type KadDHTInit } from '@libp2p/kad-dht'
import { tcp } from '@libp2p/tcp'
import { connectionManagerInit, inboundAdmissionInit, type ConnectionManagerLimits, type InboundAdmissionInit, createNatkitNode, prepareNatkitNode, type BaseServices, type NatkitRunner, loadWebSockets } from '@natkit/node'
import type { BootstrapOptions } from './options.js'
import type { NatkitEvents } from '@natkit/events'

/** The bootstrap's own services (beside the base's identify and ping). */
export type BootstrapServices = {
  dht: KadDHT
}

/** The init the bootstrap hands to each libp2p component that takes a limit or timeout, from the resolved options only. */
export interface BootstrapComposedInit {
  connectionManager: ConnectionManagerLimits
  /** the per-IP limit on pending inbound handshakes (the base's gater) */
  inboundAdmission: InboundAdmissionInit
  dht: KadDHTInit
}

/** Pure: resolved bootstrap options → the init of each component (a test proves each limit arrives). */
export function composeInit (o: BootstrapOptions): BootstrapComposedInit {
  // Lab/local presets run on addresses js-libp2p would otherwise filter; only
  // the public preset strips private addresses from DHT records.
  const mapper = o.network === 'public' ? removePrivateAddressesMapper : passthroughMapper
  return {
    connectionManager: connectionManagerInit(o),
    inboundAdmission: inboundAdmissionInit(o),
    dht: { clientMode: false, protocol: o.dhtProtocol, kBucketSize: o.kBucketSize, peerInfoMapper: mapper, allowQueryWithZeroPeers: true }
  }
}

/** Builds the bootstrap's node (not started). */
export async function createBootstrap (options: BootstrapOptions, events: NatkitEvents): Promise<NatkitRunner<BaseServices & BootstrapServices>> {
  const webSockets = await loadWebSockets()
  const c = composeInit(options)
  return await prepareNatkitNode({
    role: 'bootstrap',
    options,
    events,
    create: async (privateKey) => await createNatkitNode<BootstrapServices>({
      options,
      privateKey,
      transports: [tcp(), webSockets()],
      services: { dht: kadDHT(c.dht) }
    })
  })
}
