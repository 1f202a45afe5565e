/**
 * The server side of NAT behaviour discovery, as a role runs it
 * (`natkit-autonat server` and `natkit-relay` with `--stun-listen`): a STUN
 * binding server and, with an alternate address, RFC 5780 CHANGE-REQUEST /
 * OTHER-ADDRESS and a TCP connect-back observer on the same host:port over
 * TCP that connects back from the alternate address. With the alternate, one
 * such server is enough for a client's `discoverNat` to classify mapping,
 * filtering and (over TCP) unsolicited inbound; without it, only what one
 * observer sees (allocation, hairpinning).
 */
import { createStunServer } from '@natkit/stun'
import { createConnectBackServer } from './connect-back.js'
import type { Endpoint } from './classify.js'

/** What {@link startNatObservers} runs. */
export interface NatObserversInit {
  /** The STUN server's primary address and port (a specific address when `alternate` is set). */
  listen: { host: string, port: number }
  /** The alternate address and port (CHANGE-REQUEST, OTHER-ADDRESS; connect-backs come from its address). @default undefined (off) */
  alternate?: { host: string, port: number }
}

/** Running observers: what they bound, one line per server to report, and how to stop them. */
export interface NatObservers {
  stun: Endpoint
  /** With an alternate: what OTHER-ADDRESS names. */
  other?: Endpoint
  /** With an alternate: the TCP connect-back observer. */
  connectBack?: Endpoint
  /** Human lines, e.g. for `info` events. */
  describe: string[]
  /** Stops every server; safe to call repeatedly. */
  close(): Promise<void>
}

/** Starts the STUN server (and, with `alternate`, the connect-back observer); stops what it started if a later one fails. */
export async function startNatObservers (init: NatObserversInit): Promise<NatObservers> {
  const { listen, alternate } = init
  const stun = createStunServer(alternate == null ? {} : { alternate: { address: alternate.host, port: alternate.port } })
  const bound = await stun.listen(listen.port, listen.host)
  const other = stun.otherAddress()
  const describe = [`STUN binding server on udp ${bound.address}:${bound.port}${other != null ? ` (alternate ${other.address}:${other.port}, CHANGE-REQUEST on)` : ''}`]
  if (alternate == null) {
    return { stun: bound, describe, close: async () => { await stun.close() } }
  }
  const connectBack = createConnectBackServer({ from: alternate.host })
  let tcp: Endpoint
  try {
    tcp = await connectBack.listen(bound.port, listen.host)
  } catch (err) {
    await stun.close()
    throw err
  }
  describe.push(`TCP connect-back observer on tcp ${tcp.address}:${tcp.port} (connects back from ${alternate.host})`)
  return {
    stun: bound,
    ...(other != null ? { other } : {}),
    connectBack: tcp,
    describe,
    close: async () => { await Promise.all([stun.close(), connectBack.close()]) }
  }
}
