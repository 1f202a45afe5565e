import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { HolePunchAbortedError, MalformedMessageError, ObservedAddresses, PunchDials, describeDials, diagnose } from '../src/index.js'

const refusedError = (): Error => Object.assign(new Error('connect ECONNREFUSED 11.0.2.1:4100'), { code: 'ECONNREFUSED' })
const unreachableError = (): Error => Object.assign(new Error('connect EHOSTUNREACH 11.0.2.1:4100'), { code: 'EHOSTUNREACH' })

describe('diagnose', () => {
  const base = { ownCandidates: 2, remoteCandidates: 1, symmetricNatSuspected: false }

  it('orders reasons from most to least specific', () => {
    expect(diagnose({ ...base, ownCandidates: 0, error: new MalformedMessageError('x') })).toBe('no-public-addresses')
    expect(diagnose({ ...base, error: new HolePunchAbortedError('x') })).toBe('aborted')
    expect(diagnose({ ...base, remoteCandidates: 0, error: new MalformedMessageError('x') })).toBe('protocol-error')
    expect(diagnose({ ...base, remoteCandidates: 0, remoteDenied: 2, error: new MalformedMessageError('x') })).toBe('protocol-error')
    expect(diagnose({ ...base, remoteCandidates: 0, remoteDenied: 2 })).toBe('gater-denied')
    expect(diagnose({ ...base, remoteCandidates: 0, remoteDenied: 0 })).toBe('remote-no-public-addresses')
    expect(diagnose({ ...base, remoteCandidates: 0 })).toBe('remote-no-public-addresses')
    const refused = refusedError()
    expect(diagnose({ ...base, symmetricNatSuspected: true, error: refused })).toBe('symmetric-nat-suspected')
    expect(diagnose({ ...base, error: new AggregateError([new Error('x', { cause: refused })]) })).toBe('peer-unreachable')
    expect(diagnose({ ...base, error: new DOMException('t', 'TimeoutError') })).toBe('timeout')
  })

  it('names what the dials saw: resets, ICMP unreachable, silence, a failed upgrade', () => {
    const addr = '/ip4/11.0.2.1/tcp/4100'
    const dials = (settle: (log: PunchDials) => void): ReturnType<PunchDials['list']> => {
      const log = new PunchDials(8)
      settle(log)
      return log.list()
    }
    const dial = (log: PunchDials, err: unknown, connected = false, aborted = false, ms?: number): void => {
      const r = log.record(addr)
      if (r != null) r.dials++
      log.settle(addr, err, connected, aborted, ms)
    }
    const timeout = new DOMException('t', 'TimeoutError')

    // a reset router: every SYN refused until the end of the window, which cut the last dial short
    const resets = dials(log => { for (let i = 0; i < 37; i++) dial(log, refusedError()); dial(log, timeout, false, true, 3) })
    expect(diagnose({ ...base, error: refusedError(), dials: resets })).toBe('reset-by-remote')
    expect(describeDials(resets, 5000)).toBe('all 37 SYNs we sent to 11.0.2.1:4100 within 5000 ms were answered with a reset: their router held no mapping for us (or a firewall on the way refused them) until the end of the window')

    // a dropping router: the dial was still unanswered when the window closed
    const silent = dials(log => { dial(log, timeout, false, true) })
    expect(diagnose({ ...base, error: timeout, dials: silent })).toBe('no-answer')
    expect(describeDials(silent)).toMatch(/^no answer to our SYNs to 11\.0\.2\.1:4100 \(1 dial, kernel retransmissions included\): silently dropped/)

    // the dial's own timeout (libp2p's dial queue) ends a silent dial before our window does
    expect(diagnose({ ...base, error: timeout, dials: dials(log => { dial(log, timeout, false, false, 5000) }) })).toBe('no-answer')
    // another failure is named with its error
    const other = dials(log => { dial(log, refusedError()); dial(log, new Error('EADDRINUSE')) })
    expect(describeDials(other)).toBe('1 of 2 SYNs to 11.0.2.1:4100 were answered with a reset; 1 failed otherwise (Error: EADDRINUSE)')

    // ICMP unreachable
    const icmp = dials(log => { dial(log, unreachableError()); dial(log, timeout, false, true) })
    expect(diagnose({ ...base, error: timeout, dials: icmp })).toBe('peer-unreachable')
    expect(describeDials(icmp)).toContain('1 of 2 SYNs to 11.0.2.1:4100 met "host/network unreachable"')

    // resets then silence (the reset removed our mapping, the next SYN went unanswered)
    const mixed = dials(log => { dial(log, refusedError()); dial(log, timeout, false, true) })
    expect(diagnose({ ...base, error: timeout, dials: mixed })).toBe('reset-by-remote')
    expect(describeDials(mixed)).toContain('1 of 2 SYNs to 11.0.2.1:4100 were answered with a reset, 1 got no answer')

    // TCP connected, the libp2p upgrade failed
    const upgrade = dials(log => { dial(log, new Error('EncryptionFailedError: bad handshake'), true) })
    expect(diagnose({ ...base, error: timeout, dials: upgrade })).toBe('upgrade-failed')
    expect(describeDials(upgrade)).toContain('TCP to 11.0.2.1:4100 connected 1 time but the libp2p upgrade failed (Error: EncryptionFailedError: bad handshake)')

    // symmetric evidence and earlier reasons still win over what the dials saw
    expect(diagnose({ ...base, symmetricNatSuspected: true, dials: resets })).toBe('symmetric-nat-suspected')
    expect(diagnose({ ...base, remoteCandidates: 0, remoteDenied: 1, dials: resets })).toBe('gater-denied')
    // nothing dialled: from the error
    expect(diagnose({ ...base, error: timeout, dials: [] })).toBe('timeout')
    expect(describeDials([])).toBeUndefined()
  })

  it('keeps at most maxAddrs dial records', () => {
    const log = new PunchDials(2)
    expect(log.record('/ip4/11.0.0.1/tcp/1')).toBeDefined()
    expect(log.record('/ip4/11.0.0.2/tcp/1')).toBeDefined()
    expect(log.record('/ip4/11.0.0.3/tcp/1')).toBeUndefined()
    expect(log.list()).toHaveLength(2)
  })

  it('counts a dial still pending when the failure is reported: just sent is cut short, not a SYN', () => {
    const log = new PunchDials(2)
    const addr = '/ip4/11.0.0.1/tcp/1'
    const started = log.begin(addr)
    expect(log.list()).toMatchObject([{ addr, dials: 1, cut: 1, unanswered: 0 }])
    expect(describeDials(log.list())).toBeUndefined()
    log.settle(addr, Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), false, false, 2, started)
    expect(log.list()).toMatchObject([{ addr, dials: 1, refused: 1, cut: 0 }])
  })
})

