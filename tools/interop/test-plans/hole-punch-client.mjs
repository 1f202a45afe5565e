#!/usr/bin/env node
/**
 * natkit's client for libp2p/test-plans `hole-punch-interop` (the suite's
 * `hole-punch-client`). Reads the suite's environment:
 *
 *   MODE=listen|dial   TRANSPORT=tcp|quic   REDIS_ADDR=host:port (default redis:6379)
 *
 * and the redis keys the suite's relay and listener fill: RELAY_TCP_ADDRESS
 * (the relay's multiaddr, pushed once per client) and LISTEN_CLIENT_PEER_ID.
 * Runs `natkit-peer` (NATKIT_PEER_BIN, default this checkout's
 * apps/peer/bin/natkit-peer.js) with the Node binary running this script.
 * The dialer prints `{"rtt_to_holepunched_peer_millis":N}` on stdout and exits
 * 0 once the connection is direct; everything else goes to stderr. The
 * listener runs until SIGTERM/SIGINT. QUIC is not supported by natkit: exit 1.
 */
import { spawn } from 'node:child_process'
import { createConnection } from 'node:net'
import { fileURLToPath } from 'node:url'

/** Redis list keys of the suite. */
export const RELAY_TCP_ADDRESS = 'RELAY_TCP_ADDRESS'
export const LISTEN_CLIENT_PEER_ID = 'LISTEN_CLIENT_PEER_ID'
/** The suite's redis host (a docker-compose service). */
export const DEFAULT_REDIS_ADDR = 'redis:6379'
/** Bound on each BLPOP (the suite kills a run after 60 s; natkit waits at most this long). */
export const DEFAULT_REDIS_WAIT_S = 90
/** TCP port natkit listens on and reuses for dials. */
export const DEFAULT_LISTEN_PORT = 4100
/** Bound on the dialer reaching a direct connection. */
export const DEFAULT_DIAL_TIMEOUT_MS = 30_000
/** Most bytes of one redis reply this client accepts. */
const MAX_REPLY_BYTES = 64 * 1024

const log = (msg) => { process.stderr.write(`natkit hole-punch-client: ${msg}\n`) }
const die = (msg, code = 1) => { log(msg); process.exit(code) }

/** Encodes a RESP command. */
const resp = (args) => `*${args.length}\r\n${args.map(a => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`

/** Parses one RESP reply from the start of `buf`: [value, rest] or undefined when incomplete. */
function parseReply (buf) {
  const eol = buf.indexOf('\r\n')
  if (eol < 0) return undefined
  const type = buf[0]
  const line = buf.slice(1, eol)
  const rest = buf.slice(eol + 2)
  if (type === '+') return [line, rest]
  if (type === '-') return [new Error(`redis: ${line}`), rest]
  if (type === ':') return [Number(line), rest]
  if (type === '$') {
    const n = Number(line)
    if (n < 0) return [null, rest]
    if (rest.length < n + 2) return undefined
    return [rest.slice(0, n), rest.slice(n + 2)]
  }
  if (type === '*') {
    const n = Number(line)
    if (n < 0) return [null, rest]
    const items = []
    let r = rest
    for (let i = 0; i < n; i++) {
      const p = parseReply(r)
      if (p == null) return undefined
      items.push(p[0]); r = p[1]
    }
    return [items, r]
  }
  throw new Error(`redis: unexpected reply type ${JSON.stringify(type)}`)
}

/** A minimal redis client: one command at a time over one connection. */
async function redisConnect (addr) {
  const i = addr.lastIndexOf(':')
  const host = i > 0 ? addr.slice(0, i) : addr
  const port = i > 0 ? Number(addr.slice(i + 1)) : 6379
  if (!Number.isInteger(port) || port <= 0 || port > 65535) die(`invalid REDIS_ADDR "${addr}" (host:port)`, 2)
  const socket = createConnection({ host, port })
  socket.setEncoding('utf8')
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    .catch(err => die(`cannot connect to redis at ${addr}: ${err.message}`))
  let buf = ''
  let pending
  socket.on('data', (d) => {
    buf += d
    if (buf.length > MAX_REPLY_BYTES) { pending?.reject(new Error('redis reply too long')); return }
    const p = parseReply(buf)
    if (p != null && pending != null) { buf = p[1]; const { resolve } = pending; pending = undefined; resolve(p[0]) }
  })
  socket.on('error', (err) => { pending?.reject(err) })
  socket.on('close', () => { pending?.reject(new Error('redis connection closed')) })
  return {
    async cmd (...args) {
      const { promise, resolve, reject } = Promise.withResolvers()
      pending = { resolve, reject }
      socket.write(resp(args))
      const v = await promise
      if (v instanceof Error) throw v
      return v
    },
    close () { socket.destroy() }
  }
}

