import { peerIdFromString } from '@libp2p/peer-id'
import { resolveOptions } from '@natkit/config'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { DEFAULT_AGREEMENT_MARGIN, DEFAULT_WEBRTC_ACCEPT_WINDOW, DEFAULT_WEBRTC_DIAL_WINDOW, pathOf, webrtcAddrOf } from '@natkit/node'
import { DialTargetError, PEER_ROLE, isWebrtcTarget, optionsForTarget, planDirectPaths, type PeerOptions } from './options.js'

const RELAY = '/ip4/11.0.0.10/tcp/4001/p2p/12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6'
const B = '12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C'
const opts = (flags: Record<string, unknown> = {}): PeerOptions => resolveOptions(PEER_ROLE, { flags })

describe('planDirectPaths', () => {
  it('races both paths by default and says why a path is left out', () => {
    expect(planDirectPaths(opts())).toEqual({ race: ['tcp', 'webrtc'], skipped: {} })
    expect(planDirectPaths(opts({ directPaths: 'webrtc' }))).toEqual({ race: ['webrtc'], skipped: { tcp: 'not tried: not in --direct-paths' } })
    expect(planDirectPaths(opts({ holepunch: false }))).toEqual({ race: ['webrtc'], skipped: { tcp: 'not tried: --no-holepunch' } })
    expect(planDirectPaths(opts({ webrtc: false, directPaths: 'tcp,webrtc' }))).toEqual({ race: ['tcp'], skipped: { webrtc: 'not tried: --no-webrtc' } })
  })
})

describe('dial targets', () => {
  it('a circuit address needs no /webrtc; with /webrtc it means WebRTC only', () => {
    expect(isWebrtcTarget(`${RELAY}/p2p-circuit/p2p/${B}`)).toBe(false)
    const o = opts()
    expect(optionsForTarget(o, `${RELAY}/p2p-circuit/p2p/${B}`)).toBe(o)
    expect(optionsForTarget(o, B)).toBe(o)
    expect(optionsForTarget(o, `${RELAY}/p2p-circuit/webrtc/p2p/${B}`).directPaths).toEqual(['webrtc'])
  })

  it('/webrtc with --direct-paths leaving WebRTC out is a one-line usage error', () => {
    expect(() => optionsForTarget(opts({ directPaths: 'tcp' }), `${RELAY}/p2p-circuit/webrtc/p2p/${B}`)).toThrow(DialTargetError)
    expect(() => optionsForTarget(opts({ directPaths: 'tcp' }), `${RELAY}/p2p-circuit/webrtc/p2p/${B}`)).toThrow(/^target ".*" asks for WebRTC but --direct-paths is tcp$/)
  })

  it('the WebRTC address of a relayed connection, and the path of a direct one', () => {
    const remotePeer = peerIdFromString(B)
    const webrtc = webrtcAddrOf({ remotePeer, remoteAddr: multiaddr(`${RELAY}/p2p-circuit/p2p/${B}`) })
    expect(webrtc.toString()).toBe(`${RELAY}/p2p-circuit/webrtc/p2p/${B}`)
    expect(webrtcAddrOf({ remotePeer, remoteAddr: multiaddr(`${RELAY}/p2p-circuit`) }).toString()).toBe(`${RELAY}/p2p-circuit/webrtc/p2p/${B}`)
    expect(() => webrtcAddrOf({ remotePeer, remoteAddr: multiaddr('/ip4/11.0.2.1/tcp/4100') })).toThrow(/not a relayed address/)
    expect(pathOf({ remoteAddr: webrtc })).toBe('webrtc')
    expect(pathOf({ remoteAddr: multiaddr(`/ip4/11.0.2.1/tcp/4100/p2p/${B}`) })).toBe('tcp')
  })
})

describe('one budget for both sides of WebRTC', () => {
  it('the dialer keeps its attempt open longer than the other side accepts one', () => {
    expect(DEFAULT_WEBRTC_DIAL_WINDOW).toBe(DEFAULT_WEBRTC_ACCEPT_WINDOW + DEFAULT_AGREEMENT_MARGIN)
    expect(DEFAULT_AGREEMENT_MARGIN).toBeGreaterThan(0)
  })
})
