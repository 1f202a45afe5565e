/**
 * Honest clients, run after the fuzzing: each proves one service still
 * answers a well-formed request with a well-formed answer.
 */
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { decodeAutoNATMessage, encodeAutoNATMessage, RESPONSE_STATUS } from '@natkit/autonat-check'
import { decodeHolePunch, encodeHolePunch, HOLEPUNCH_PROTOCOL } from '@natkit/holepunch'
import { pingConnection } from '@natkit/node'
import { stunBindingRequest } from '@natkit/stun'
import { reader as createReader } from 'protons-runtime'
import { KAD, kadMessage, RELAY } from './messages.js'
import { Rng } from './rng.js'
import { AUTONAT_DIAL_REQUEST_PROTOCOL, RELAY_V2_HOP_PROTOCOL } from './stream-targets.js'
import { readFile } from 'node:fs/promises'
import type { DirectMessageEvent, DirectMessages } from '@natkit/direct-message'
import type { FileShare } from '@natkit/file-share'
import type { Connection, Libp2p } from '@libp2p/interface'

/**
 * Time one honest request may take.
 *
 * @default 10000
 */
export const DEFAULT_HONEST_TIMEOUT_MS = 10_000

/** The honest client's request was not served: one line saying what came back. */
export class NotServedError extends Error {
  static override name = 'NotServedError'
  override name = 'NotServedError'
}

/** A ping round trip; resolves with the RTT in ms. */
export async function honestPing (conn: Connection): Promise<number> {
  return await pingConnection(conn, { signal: AbortSignal.timeout(DEFAULT_HONEST_TIMEOUT_MS) })
}

/** Opens `protocol`, writes one length-prefixed `body`, resolves with the first answer frame. */
async function request (conn: Connection, protocol: string, body: Uint8Array): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(DEFAULT_HONEST_TIMEOUT_MS)
  const stream = await conn.newStream(protocol, { signal, runOnLimitedConnection: conn.limits != null })
  try {
    const lp = lpStream(stream)
    await lp.write(body, { signal })
    return (await lp.read({ signal })).subarray()
  } finally {
    stream.abort(new Error('honest request done'))
  }
}

/** A HOP RESERVE; the relay must answer STATUS OK. */
export async function honestReservation (conn: Connection): Promise<void> {
  const answer = await request(conn, RELAY_V2_HOP_PROTOCOL, Uint8Array.from([0x08, RELAY.HOP_RESERVE]))
  // HopMessage: type = 1 (varint), status = 5 (varint); other fields skipped
  const r = createReader(answer)
  let type: number | undefined
  let status: number | undefined
  while (r.pos < r.len) {
    const tag = r.uint32()
    if (tag === (1 << 3)) type = r.uint32()
    else if (tag === (5 << 3)) status = r.uint32()
    else r.skipType(tag & 7)
  }
  if (type !== RELAY.HOP_STATUS || status !== RELAY.OK) throw new NotServedError(`the relay answered RESERVE with type ${type} status ${status}, not STATUS OK`)
}

/**
 * An AutoNAT v2 DialRequest for an address no transport of the server dials
 * (QUIC on loopback): the server must answer with a DialResponse
 * (E_DIAL_REFUSED), without dialling anything.
 */
export async function honestAutonat (conn: Connection): Promise<number> {
  const body = encodeAutoNATMessage({ dialRequest: { addrs: [multiaddr('/ip4/127.0.0.1/udp/9/quic-v1').bytes], nonce: 42n } })
  const answer = decodeAutoNATMessage(await request(conn, AUTONAT_DIAL_REQUEST_PROTOCOL, body))
  if (answer.dialResponse == null) throw new NotServedError('the AutoNAT server answered a DialRequest without a DialResponse')
  if (answer.dialResponse.status !== RESPONSE_STATUS.E_DIAL_REFUSED) throw new NotServedError(`the AutoNAT server answered status ${answer.dialResponse.status}, expected E_DIAL_REFUSED (${RESPONSE_STATUS.E_DIAL_REFUSED})`)
  return answer.dialResponse.status
}

const HONEST_CONNECT = encodeHolePunch({ type: 'CONNECT', obsAddrs: [multiaddr('/ip4/127.0.0.1/tcp/9').bytes] })

/**
 * A DCUtR CONNECT on a relayed connection the responder (A) dialed to us: it
 * must answer with its CONNECT. No SYNC follows, so nothing is dialled.
 */