/** BLPOP with the bound DEFAULT_REDIS_WAIT_S; returns the value. */
async function blpop (redis, key) {
  const reply = await redis.cmd('BLPOP', key, String(DEFAULT_REDIS_WAIT_S))
  if (reply == null) die(`nothing under redis key ${key} within ${DEFAULT_REDIS_WAIT_S} s`)
  return reply[1]
}

/** Runs natkit-peer with `args`; calls onEvent for each JSON event, copies everything to stderr. */
function natkitPeer (args, onEvent) {
  const bin = process.env.NATKIT_PEER_BIN ?? fileURLToPath(new URL('../../../apps/peer/bin/natkit-peer.js', import.meta.url))
  const child = spawn(process.execPath, [bin, ...args, '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NO_COLOR: '1' } })
  let buf = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (d) => {
    buf += d
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1)
      process.stderr.write(`${line}\n`)
      try { onEvent(JSON.parse(line)) } catch {}
    }
  })
  child.once('error', (err) => die(`cannot run natkit-peer: ${err.message}`))
  return child
}

async function main () {
  const mode = process.env.MODE
  const transport = process.env.TRANSPORT ?? 'tcp'
  if (mode !== 'listen' && mode !== 'dial') die(`MODE must be listen or dial, got ${JSON.stringify(mode ?? '')}`, 2)
  if (transport === 'quic') die('TRANSPORT=quic is not supported: natkit hole-punches over TCP only (no QUIC hole punching in js-libp2p)', 1)
  if (transport !== 'tcp') die(`TRANSPORT must be tcp or quic, got ${JSON.stringify(transport)}`, 2)
  const redis = await redisConnect(process.env.REDIS_ADDR ?? DEFAULT_REDIS_ADDR)
  const relay = await blpop(redis, RELAY_TCP_ADDRESS)
  log(`relay ${relay}`)
  const common = ['--listen', `/ip4/0.0.0.0/tcp/${DEFAULT_LISTEN_PORT}`, '--relay', relay, '--no-webrtc', '--no-dht']

  if (mode === 'listen') {
    let pushed = false
    const child = natkitPeer(['run', ...common], (e) => {
      if (e.event === 'reservation' && !pushed) {
        pushed = true
        redis.cmd('RPUSH', LISTEN_CLIENT_PEER_ID, e.peerId).then(() => { log(`reserved; pushed ${e.peerId}`) }, (err) => die(`RPUSH failed: ${err.message}`))
      }
    })
    const stop = () => { child.kill('SIGTERM') }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
    child.once('close', (code) => { redis.close(); process.exit(code == null || code === 0 ? 0 : code) })
    return
  }

  const peer = await blpop(redis, LISTEN_CLIENT_PEER_ID)
  redis.close()
  const target = `${relay}/p2p-circuit/p2p/${peer}`
  log(`dialling ${target}`)
  let result
  const child = natkitPeer(['dial', target, '--timeout', `${DEFAULT_DIAL_TIMEOUT_MS}ms`, ...common], (e) => { if (e.event === 'dial:result') result = e })
  process.once('SIGTERM', () => { child.kill('SIGTERM') })
  const code = await new Promise((resolve) => child.once('close', resolve))
  if (result?.outcome !== 'direct') die(`no hole-punched connection (natkit-peer exit ${code}, outcome ${result?.outcome ?? 'none'}: ${result?.reason ?? ''})`)
  if (typeof result.directRttMs !== 'number') die('direct connection, but no RTT was measured on it')
  process.stdout.write(`${JSON.stringify({ rtt_to_holepunched_peer_millis: Math.round(result.directRttMs) })}\n`)
  process.exit(0)
}

main().catch((err) => die(err.message))
