import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { inboundAdmission } from './admission.js'
import type { MultiaddrConnection, PeerId } from '@libp2p/interface'

/** A stand-in socket: the gater reads only its remote address, its log and its close event. */
function socket (ip: string): MultiaddrConnection & { hangUp: () => void } {
  const target = new EventTarget()
  return Object.assign(target, {
    remoteAddr: multiaddr(`/ip4/${ip}/tcp/40000`),
    log: Object.assign(() => {}, {}),
    hangUp: () => { target.dispatchEvent(new Event('close')) }
  }) as unknown as MultiaddrConnection & { hangUp: () => void }
}

const peer = {} as PeerId

describe('inboundAdmission', () => {
  it('admits maxPendingPerIp pending handshakes per IP; a finished upgrade, a closed socket or the timeout frees a slot', async () => {
    const gater = inboundAdmission({}, { maxPendingPerIp: 2, handshakeTimeout: 200 })
    const deny = async (s: MultiaddrConnection): Promise<boolean | undefined> => await gater.denyInboundConnection?.(s)
    const [a, b, c, d] = [socket('127.5.0.1'), socket('127.5.0.1'), socket('127.5.0.1'), socket('127.5.0.1')]
    expect(await deny(a)).toBe(false)
    expect(await deny(b)).toBe(false)
    expect(await deny(c)).toBe(true)
    // another IP is not affected
    expect(await deny(socket('127.5.0.2'))).toBe(false)
    // a's upgrade finished: its slot is free (once, however often it is asked)
    expect(await gater.denyInboundUpgradedConnection?.(peer, a)).toBe(false)
    expect(await gater.denyInboundUpgradedConnection?.(peer, a)).toBe(false)
    expect(await deny(c)).toBe(false)
    expect(await deny(d)).toBe(true)
    // b's socket closed: its slot is free
    b.hangUp()
    expect(await deny(d)).toBe(false)
    expect(await deny(socket('127.5.0.1'))).toBe(true)
    // c and d never finish: freed after the handshake timeout
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(await deny(socket('127.5.0.1'))).toBe(false)
  })

  it("asks the role's own gater first", async () => {
    const gater = inboundAdmission({ denyInboundConnection: () => true }, { maxPendingPerIp: 2, handshakeTimeout: 200 })
    expect(await gater.denyInboundConnection?.(socket('127.5.0.3'))).toBe(true)
  })
})
