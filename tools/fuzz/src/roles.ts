/**
 * The nodes of a stream fuzz run, on 127.0.0.1 only: the relay, the peer,
 * the bootstrap and the autonat server as their roles compose them (the apps'
 * node builders), and
 * plain natkit nodes as clients whose TCP dials leave from a chosen loopback
 * address (127.0.0.0/8 is all loopback on Linux), so the fuzzer and the honest
 * clients are different requesters for the per-IP limits.
 */
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { resolveOptions } from '@natkit/config'
import { NatkitEvents, type NatkitEvent } from '@natkit/events'
import { directMessages, type DirectMessages } from '@natkit/direct-message'
import { fileShare, type FileShare } from '@natkit/file-share'
import { throwawayNode } from '@natkit/hostile'
import { createNatkitNode, prepareNatkitNode, type NatkitNode, type NatkitRunner, type NatkitServiceFactories } from '@natkit/node'
import type { ServiceMap } from '@libp2p/interface'
import { createPeer } from '@natkit/peer-app/node'
import { PEER_ROLE } from '@natkit/peer-app'
import { createRelay } from '@natkit/relay-app/node'
import { createBootstrap } from '@natkit/bootstrap-app/node'
import { createAutonat } from '@natkit/autonat-probe-app/node'
import { AUTONAT_ROLE } from '@natkit/autonat-probe-app'
import { BOOTSTRAP_ROLE } from '@natkit/bootstrap-app'
import { RELAY_ROLE } from '@natkit/relay-app'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A role under test and the events it emitted. */
/** The roles whose handlers are fuzzed. */
export type FuzzedRole = 'relay' | 'peer' | 'bootstrap' | 'autonat' | 'peer-services'

export interface RoleUnderTest {
  name: FuzzedRole
  runner: NatkitRunner
  events: NatkitEvent[]
  /** its TCP listen address on 127.0.0.1 (with `/p2p`) */
  addr: Multiaddr
  /** the UDP port of its STUN server, if it runs one */
  stunPort?: number
}

/**
 * Events kept per role (the oldest are dropped; the harness's own memory must
 * not count as the nodes' growth).
 *
 * @default 1000
 */
export const MAX_KEPT_EVENTS = 1_000

async function start (name: FuzzedRole, create: (events: NatkitEvents) => Promise<NatkitRunner>): Promise<RoleUnderTest> {
  const events = new NatkitEvents()
  const log: NatkitEvent[] = []
  events.onAny((e) => {
    log.push(e)
    if (log.length > MAX_KEPT_EVENTS) log.splice(0, log.length - MAX_KEPT_EVENTS)
  })
  const runner = await create(events)
  await runner.start()
  const addr = runner.node.getMultiaddrs().find(ma => ma.toString().startsWith('/ip4/127.0.0.1/tcp/'))
  if (addr == null) {
    await runner.stop()
    throw new Error(`the ${name} listens on no 127.0.0.1 TCP address`)
  }
  return { name, runner, events: log, addr, stunPort: stunPortIn(log) }
}

/** The relay with its AutoNAT v2 server and a STUN server on 127.0.0.1 (an ephemeral port, see {@link stunPortOf}). */
export async function startRelay (): Promise<RoleUnderTest> {
  return await start('relay', async (events) => await createRelay(resolveOptions(RELAY_ROLE, {
    flags: { listen: ['/ip4/127.0.0.1/tcp/0'], autonat: true, stunListen: '127.0.0.1:0' }
  }), events))
}

/** The peer with hole punching (DCUtR), AutoNAT v2 and the STOP guard; no UPnP, DHT or WebRTC (nothing leaves loopback). */
export async function startPeer (): Promise<RoleUnderTest> {
  return await start('peer', async (events) => await createPeer(resolveOptions(PEER_ROLE, {
    flags: { listen: ['/ip4/127.0.0.1/tcp/0'], holepunch: true, webrtc: false, upnp: false, dht: false, pingInterval: 0 }
  }), events))
}

/** The bootstrap: a Kademlia DHT server (natkit's DHT protocol id of the local preset), with no bootstrap list of its own. */
export async function startBootstrap (): Promise<RoleUnderTest> {
  return await start('bootstrap', async (events) => await createBootstrap(resolveOptions(BOOTSTRAP_ROLE, {
    flags: { listen: ['/ip4/127.0.0.1/tcp/0'] }
  }), events))
}

