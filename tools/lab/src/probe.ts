/**
 * Tiny plain-Node network probes (no libp2p) run inside lab namespaces to
 * check what the NAT does. Each prints one JSON object per line with a
 * `probe` field and bounds its own lifetime.
 */
import { LineProcess } from './procs.js'
import type { Lab } from './netns.js'
import type { Host } from './topology.js'

/** Longest a server/agent probe lives if nobody stops it. */
export const DEFAULT_PROBE_LIFETIME_MS = 60_000
/** Default connect/reply timeout of client probes. */
export const DEFAULT_PROBE_TIMEOUT_MS = 2_000

export class ProbeFailedError extends Error {
  override name = 'ProbeFailedError'
}

export interface ProbeLine {
  probe: string
  [key: string]: unknown
}

/** TCP server: answers each connection with `seen <ip> <port>` (the source it saw) and closes. */
const TCP_SERVER = `
const net = require('node:net')
const [port, life] = process.argv.slice(1).map(Number)
const out = o => process.stdout.write(JSON.stringify(o) + '\\n')
const srv = net.createServer(s => {
  out({ probe: 'accepted', ip: s.remoteAddress, port: s.remotePort })
  s.on('error', () => {})
  s.end('seen ' + s.remoteAddress + ' ' + s.remotePort + '\\n')
})
srv.listen(port, '0.0.0.0', () => out({ probe: 'listening', port }))
setTimeout(() => process.exit(0), life).unref()
`

/** UDP server: answers each datagram with `echo <msg> <ip> <port>` from the same socket. */
const UDP_SERVER = `
const dgram = require('node:dgram')
const [port, life] = process.argv.slice(1).map(Number)
const out = o => process.stdout.write(JSON.stringify(o) + '\\n')
const s = dgram.createSocket('udp4')
s.on('message', (m, r) => {
  out({ probe: 'datagram', ip: r.address, port: r.port, msg: m.toString() })
  s.send('echo ' + m.toString() + ' ' + r.address + ' ' + r.port, r.port, r.address)
})
s.bind(port, '0.0.0.0', () => out({ probe: 'listening', port }))
setTimeout(() => process.exit(0), life).unref()
`

/** TCP client: connects (optionally from a fixed local port), prints the reply or the error. */
const TCP_CLIENT = `
const net = require('node:net')
const [host, port, localPort, timeout] = process.argv.slice(1)
const out = o => process.stdout.write(JSON.stringify(o) + '\\n')
const opts = { host, port: Number(port) }
if (Number(localPort) > 0) opts.localPort = Number(localPort)
const s = net.connect(opts)
let data = ''
const t = setTimeout(() => { out({ probe: 'error', code: 'TIMEOUT' }); process.exit(1) }, Number(timeout))
s.on('connect', () => out({ probe: 'connected', localPort: s.localPort }))
s.on('data', d => { data += d })
s.on('end', () => { clearTimeout(t); out({ probe: 'reply', reply: data.trim() }); process.exit(0) })
s.on('error', e => { clearTimeout(t); out({ probe: 'error', code: e.code }); process.exit(1) })
`

/**
 * UDP agent: one socket bound to a fixed port; stdin lines `send <host> <port> <msg>`
 * send from it; every received datagram is printed.
 */
const UDP_AGENT = `
const dgram = require('node:dgram')
const [port, life] = process.argv.slice(1).map(Number)
const out = o => process.stdout.write(JSON.stringify(o) + '\\n')
const s = dgram.createSocket('udp4')
s.on('message', (m, r) => out({ probe: 'datagram', ip: r.address, port: r.port, msg: m.toString() }))
s.bind(port, '0.0.0.0', () => out({ probe: 'ready', port: s.address().port }))
let buf = ''
process.stdin.on('data', d => {
  buf += d
  let i
  while ((i = buf.indexOf('\\n')) >= 0) {
    const [cmd, host, p, msg] = buf.slice(0, i).trim().split(' ')
    buf = buf.slice(i + 1)
    if (cmd === 'send') s.send(msg, Number(p), host, () => out({ probe: 'sent', host, port: Number(p), msg }))
  }
})
setTimeout(() => process.exit(0), life).unref()
`

/** UDP one-shot sender (optionally from a fixed local port). */
const UDP_SEND = `
const dgram = require('node:dgram')
const [host, port, msg, localPort] = process.argv.slice(1)
const s = dgram.createSocket('udp4')
s.bind(Number(localPort) || 0, '0.0.0.0', () => s.send(msg, Number(port), host, (err) => {
  process.stdout.write(JSON.stringify({ probe: err ? 'error' : 'sent', code: err?.code }) + '\\n')
  s.close()
}))
`

/**
 * UDP client on a connected socket: sends `msg` up to `count` times, `interval`
 * ms apart, and prints the first reply, or the first socket error (an ICMP
 * port unreachable surfaces as ECONNREFUSED on a connected socket), or a
 * timeout.
 */
const UDP_CONNECTED = `
const dgram = require('node:dgram')
const [host, port, msg, count, interval, timeout] = process.argv.slice(1)
const out = o => process.stdout.write(JSON.stringify(o) + '\\n')
const s = dgram.createSocket('udp4')
const t = setTimeout(() => { out({ probe: 'error', code: 'TIMEOUT' }); process.exit(1) }, Number(timeout))
s.on('error', e => { clearTimeout(t); out({ probe: 'error', code: e.code }); process.exit(1) })
s.on('message', m => { clearTimeout(t); out({ probe: 'reply', reply: m.toString() }); process.exit(0) })
s.connect(Number(port), host, () => {
  let sent = 0
  const send = () => { if (sent++ < Number(count)) { s.send(msg); setTimeout(send, Number(interval)).unref() } }
  send()
})
`

