// Issue 11, attack 7, run inside an isolated network namespace by
// ../autonat-amplification.test.ts (js-libp2p's AutoNAT server ignores
// private addresses, so the namespace gives its lo the "public looking"
// 11.0.9.1 (relay) and 11.0.9.2 (requester)).
// usage: node --conditions=source --import <TS_HOOKS> autonat-dials.ts
// Prints one JSON line: the relay's dial-backs per request, then exits.
import { resolveOptions } from '@natkit/config'
import { NatkitEvents } from '@natkit/events'
import { multiaddr } from '@multiformats/multiaddr'
import { createRelay } from '../../src/node.js'
import { RELAY_ROLE } from '../../src/options.js'
import { throwawayNode } from '@natkit/hostile'

const RELAY_IP = '11.0.9.1'
const REQUESTER_IP = '11.0.9.2'
const DIAL_REQUEST = '/libp2p/autonat/2/dial-request'
const REQUEST_TIMEOUT = 20_000

/** A varint-length-prefixed AutoNAT v2 `Message { dialRequest { addrs, nonce } }` (protobuf by hand). */
function dialRequest (addrs: Uint8Array[], nonce: bigint): Uint8Array {
  const varint = (n: number): number[] => { const out: number[] = []; do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7 } while (n > 0); return out }
  const nonceBytes = new Uint8Array(8)
  new DataView(nonceBytes.buffer).setBigUint64(0, nonce, true)
  const body = [...addrs.flatMap(a => [0x0a, ...varint(a.byteLength), ...a]), 0x11, ...nonceBytes]
  const msg = [0x0a, ...varint(body.length), ...body]
  return Uint8Array.from([...varint(msg.length), ...msg])
}

const relay = await createRelay(resolveOptions(RELAY_ROLE, { flags: { listen: [`/ip4/${RELAY_IP}/tcp/4001`], autonat: true, seed: 'autonat-dials' } }), new NatkitEvents())
await relay.start()
// count the server's dial-backs (they go to closed ports on the requester's IP, inside the namespace)
const cm = (relay.node as unknown as { components: { connectionManager: { openConnection: (...args: unknown[]) => Promise<unknown> } } }).components.connectionManager
let dials = 0
const openConnection = cm.openConnection.bind(cm)
cm.openConnection = async (...args: unknown[]) => { dials++; return await openConnection(...args) }

const requester = await throwawayNode(REQUESTER_IP)
const target = multiaddr(`/ip4/${RELAY_IP}/tcp/4001/p2p/${relay.peerId}`)

/** One request with `count` addresses on the requester's own IP; resolves with the dial-backs it caused. */
async function request (count: number, firstPort: number): Promise<number> {
  const before = dials
  const addrs = Array.from({ length: count }, (_, i) => multiaddr(`/ip4/${REQUESTER_IP}/tcp/${firstPort + i}`).bytes)
  const stream = await requester.dialProtocol(target, DIAL_REQUEST, { signal: AbortSignal.timeout(REQUEST_TIMEOUT) })
  const closed = new Promise<void>((resolve) => {
    stream.addEventListener('close', () => { resolve() }, { once: true })
    stream.addEventListener('remoteCloseWrite', () => { resolve() }, { once: true })
    setTimeout(resolve, REQUEST_TIMEOUT).unref()
  })
  stream.send(dialRequest(addrs, BigInt(firstPort)))
  await closed
  stream.abort(new Error('done'))
  return dials - before
}

const result = {
  request200: await request(200, 20_000),
  request60: await request(60, 21_000),
  requests20: 0
}
for (let i = 0; i < 20; i++) result.requests20 += await request(1, 22_000 + i)
process.stdout.write(JSON.stringify(result) + '\n')
await requester.stop()
await relay.stop()
process.exit(0)
