/**
 * The probes behind {@link classifyNat}: RFC 5780-style Binding tests over
 * UDP against natkit STUN servers (one with an alternate address gives the
 * filtering tests and a second observer address), fresh sockets for port
 * allocation, a hairpin datagram, and the TCP connect-back.
 */
import { createSocket } from 'node:dgram'
import { networkInterfaces } from 'node:os'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { InvalidParametersError, TimeoutError } from '@libp2p/interface'
import { encodeResponseDelay, StunAttribute, stunBindingRequest } from '@natkit/stun'
import { classifyNat } from './classify.js'
import { DEFAULT_LIFETIME_MAX_MS, MAX_LIFETIME_MS, MAX_NAT_OBSERVERS } from './defaults.js'
import { ConnectBackError, tcpConnectBack } from './connect-back.js'
import type { Endpoint, MappingSample, NatClassification, NatObservations, TcpConnectBackObservation } from './classify.js'
import type { StunBindingResult } from '@natkit/stun'
import type { Socket } from 'node:dgram'

export { DEFAULT_LIFETIME_MAX_MS, MAX_LIFETIME_MS, MAX_NAT_OBSERVERS } from './defaults.js'

/**
 * Time for one Binding transaction (with retransmissions) before the observer
 * counts as silent — also how long a filtering test waits for its answer.
 *
 * @default 1000
 */
export const DEFAULT_NAT_PROBE_TIMEOUT_MS = 1_000

/**
 * First retransmission timeout of the probes' Binding requests.
 *
 * @default 200
 */
export const DEFAULT_NAT_PROBE_RTO_MS = 200

/**
 * Extra fresh sockets that each open one mapping to the primary observer, so
 * allocation is seen across sockets too.
 *
 * @default 2
 */
export const DEFAULT_ALLOCATION_SOCKETS = 2


/**
 * How long the hairpin test waits for its datagram.
 *
 * @default 300
 */
export const DEFAULT_HAIRPIN_TIMEOUT_MS = 300


/**
 * How long after the asked-for delay a lifetime probe's answer may still come.
 *
 * @default 500
 */
export const DEFAULT_LIFETIME_MARGIN_MS = 500


/** Options of {@link discoverNat}. */
export interface DiscoverNatOptions {
  /** STUN observers; the first one's OTHER-ADDRESS (if any) adds the RFC 5780 tests. At most MAX_NAT_OBSERVERS. */
  servers: Endpoint[]
  /** A connect-back observer for the TCP inbound test (see connect-back.ts). @default none (inbound `unknown`) */
  connectBack?: Endpoint
  /** @default DEFAULT_NAT_PROBE_TIMEOUT_MS */
  timeoutMs?: number
  /** @default DEFAULT_ALLOCATION_SOCKETS */
  allocationSockets?: number
  /** @default true */
  hairpin?: boolean
  /** Upper bound of the mapping lifetime probe in ms (0: off), at most MAX_LIFETIME_MS. @default DEFAULT_LIFETIME_MAX_MS */
  lifetimeMaxMs?: number
  /** Local address to bind. @default all interfaces */
  localAddress?: string
  /** Called once per observation, as it happens (progress output). */
  onSample?: (sample: MappingSample) => void
  /**
   * Called once the mapping and allocation tests are done (before the slower
   * filtering, hairpin, TCP and lifetime tests), with the classification of
   * what was seen so far: mapping, allocation and stride are final then.
   */
  onMapping?: (partial: NatClassification) => void
  signal?: AbortSignal
}

/** The result of {@link discoverNat}. */
export interface NatDiscovery {
  observations: NatObservations
  classification: NatClassification
}

async function bind (localAddress?: string): Promise<Socket> {
  const socket = createSocket('udp4')
  socket.on('error', () => {})
  socket.bind(0, localAddress)
  await once(socket, 'listening')
  return socket
}

function hostAddresses (): string[] {
  return Object.values(networkInterfaces()).flatMap(list => (list ?? []).map(i => i.address))
}