/** Parses probe output lines (ignores anything that is not a probe JSON object). */
export function probeLines (lines: string[]): ProbeLine[] {
  const result: ProbeLine[] = []
  for (const l of lines) {
    try {
      const v = JSON.parse(l)
      if (v != null && typeof v.probe === 'string') result.push(v)
    } catch {}
  }
  return result
}

/** A long-running probe (server or agent) with helpers to wait for its output. */
export class Probe extends LineProcess {
  get records (): ProbeLine[] {
    return probeLines(this.lines)
  }

  async waitFor (predicate: (p: ProbeLine) => boolean, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS * 5): Promise<ProbeLine> {
    const line = await this.waitForLine(l => probeLines([l]).some(predicate), timeoutMs)
    return probeLines([line])[0] as ProbeLine
  }
}

function node (lab: Lab, host: string | Host, script: string, args: Array<string | number>): Probe {
  return new Probe(lab, host, process.execPath, ['-e', script, ...args.map(String)], { label: `probe in ${typeof host === 'string' ? host : host.name}` })
}

/** Starts a TCP server probe and waits until it listens. */
export async function tcpServer (lab: Lab, host: string | Host, port: number, lifetimeMs = DEFAULT_PROBE_LIFETIME_MS): Promise<Probe> {
  const p = node(lab, host, TCP_SERVER, [port, lifetimeMs])
  await p.waitFor(r => r.probe === 'listening')
  return p
}

/** Starts a UDP echo server probe and waits until it listens. */
export async function udpServer (lab: Lab, host: string | Host, port: number, lifetimeMs = DEFAULT_PROBE_LIFETIME_MS): Promise<Probe> {
  const p = node(lab, host, UDP_SERVER, [port, lifetimeMs])
  await p.waitFor(r => r.probe === 'listening')
  return p
}

/** Starts a UDP agent bound to `port` and waits until it is ready. */
export async function udpAgent (lab: Lab, host: string | Host, port: number, lifetimeMs = DEFAULT_PROBE_LIFETIME_MS): Promise<Probe> {
  const p = node(lab, host, UDP_AGENT, [port, lifetimeMs])
  await p.waitFor(r => r.probe === 'ready')
  return p
}

export interface TcpConnectResult {
  connected: boolean
  /** `seen <ip> <port>` from a tcpServer probe. */
  reply?: string
  /** Source the server saw, parsed from the reply. */
  seen?: { ip: string, port: number }
  error?: string
}

/** Connects from `host` to `target:port` (from `localPort` if > 0). */
export async function tcpConnect (lab: Lab, host: string | Host, target: string, port: number, opts: { localPort?: number, timeoutMs?: number } = {}): Promise<TcpConnectResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS
  const r = await lab.run(host, process.execPath, ['-e', TCP_CLIENT, target, String(port), String(opts.localPort ?? 0), String(timeoutMs)], { timeoutMs: timeoutMs + 5_000 })
  const records = probeLines(r.stdout.split('\n'))
  const reply = records.find(p => p.probe === 'reply')?.reply as string | undefined
  const error = records.find(p => p.probe === 'error')?.code as string | undefined
  const m = reply != null ? /^seen (\S+) (\d+)$/.exec(reply) : null
  return {
    connected: records.some(p => p.probe === 'connected'),
    reply,
    seen: m != null ? { ip: m[1] as string, port: Number(m[2]) } : undefined,
    error: error ?? (r.timedOut ? 'TIMEOUT' : undefined)
  }
}

export interface UdpConnectedResult {
  /** The first datagram that came back. */
  reply?: string
  /** `ECONNREFUSED`: an ICMP port unreachable came back; `TIMEOUT`: nothing came back. */
  error?: string
}

/** Datagrams {@link udpConnectedSend} sends. @default 3 */
export const DEFAULT_UDP_CONNECTED_COUNT = 3
/** Gap between the datagrams {@link udpConnectedSend} sends. @default 200 */
export const DEFAULT_UDP_CONNECTED_INTERVAL_MS = 200

/**
 * Sends datagrams from `host` to `target:port` on a connected UDP socket and
 * reports what came back: a reply, an ICMP port unreachable (`ECONNREFUSED`)
 * or nothing (`TIMEOUT`).
 */
export async function udpConnectedSend (lab: Lab, host: string | Host, target: string, port: number, msg: string, opts: { timeoutMs?: number } = {}): Promise<UdpConnectedResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS
  const r = await lab.run(host, process.execPath, ['-e', UDP_CONNECTED, target, String(port), msg, String(DEFAULT_UDP_CONNECTED_COUNT), String(DEFAULT_UDP_CONNECTED_INTERVAL_MS), String(timeoutMs)], { timeoutMs: timeoutMs + 5_000 })
  const records = probeLines(r.stdout.split('\n'))
  const reply = records.find(p => p.probe === 'reply')?.reply as string | undefined
  const error = records.find(p => p.probe === 'error')?.code as string | undefined
  return { reply, error: error ?? (reply == null ? 'TIMEOUT' : undefined) }
}

/** Sends one UDP datagram from `host` (from `localPort` if > 0) and waits until it left the socket. */
export async function udpSend (lab: Lab, host: string | Host, target: string, port: number, msg: string, localPort = 0): Promise<void> {
  const r = await lab.run(host, process.execPath, ['-e', UDP_SEND, target, String(port), msg, String(localPort)], { timeoutMs: DEFAULT_PROBE_TIMEOUT_MS + 5_000 })
  if (!r.stdout.includes('"sent"')) throw new ProbeFailedError(`udp send from ${typeof host === 'string' ? host : host.name} failed: ${r.stdout} ${r.stderr}`)
}
