import { createServer, type Server } from 'node:http'
import client from 'prom-client'
import { UserError, type NatkitEvents } from '@natkit/events'

/** Bound on one scrape response time. */
export const DEFAULT_METRICS_REQUEST_TIMEOUT = 5_000

/** `--metrics` cannot be served (address in use, not local, ...): a usage problem. */
export class MetricsListenError extends UserError {
  static override name = 'MetricsListenError'
  override name = 'MetricsListenError'
}

/**
 * natkit's own counters, fed from the event stream, on the same registry the
 * libp2p prometheus metrics use.
 */
export function registerRoleCounters (events: NatkitEvents): () => void {
  const get = <T>(name: string, make: () => T): T => (client.register.getSingleMetric(name) as T | undefined) ?? make()
  const reservations = get('natkit_reservations_total', () => new client.Counter({ name: 'natkit_reservations_total', help: 'Relay reservations made (peer) or granted (relay), renewals included', labelNames: ['side'] }))
  const reservationFailures = get('natkit_reservation_failures_total', () => new client.Counter({ name: 'natkit_reservation_failures_total', help: 'Failed or lost relay reservations' }))
  const refusals = get('natkit_relay_reservation_refusals_total', () => new client.Counter({ name: 'natkit_relay_reservation_refusals_total', help: 'Reservations this relay refused, by HOP status, per-ip or per-network limit (no-response: the answer could not be sent)', labelNames: ['reason'] }))
  const removed = get('natkit_relay_reservations_removed_total', () => new client.Counter({ name: 'natkit_relay_reservations_removed_total', help: 'Reservations this relay freed before their TTL (disconnected: the peer stayed away for the grace period)', labelNames: ['reason'] }))
  const circuits = get('natkit_relay_circuits_total', () => new client.Counter({ name: 'natkit_relay_circuits_total', help: 'Circuits established through this relay' }))
  const circuitsClosed = get('natkit_relay_circuits_closed_total', () => new client.Counter({ name: 'natkit_relay_circuits_closed_total', help: 'Circuits through this relay that ended', labelNames: ['reason'] }))
  const circuitBytes = get('natkit_relay_circuit_bytes_total', () => new client.Counter({ name: 'natkit_relay_circuit_bytes_total', help: 'Bytes relayed by ended circuits (both directions)' }))
  const holepunch = get('natkit_holepunch_total', () => new client.Counter({ name: 'natkit_holepunch_total', help: 'Hole punch outcomes', labelNames: ['outcome', 'reason'] }))
  const offs = [
    events.on('reservation', () => { reservations.inc({ side: 'peer' }) }),
    events.on('relay:reservation', () => { reservations.inc({ side: 'relay' }) }),
    events.on('reservation:failed', () => { reservationFailures.inc() }),
    events.on('relay:reservation:refused', (e) => { refusals.inc({ reason: e.limit ?? (/^[A-Z_]+$/.test(e.reason) ? e.reason : 'no-response') }) }),
    events.on('relay:reservation:removed', (e) => { removed.inc({ reason: e.reason }) }),
    events.on('relay:circuit', () => { circuits.inc() }),
    events.on('relay:circuit:closed', (e) => { circuitsClosed.inc({ reason: e.reason }); circuitBytes.inc(e.bytes) }),
    events.on('holepunch:success', () => { holepunch.inc({ outcome: 'success', reason: '' }) }),
    events.on('holepunch:failure', (e) => { holepunch.inc({ outcome: 'failure', reason: e.reason }) })
  ]
  return () => { offs.forEach(off => { off() }) }
}

/** Serves `GET /metrics` in Prometheus text format on host:port. */
export async function startMetricsServer (host: string, port: number): Promise<{ server: Server, url: string, close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end('not found\n')
      return
    }
    client.register.metrics().then((text) => {
      res.writeHead(200, { 'content-type': client.register.contentType }).end(text)
    }, (err: Error) => {
      res.writeHead(500).end(`metrics error: ${err.message}\n`)
    })
  })
  server.requestTimeout = DEFAULT_METRICS_REQUEST_TIMEOUT
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => { reject(new MetricsListenError(`cannot serve metrics on ${host}:${port}: ${err.message}`)) })
    server.listen(port, host, () => { resolve() })
  })
  const addr = server.address()
  const actualPort = typeof addr === 'object' && addr != null ? addr.port : port
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}/metrics`,
    close: async () => { await new Promise<void>((resolve) => { server.close(() => { resolve() }); server.closeAllConnections() }) }
  }
}