describe('ObservedAddresses', () => {
  it('keeps a bounded, newest-first set of public TCP addresses without /p2p', () => {
    const obs = new ObservedAddresses({ maxAddrs: 2 })
    expect(obs.add(multiaddr('/ip4/127.0.0.1/tcp/1'), 'a')).toBeUndefined()
    expect(obs.add(multiaddr('/ip4/192.168.1.2/tcp/1'), 'a')).toBeUndefined()
    expect(obs.add(multiaddr('/ip4/11.0.0.4/udp/1/quic-v1'), 'a')).toBeUndefined()
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/1/p2p/12D3KooWLsSWaRsoCejZ6RMsGqdftpKbohczNqs3jvNfPgRwrMp2'), 'a')
    obs.add(multiaddr('/ip4/11.0.0.5/tcp/1'), 'b')
    obs.add(multiaddr('/ip4/11.0.0.6/tcp/1'), 'c')
    expect(obs.addrs().map(String)).toEqual(['/ip4/11.0.0.6/tcp/1', '/ip4/11.0.0.5/tcp/1'])
  })

  it('finds a symmetric NAT when observers see different ports for connections dialled from the listen port', () => {
    const obs = new ObservedAddresses()
    const reused = { port: 4100, reused: true }
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/4100'), 'a', reused)
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/4100'), 'b', reused)
    expect(obs.symmetricNatEvidence()).toBeUndefined()
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/5000'), 'a', reused) // same observer again: latest wins
    expect(obs.symmetricNatEvidence()).toMatchObject({ kind: 'different-ports' })
    expect(obs.symmetricNatEvidence()?.message).toContain('listen port 4100 at different ports (11.0.0.4:4100 by b, 11.0.0.4:5000 by a)')
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/4100'), 'a', reused)
    expect(obs.symmetricNatSuspected()).toBe(false)
  })

  it('takes no evidence from connections dialled from ephemeral ports (fallbacks) or of unknown source (inbound)', () => {
    const obs = new ObservedAddresses()
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/4100'), 'relay', { port: 4100, reused: true })
    // a tcp-reuse fallback dial: its own port, its own mapping
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/40123'), 'bootstrap', { port: 40123, reused: false })
    obs.add(multiaddr('/ip4/11.0.0.4/tcp/40999'), 'inbound', undefined)
    expect(obs.symmetricNatEvidence()).toBeUndefined()
    expect(obs.symmetricNatSuspected()).toBe(false)
  })

  it('suspects a symmetric NAT (weak evidence) when one observer sees another port than the listen port we dialled from', () => {
    const obs = new ObservedAddresses()
    obs.add(multiaddr('/ip4/11.0.2.1/tcp/21271'), 'relay', { port: 4100, reused: true })
    expect(obs.symmetricNatEvidence()).toEqual({
      kind: 'port-not-kept',
      message: 'our NAT mapped a connection we dialled from listen port 4100 to 11.0.2.1:21271 (seen by relay): a NAT that does not keep the port is likely one whose mapping varies per destination (symmetric NAT)'
    })
    // the same port-change from an ephemeral-port dial is no evidence
    const fallback = new ObservedAddresses()
    fallback.add(multiaddr('/ip4/11.0.2.1/tcp/21271'), 'relay', { port: 4100, reused: false })
    expect(fallback.symmetricNatEvidence()).toBeUndefined()
  })
})