/** The autonat role's server (natkit-autonat): AutoNAT v2 behind the guard, port-reusing TCP. */
export async function startAutonat (): Promise<RoleUnderTest> {
  return await start('autonat', async (events) => await createAutonat(resolveOptions(AUTONAT_ROLE, {
    flags: { listen: ['/ip4/127.0.0.1/tcp/0'] }
  }), events))
}

/** The peer app's issue-12 services: direct messages and file sharing. */
export interface PeerAppServices extends ServiceMap {
  dm: DirectMessages
  files: FileShare
}

/**
 * The peer app's direct messages (`/natkit/dm/1.0.0`) and file sharing
 * (`/natkit/file/1.0.0`) on a natkit node of their own, as `createPeer` does
 * not register them yet (their wiring into the peer app is on branch
 * `shell`); downloads go to `downloadDir`. Once the peer app serves them, the
 * stream targets can move to the `peer` role.
 */
export async function startPeerServices (downloadDir: string): Promise<RoleUnderTest & { runner: NatkitRunner<PeerAppServices> }> {
  let runner: NatkitRunner<PeerAppServices> | undefined
  const role = await start('peer-services', async (events) => {
    const options = resolveOptions(PEER_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], holepunch: false, webrtc: false, upnp: false, dht: false, pingInterval: 0 } })
    runner = await prepareNatkitNode<PeerAppServices>({
      role: 'peer',
      options,
      events,
      create: async (privateKey) => await createNatkitNode<PeerAppServices>({ options, privateKey, transports: [tcp()], services: { dm: directMessages(), files: fileShare({ downloadDir }) } })
    })
    return runner
  })
  if (runner == null) throw new Error('the peer services node was not created')
  return { ...role, runner }
}

/** The STUN port of a role's `STUN binding server on udp …` info event (at start). */
function stunPortIn (events: NatkitEvent[]): number | undefined {
  for (const e of events) {
    const m = e.event === 'info' ? /^STUN binding server on udp [\d.]+:(\d+)$/.exec(String((e as { message?: unknown }).message)) : null
    if (m != null) return Number(m[1])
  }
  return undefined
}

/** A plain natkit node (fresh identity, no listener) whose TCP dials leave from `localAddress`. */
export async function clientNode (localAddress: string): Promise<NatkitNode> {
  return await startClient(localAddress, [], {})
}

/** A {@link clientNode} with the peer app's direct messages and file sharing (downloads go to `downloadDir`). */
export async function peerServicesClientNode (localAddress: string, downloadDir: string): Promise<NatkitNode<PeerAppServices>> {
  return await startClient(localAddress, [], { dm: directMessages(), files: fileShare({ downloadDir }) })
}

/**
 * Connections a fuzz client keeps at most.
 *
 * @default 20
 */
const MAX_CLIENT_CONNECTIONS = 20

/**
 * Time a client may take to get its reservation on the relay.
 *
 * @default 10000
 */
export const DEFAULT_RESERVATION_TIMEOUT_MS = 10_000

/** A client reachable only through the relay, and the circuit address other nodes dial it at. */
export interface RelayedClient {
  node: NatkitNode
  /** `<relay>/p2p-circuit/p2p/<client>` */
  circuit: Multiaddr
}

/**
 * A plain natkit node (fresh identity) whose only listen address is a
 * reservation on `relay` (no TCP listener: a node that dials it through the
 * relay has no direct address to try). Its TCP dials leave from `localAddress`.
 */
export async function relayedClientNode (localAddress: string, relay: RoleUnderTest): Promise<RelayedClient> {
  const node = await startClient(localAddress, [relay.addr.encapsulate('/p2p-circuit').toString()], {})
  const deadline = Date.now() + DEFAULT_RESERVATION_TIMEOUT_MS
  let circuit = node.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit'))
  while (circuit == null && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 20))
    circuit = node.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit'))
  }
  if (circuit == null) {
    await node.stop()
    throw new Error(`no reservation on the relay within ${DEFAULT_RESERVATION_TIMEOUT_MS} ms`)
  }
  return { node, circuit: multiaddr(circuit.toString()) }
}

async function startClient<S extends ServiceMap> (localAddress: string, listen: string[], services: NatkitServiceFactories<S>): Promise<NatkitNode<S>> {
  return await throwawayNode<S>(localAddress, { listen, services, maxConnections: MAX_CLIENT_CONNECTIONS })
}
