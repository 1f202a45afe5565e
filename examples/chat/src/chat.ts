/**
 * Two peers behind NATs chat over a direct, hole-punched TCP connection.
 *
 * Everything is stock js-libp2p except two natkit pieces: `tcpReuse()` dials
 * from the listening port (so the NAT mapping the relay observes is the one
 * the other peer can punch to) and `holePunch()` upgrades the relayed
 * connection to a direct one (DCUtR).
 *
 *   listener: node dist/chat.js --relay <relay multiaddr>
 *   dialer:   node dist/chat.js --relay <relay multiaddr> --dial <the listener's /p2p-circuit address>
 *
 * Type a line and press enter to send it to the other peer.
 */
import { BlockList } from 'node:net'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { holePunch } from '@natkit/holepunch'
import { tcpReuse } from '@natkit/tcp-reuse'
import { createLibp2p } from 'libp2p'
import type { Connection, Libp2pEvents, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The chat protocol: UTF-8 lines, each ended by `\n`. */
export const CHAT_PROTOCOL = '/natkit-example/chat/1.0.0'
/** How long to wait for the relay reservation and for the direct connection. */
export const WAIT_TIMEOUT_MS = 30_000
/** Networks the example may dial besides `--allow` ones: loopback and private (RFC 1918). */
export const DEFAULT_ALLOWED_NETWORKS = ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']

function fail (message: string): never {
  console.error(`chat: ${message}`)
  process.exit(2)
}

const { values: args } = parseArgs({
  options: {
    relay: { type: 'string' },
    dial: { type: 'string' },
    listen: { type: 'string', default: '/ip4/0.0.0.0/tcp/0' },
    allow: { type: 'string', multiple: true, default: [] }
  }
})
if (args.relay == null) fail('usage: chat --relay <multiaddr> [--dial <peer /p2p-circuit multiaddr>] [--listen <multiaddr>] [--allow <IPv4 CIDR>]...')

// The connection gater only lets the node dial loopback, private and --allow
// networks (e.g. a lab's), so this example never reaches the internet. A real
// app would drop it or deny what it must not dial.
const allowed = new BlockList()
for (const cidr of [...DEFAULT_ALLOWED_NETWORKS, ...args.allow]) {
  const [net, bits] = cidr.split('/')
  try { allowed.addSubnet(net, Number(bits), 'ipv4') } catch { fail(`invalid --allow "${cidr}": expected an IPv4 CIDR like 11.0.0.0/16`) }
}
const isAllowed = (ma: Multiaddr): boolean => {
  const ip = ma.getComponents().find(c => c.name === 'ip4')?.value
  return ip != null && allowed.check(ip, 'ipv4')
}

const node = await createLibp2p({
  addresses: { listen: [args.listen, ...(args.dial == null ? ['/p2p-circuit'] : [])] },
  transports: [tcpReuse(), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: { denyDialMultiaddr: (ma) => !isAllowed(ma) },
  services: { identify: identify(), ping: ping(), holePunch: holePunch() }
})
console.log(`peer id ${node.peerId}`)
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { void (async () => { await node.stop(); process.exit(0) })() })

/** Resolves with `check()`'s first value, checked now and on every `event`; bounded by WAIT_TIMEOUT_MS. */
async function when<T> (event: keyof Libp2pEvents, check: () => T | undefined, what: string): Promise<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>()
  const test = (): void => { const v = check(); if (v !== undefined) resolve(v) }
  const timer = setTimeout(() => { reject(new Error(`no ${what} within ${WAIT_TIMEOUT_MS} ms`)) }, WAIT_TIMEOUT_MS)
  node.addEventListener(event, test)
  test()
  return promise.finally(() => { clearTimeout(timer); node.removeEventListener(event, test) })
}

/** Sends stdin's lines on the stream and prints the lines that arrive. */
function chat (stream: Stream, conn: Connection): void {
  console.log(`chatting with ${conn.remotePeer} over ${conn.remoteAddr}`)
  const encoder = new TextEncoder()
  const input = createInterface({ input: process.stdin })
  input.on('close', () => { void stream.close().catch(() => {}) })
  input.on('line', (line) => {
    try {
      // false: the stream's send buffer is full; read no more input until it drains
      if (!stream.send(encoder.encode(`${line}\n`))) { input.pause(); stream.onDrain().then(() => input.resume(), () => {}) }
    } catch (err) {
      console.error(`chat: cannot send: ${(err as Error).message}`)
      input.close()
    }
  })
  void (async () => {
    const decoder = new TextDecoder()
    let pending = ''
    for await (const chunk of stream) {
      const lines = (pending + decoder.decode(chunk.subarray(), { stream: true })).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) console.log(`${conn.remotePeer.toString().slice(-6)}> ${line}`)
    }
    console.log(`${conn.remotePeer} closed the chat`)
  })().catch((err: Error) => { console.error(`chat: stream failed: ${err.message}`) })
}

try {
  if (args.dial == null) {
    // Stock libp2p runs handlers only on unlimited (direct) connections, so no chat goes through the relay.
    await node.handle(CHAT_PROTOCOL, chat)
    await node.dial(multiaddr(args.relay))
    const circuit = await when('self:peer:update', () => node.getMultiaddrs().find(ma => ma.toString().includes('/p2p-circuit')), 'relay reservation')
    console.log(`listening on ${circuit}`)
  } else {
    const relayed = await node.dial(multiaddr(args.dial))
    console.log(`relayed connection to ${relayed.remotePeer} via ${relayed.remoteAddr}`)
    // the listener's holePunch service starts the upgrade; wait for the direct connection it makes
    const direct = await when('connection:open', () => node.getConnections(relayed.remotePeer).find(c => c.limits == null), 'direct connection')
    console.log(`direct connection to ${direct.remotePeer} at ${direct.remoteAddr}`)
    chat(await direct.newStream(CHAT_PROTOCOL), direct)
  }
} catch (err) {
  await node.stop()
  fail((err as Error).message)
}