/** Probes the NAT in front of this host through `servers` and classifies it. */
export async function discoverNat (options: DiscoverNatOptions): Promise<NatDiscovery> {
  const servers = options.servers
  if (servers.length === 0) throw new InvalidParametersError('NAT discovery needs at least one STUN server')
  if (servers.length > MAX_NAT_OBSERVERS) throw new InvalidParametersError(`at most ${MAX_NAT_OBSERVERS} STUN servers, got ${servers.length}`)
  const timeout = options.timeoutMs ?? DEFAULT_NAT_PROBE_TIMEOUT_MS
  const allocationSockets = options.allocationSockets ?? DEFAULT_ALLOCATION_SOCKETS
  if (!Number.isInteger(allocationSockets) || allocationSockets < 0 || allocationSockets > MAX_NAT_OBSERVERS) throw new InvalidParametersError(`allocationSockets must be an integer in 0-${MAX_NAT_OBSERVERS}, got ${allocationSockets}`)
  const lifetimeMaxMs = options.lifetimeMaxMs ?? DEFAULT_LIFETIME_MAX_MS
  if (!Number.isInteger(lifetimeMaxMs) || lifetimeMaxMs < 0 || lifetimeMaxMs > MAX_LIFETIME_MS) throw new InvalidParametersError(`lifetimeMaxMs must be an integer in 0-${MAX_LIFETIME_MS}, got ${lifetimeMaxMs}`)
  const request = { timeout, initialRto: Math.min(DEFAULT_NAT_PROBE_RTO_MS, timeout), signal: options.signal }
  const sockets: Socket[] = []
  const samples: MappingSample[] = []

  /** One Binding transaction; a silent observer is a sample without `mapped`. */
  const ask = async (socket: Socket, server: Endpoint): Promise<StunBindingResult | undefined> => {
    const local = { address: socket.address().address, port: socket.address().port }
    let result: StunBindingResult | undefined
    try {
      result = await stunBindingRequest({ host: server.address, port: server.port }, { ...request, socket })
    } catch (err) {
      if (!(err instanceof TimeoutError)) throw err
    }
    const sample = { server, local, ...(result != null ? { mapped: { address: result.address, port: result.port } } : {}) }
    samples.push(sample)
    options.onSample?.(sample)
    return result
  }

  /** A filtering test: did the answer from the changed address/port arrive? */
  const arrives = async (socket: Socket, server: Endpoint, change: { ip: boolean, port: boolean }): Promise<boolean> => {
    try {
      await stunBindingRequest({ host: server.address, port: server.port }, { ...request, socket, changeRequest: change })
      return true
    } catch (err) {
      if (err instanceof TimeoutError) return false
      throw err
    }
  }

  const fresh = async (): Promise<Socket> => {
    const s = await bind(options.localAddress)
    sockets.push(s)
    return s
  }

  try {
    const primary = servers[0] as Endpoint
    const main = await fresh()
    const first = await ask(main, primary)
    const other = first?.otherAddress
    // RFC 5780 §4.3: alternate address with the primary port (II), alternate address and port (III), then the primary address's other port
    const endpoints = other == null ? [] : [{ address: other.address, port: primary.port }, { address: other.address, port: other.port }, { address: primary.address, port: other.port }]
    for (const server of [...endpoints, ...servers.slice(1)]) await ask(main, server)

    // a silent primary observer would only be asked again in vain
    if (first != null) {
      for (let i = 0; i < allocationSockets; i++) await ask(await fresh(), primary)
    }
    options.onMapping?.(classifyNat({ localAddresses: hostAddresses(), samples: [...samples] }))

    let filtering: NatObservations['filtering']
    if (other != null) {
      // a fresh mapping that has only ever talked to the primary endpoint
      const socket = await fresh()
      if (await ask(socket, primary) != null) {
        filtering = { changeIpAndPort: await arrives(socket, primary, { ip: true, port: true }), changePort: await arrives(socket, primary, { ip: false, port: true }) }
      }
    }

    let hairpin: boolean | undefined
    if (options.hairpin !== false && first != null) {
      const token = randomBytes(8).toString('hex')
      const arrived = once(main, 'message', { signal: AbortSignal.timeout(DEFAULT_HAIRPIN_TIMEOUT_MS) })
        .then(([data]) => String(data) === token || (data as Buffer).includes(token))
        .catch(() => false)
      const sender = await fresh()
      sender.send(token, first.port, first.address)
      hairpin = await arrived
    }

    let tcp: TcpConnectBackObservation | undefined
    let tcpError: string | undefined
    if (options.connectBack != null) {
      try {
        const r = await tcpConnectBack(options.connectBack, { localAddress: options.localAddress })
        tcp = { observed: r.observed, target: r.target, result: r.result }
      } catch (err) {
        if (!(err instanceof ConnectBackError) && !(err instanceof TimeoutError)) throw err
        tcpError = err.message
      }
    }
    let lifetime: NatObservations['lifetime']
    if (lifetimeMaxMs > 0 && first != null) {
      lifetime = await probeLifetime(primary, lifetimeMaxMs, fresh, options.signal)
    }

    const observations: NatObservations = {
      localAddresses: hostAddresses(),
      samples,
      ...(filtering != null ? { filtering } : {}),
      ...(hairpin != null ? { hairpin } : {}),
      ...(tcp != null ? { tcp } : {}),
      ...(tcpError != null ? { tcpError } : {}),
      ...(lifetime != null ? { lifetime } : {})
    }
    return { observations, classification: classifyNat(observations) }
  } finally {
    for (const s of sockets) {
      try { s.close() } catch {}
    }
  }
}

/**
 * Fresh mappings, idle after one request each, ask `server` to answer after
 * max/4, max/2 and max ms (sent once: a retransmission would refresh the
 * mapping). An answer that arrives means the mapping outlived that idle time.
 * Undefined when the observer does not honour the delay (it answered early).
 */
async function probeLifetime (server: Endpoint, maxMs: number, fresh: () => Promise<Socket>, signal?: AbortSignal): Promise<NatObservations['lifetime']> {
  const delays = [...new Set([Math.round(maxMs / 4), Math.round(maxMs / 2), maxMs])].filter(ms => ms > 0)
  const outcomes = await Promise.all(delays.map(async (ms) => {
    const socket = await fresh()
    const started = Date.now()
    try {
      await stunBindingRequest({ host: server.address, port: server.port }, { socket, timeout: ms + DEFAULT_LIFETIME_MARGIN_MS, maxTransmissions: 1, signal, attributes: [{ type: StunAttribute.NatkitResponseDelay, value: encodeResponseDelay(ms) }] })
      return { ms, arrived: true, early: Date.now() - started < ms * 0.9 }
    } catch (err) {
      if (err instanceof TimeoutError) return { ms, arrived: false, early: false }
      throw err
    }
  }))
  if (outcomes.some(o => o.early)) return undefined
  const alive = outcomes.filter(o => o.arrived).map(o => o.ms)
  const aliveMs = alive.length > 0 ? Math.max(...alive) : undefined
  const gone = outcomes.filter(o => !o.arrived && (aliveMs == null || o.ms > aliveMs)).map(o => o.ms)
  return { ...(aliveMs != null ? { aliveMs } : {}), ...(gone.length > 0 ? { expiredMs: Math.min(...gone) } : {}) }
}
