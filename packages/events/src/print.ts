import type { NatkitEvent, NatkitEvents } from './index.js'

/** One JSON object per line, keys in schema order: ts, event, peerId, payload. */
export function formatJson (e: NatkitEvent): string {
  return JSON.stringify(e)
}

const short = (id: string): string => id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id

const mib = (n: number): string => (n / 1048576).toFixed(1)
/** Width of the `file:progress` bar in characters. */
const PROGRESS_BAR_WIDTH = 20
function progressBar (bytes: number, total: number): string {
  const share = total > 0 ? Math.min(1, bytes / total) : 1
  const filled = Math.round(share * PROGRESS_BAR_WIDTH)
  return `[${'#'.repeat(filled)}${'.'.repeat(PROGRESS_BAR_WIDTH - filled)}] ${Math.floor(share * 100)} %`
}

/** A readable single line for people watching a terminal. */
export function formatHuman (e: NatkitEvent): string {
  const time = e.ts.slice(11, 23)
  let text: string
  switch (e.event) {
    case 'listening': text = `listening on ${e.addrs.length === 0 ? '(no addresses yet)' : e.addrs.join(', ')}`; break
    case 'peer:connect': text = `connected ${e.direction} ${short(e.remotePeer)} via ${e.remoteAddr}${e.limited ? ' (relayed, limited)' : ' (direct)'}`; break
    case 'peer:disconnect': text = `disconnected ${short(e.remotePeer)}`; break
    case 'reservation': text = `reservation on relay ${short(e.relay)} until ${new Date(e.expires).toISOString()}`; break
    case 'reservation:failed': text = `reservation on relay ${short(e.relay)} failed: ${e.reason}${e.retryInMs != null ? ` (retry in ${e.retryInMs} ms)` : ''}`; break
    case 'relay:reservation': text = `reservation granted to ${short(e.peer)} until ${new Date(e.expires).toISOString()}`; break
    case 'dial:result': text = `dial ${e.target}: ${e.outcome}${e.remoteAddr != null ? ` via ${e.remoteAddr}` : ''}${e.relayedRttMs != null ? `, relayed RTT ${e.relayedRttMs} ms` : ''}${e.directRttMs != null ? `, direct RTT ${e.directRttMs} ms` : ''}${e.timeToDirectMs != null ? `, direct after ${e.timeToDirectMs} ms` : ''}${e.path != null ? ` over ${e.path}` : ''}${e.reason != null ? ` (${e.reason})` : ''}${e.paths != null ? `; ${Object.entries(e.paths).map(([k, v]) => `${k}: ${v}`).join('; ')}` : ''}`; break
    case 'relay:reservation:refused': text = `reservation refused to ${short(e.peer)}: ${e.reason}`; break
    case 'relay:reservation:removed': text = `reservation of ${short(e.peer)} freed: ${e.reason}`; break
    case 'relay:stop:refused': text = `refused a relayed connection announced by ${short(e.relay)}: ${e.reason}${e.alsoRefused != null ? ` (${e.alsoRefused} more since the last report)` : ''}`; break
    case 'relay:advertised': text = `advertised this relay in the DHT (network ${e.network}, key ${e.cid}, ${e.servers} server(s))`; break
    case 'relay:discovery': text = e.error != null ? `relay lookup failed: ${e.error}` : `relay lookup: ${e.found} found, ${e.candidates.length} answered${e.candidates.length > 0 ? ` (${e.candidates.map(c => `${short(c.relay)} ${c.rttMs} ms`).join(', ')})` : ''} in ${e.ms} ms`; break
    case 'relay:selected': text = `using relay ${short(e.relay)}${e.rttMs != null ? ` (${e.rttMs} ms)` : ''}${e.replaces != null ? ` instead of ${short(e.replaces)}` : ''}`; break
    case 'relay:lost': text = `lost relay ${short(e.relay)}: ${e.reason}`; break
    case 'relay:circuit': text = `circuit ${short(e.src)} -> ${short(e.dst)}`; break
    case 'relay:circuit:closed': text = `circuit ${short(e.src)} -> ${short(e.dst)} closed (${e.reason}${e.message != null ? `: ${e.message}` : ''}) after ${e.bytes} bytes, ${e.ms} ms`; break
    case 'reachability': text = `${e.addr} is ${e.status}${e.server != null ? ` (asked ${short(e.server)})` : ''}`; break
    case 'holepunch:attempt': text = `hole punch attempt ${e.attempt}/${e.maxAttempts} with ${short(e.remotePeer)} as ${e.role}${e.rttMs != null ? `, relay RTT ${e.rttMs} ms` : ''} -> ${e.addrs.join(', ')}`; break
    case 'holepunch:success': text = `hole punch succeeded with ${short(e.remotePeer)} via ${e.remoteAddr} in ${e.ms} ms (attempt ${e.attempt})`; break
    case 'holepunch:failure': text = `hole punch failed with ${short(e.remotePeer)} after ${e.attempts} attempt(s): ${e.reason} - ${e.message}`; break
    case 'holepunch:refused': text = `refused a hole punch stream from ${short(e.remotePeer)}: ${e.message}${e.alsoRefused != null ? ` (${e.alsoRefused} more since the last report)` : ''}`; break
    case 'holepunch:retry': text = `hole punch with ${short(e.remotePeer)} retries in ${e.delayMs} ms (round ${e.round}/${e.maxRounds}, after ${e.reason})`; break
    case 'relayed:expiring': text = `relayed connection to ${short(e.remotePeer)} nears its ${e.limit} limit: ${e.message}`; break
    case 'upnp:mapped': text = `UPnP: ${e.internal} is reachable as ${e.external} (gateway ${e.gateway}, after ${e.ms} ms)`; break
    case 'upnp:failed': text = `UPnP: no port mapping (${e.reason}): ${e.message}${e.retryInMs != null ? `; searching again in ${e.retryInMs} ms` : ''}`; break
    case 'ping': text = `ping ${short(e.remotePeer)} ${e.rttMs} ms over ${e.limited ? 'relay' : 'direct'} ${e.remoteAddr}`; break
    case 'pubsub:message': text = `[${e.topic}] ${short(e.from)}: ${e.text}`; break
    case 'pubsub:peer': text = `${short(e.peer)} ${e.subscribed ? 'joined' : 'left'} ${e.topic}`; break
    case 'message': text = `<${short(e.from)}> ${e.text}`; break
    case 'file:shared': text = `sharing ${e.path} as ${e.cid} (${e.bytes} bytes)`; break
    case 'file:progress': text = `${e.cid.slice(0, 12)}… ${progressBar(e.bytes, e.total)} ${mib(e.bytes)}/${mib(e.total)} MiB${e.bytesPerSecond != null ? ` ${mib(e.bytesPerSecond)} MiB/s` : ''}${e.etaMs != null ? ` ETA ${Math.ceil(e.etaMs / 1000)} s` : ''}`; break
    case 'file:waiting': text = `${e.cid.slice(0, 12)}… waiting: ${e.message}`; break
    case 'file:received': text = `received ${e.path} (${e.bytes} bytes, ${e.cid}) from ${short(e.from)}, verified`; break
    case 'command:result': return e.lines.join('\n')
    case 'command:error': text = `${e.command !== '' ? `${e.command}: ` : ''}${e.message}`; break
    case 'nat': text = `NAT: ${e.natted === false ? 'none (public address)' : `mapping ${e.mapping}, filtering ${e.filtering}`}, allocation ${e.allocation}${e.stride != null ? ` (stride ${e.stride})` : ''}, unsolicited inbound TCP ${e.inbound}${e.hairpin != null ? `, hairpinning ${e.hairpin ? 'yes' : 'no'}` : ''}${e.lifetime != null ? `, mapping lifetime ${e.lifetime.minMs != null ? `>= ${e.lifetime.minMs} ms` : ''}${e.lifetime.minMs != null && e.lifetime.maxMs != null ? ' and ' : ''}${e.lifetime.maxMs != null ? `< ${e.lifetime.maxMs} ms` : ''}` : ''}${e.publicAddress != null ? `; public address ${e.publicAddress}` : ''}`; break
    case 'info': case 'warn': case 'error': text = e.message; break
  }
  const level = e.event === 'error' || e.event === 'command:error' ? 'ERROR ' : e.event === 'warn' ? 'WARN ' : ''
  return `${time} ${level}${text}`
}

export interface PrinterOptions {
  /** Print JSON lines instead of human lines. @default false */
  json?: boolean
  /** Where lines go. @default process.stdout */
  out?: { write: (s: string) => unknown }
  /** Human mode only: drop these events (e.g. `ping`) to keep output readable. */
  quiet?: string[]
}

/** Attaches a printer to an event bus; returns a function that detaches it. */
export function createPrinter (events: NatkitEvents, opts: PrinterOptions = {}): () => void {
  const out = opts.out ?? process.stdout
  const quiet = new Set(opts.quiet ?? [])
  return events.onAny((e) => {
    if (opts.json === true) {
      out.write(formatJson(e) + '\n')
    } else if (!quiet.has(e.event)) {
      out.write(formatHuman(e) + '\n')
    }
  })
}