export async function honestHolePunch (relayed: Connection): Promise<void> {
  if (relayed.direction !== 'inbound' || !relayed.remoteAddr.toString().includes('/p2p-circuit')) throw new Error(`DCUtR is answered only on a relayed connection the responder dialed, not on ${relayed.direction} ${relayed.remoteAddr.toString()}`)
  const answer = decodeHolePunch(await request(relayed, HOLEPUNCH_PROTOCOL, HONEST_CONNECT))
  if (answer.type !== 'CONNECT') throw new NotServedError(`the DCUtR responder answered CONNECT with ${answer.type}`)
}

/**
 * A DCUtR CONNECT on a direct connection: the responder must reset the stream
 * without an answer (a hole punch there would dial whatever it names).
 * Resolves with how the stream ended.
 */
export async function honestHolePunchRefused (direct: Connection): Promise<string> {
  const signal = AbortSignal.timeout(DEFAULT_HONEST_TIMEOUT_MS)
  // the protocol is negotiated (the responder speaks DCUtR here too), then the stream is reset
  const stream = await direct.newStream(HOLEPUNCH_PROTOCOL, { signal })
  try {
    const lp = lpStream(stream)
    await lp.write(HONEST_CONNECT, { signal })
    const answer = decodeHolePunch((await lp.read({ signal })).subarray())
    throw new NotServedError(`the DCUtR responder answered a CONNECT on a direct connection (${answer.type})`)
  } catch (err) {
    if (err instanceof NotServedError) throw err
    if (stream.status !== 'reset') throw new NotServedError(`the DCUtR stream on a direct connection was not reset (status ${stream.status}): ${String(err)}`)
    return 'reset'
  } finally {
    if (stream.status === 'open') stream.abort(new Error('honest request done'))
  }
}

/** A Kademlia FIND_NODE for `key`: the DHT server must answer FIND_NODE. */
export async function honestKad (conn: Connection, protocol: string, key: Uint8Array): Promise<void> {
  const answer = await request(conn, protocol, kadMessage(new Rng(1), key, KAD.FIND_NODE))
  const r = createReader(answer)
  let type: number | undefined
  while (r.pos < r.len) {
    const tag = r.uint32()
    if (tag === (1 << 3)) type = r.uint32()
    else r.skipType(tag & 7)
  }
  if (type !== KAD.FIND_NODE) throw new NotServedError(`the DHT server answered FIND_NODE with type ${type}`)
}

/** A STUN Binding request from `localAddress`; the server must map it to that address. */
export async function honestStun (host: string, port: number, localAddress: string): Promise<void> {
  const mapped = await stunBindingRequest({ host, port }, { localAddress, timeout: DEFAULT_HONEST_TIMEOUT_MS })
  if (mapped.address !== localAddress) throw new NotServedError(`the STUN server mapped ${localAddress} to ${mapped.address}`)
}


/** A direct message from `client` to `server`: the server's `message` event must carry it, from the client. */
export async function honestDirectMessage (client: Libp2p<{ dm: DirectMessages }>, server: Libp2p<{ dm: DirectMessages }>): Promise<string> {
  const text = `honest ${Date.now()}`
  let got: DirectMessageEvent | undefined
  const onMessage = (evt: CustomEvent<DirectMessageEvent>): void => { if (evt.detail.text === text) got = evt.detail }
  server.services.dm.addEventListener('message', onMessage)
  try {
    // `send` resolves on the server's OK ack, which it writes after dispatching `message`
    await client.services.dm.send(server.peerId, text, { signal: AbortSignal.timeout(DEFAULT_HONEST_TIMEOUT_MS) })
  } finally {
    server.services.dm.removeEventListener('message', onMessage)
  }
  if (got == null) throw new NotServedError('the direct message was acknowledged but no message event came')
  if (got.from !== client.peerId.toString()) throw new NotServedError(`the direct message arrived from ${got.from}, not from ${client.peerId.toString()}`)
  return `delivered ${Buffer.byteLength(text)} bytes`
}

/** `client` fetches the file `server` shares as `cid` into `dest`: its bytes must be `expected`. */
export async function honestFileFetch (client: Libp2p<{ files: FileShare }>, server: Libp2p, cid: string, dest: string, expected: Uint8Array): Promise<string> {
  const result = await client.services.files.get(cid, { from: server.peerId, dest, signal: AbortSignal.timeout(DEFAULT_HONEST_TIMEOUT_MS) })
  const got = await readFile(result.path)
  if (!Buffer.from(expected).equals(got)) throw new NotServedError(`the fetched file differs from the shared one (${got.byteLength} bytes, expected ${expected.byteLength})`)
  return `fetched ${got.byteLength} bytes, ${cid}`
}
