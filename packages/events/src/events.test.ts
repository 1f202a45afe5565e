import { describe, expect, it } from 'vitest'
import { NatkitEvents, createPrinter, formatHuman, parseEventLine, parseEventStream, InvalidEventLineError, TooManyListenersError, EventTimeoutError, type NatkitEvent } from './index.js'

describe('NatkitEvents', () => {
  it('stamps ts, event and peerId on every event', () => {
    const events = new NatkitEvents('12D3KooWpeer')
    const seen: NatkitEvent[] = []
    events.onAny((e) => { seen.push(e) })
    events.emit('listening', { addrs: ['/ip4/11.0.0.10/tcp/4001'] })
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ event: 'listening', peerId: '12D3KooWpeer', addrs: ['/ip4/11.0.0.10/tcp/4001'] })
    expect(Date.parse(seen[0].ts)).not.toBeNaN()
  })

  it('waitFor resolves on a matching event and times out otherwise', async () => {
    const events = new NatkitEvents()
    const p = events.waitFor('holepunch:success', (e) => e.remotePeer === 'b', 1000)
    events.emit('holepunch:success', { remotePeer: 'a', remoteAddr: '/x', ms: 1, attempt: 1 })
    events.emit('holepunch:success', { remotePeer: 'b', remoteAddr: '/y', ms: 2, attempt: 1 })
    expect((await p).remoteAddr).toBe('/y')
    await expect(events.waitFor('error', () => true, 10)).rejects.toMatchObject({ name: 'TimeoutError', constructor: EventTimeoutError })
  })

  it('a throwing listener does not break the others; listeners are bounded', () => {
    const events = new NatkitEvents('', 2)
    let ok = 0
    events.on('info', () => { throw new Error('bad listener') })
    events.on('info', () => { ok++ })
    expect(() => events.on('info', () => {})).toThrow(TooManyListenersError)
    events.emit('info', { message: 'x' })
    expect(ok).toBe(1)
  })
})

describe('printing and parsing', () => {
  it('JSON lines round-trip through parseEventStream, split across chunks', () => {
    const events = new NatkitEvents('p')
    let text = ''
    createPrinter(events, { json: true, out: { write: (s: string) => { text += s } } })
    events.emit('peer:connect', { remotePeer: 'r', remoteAddr: '/ip4/11.0.0.4/tcp/1', direction: 'outbound', limited: true })
    events.emit('holepunch:failure', { remotePeer: 'r', reason: 'symmetric-nat-suspected', message: 'mapping varies', attempts: 3, ms: 10 })
    const parsed: NatkitEvent[] = []
    const other: string[] = []
    const feed = parseEventStream((e) => { parsed.push(e) }, (l) => { other.push(l) })
    feed(text.slice(0, 17)); feed(text.slice(17)); feed('not json\n')
    expect(parsed.map(e => e.event)).toEqual(['peer:connect', 'holepunch:failure'])
    expect(other).toEqual(['not json'])
  })

  it('rejects malformed lines with a named problem', () => {
    expect(() => parseEventLine('{"event":"x"}')).toThrow(InvalidEventLineError)
    expect(() => parseEventLine('[1]')).toThrow(/not a JSON object/)
    expect(() => parseEventLine('{')).toThrow(/not JSON/)
    expect(() => parseEventLine('{"ts":"t","event":"e","peerId":"p","x":"' + 'a'.repeat(70_000) + '"}')).toThrow(/longer than/)
  })

  it('human lines for relay refusals and closed circuits name the reason and the bytes', () => {
    const base = { ts: '2026-01-01T00:00:00.000Z', peerId: 'p', src: '12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6', dst: '12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C' }
    expect(formatHuman({ ...base, event: 'relay:reservation:refused', peer: base.src, reason: 'RESERVATION_REFUSED' })).toMatch(/reservation refused to 12D3KooW….*: RESERVATION_REFUSED$/)
    expect(formatHuman({ ...base, event: 'relay:circuit:closed', bytes: 4242, ms: 17, reason: 'data-limit' })).toMatch(/closed \(data-limit\) after 4242 bytes, 17 ms$/)
  })

  it('human lines of relay discovery name the relays, their RTT and what a new relay replaces', () => {
    const base = { ts: '2026-01-01T00:00:00.000Z', peerId: 'p' } as const
    const r1 = '12D3KooWSMDFN5DeFADosuV7UEwjHWQv1ioLEUqgzjGjxYQzxFX6'
    const r2 = '12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C'
    expect(formatHuman({ ...base, event: 'relay:discovery', found: 3, candidates: [{ relay: r1, rttMs: 1.5 }], ms: 40 })).toBe('00:00:00.000 relay lookup: 3 found, 1 answered (12D3KooW…QzxFX6 1.5 ms) in 40 ms')
    expect(formatHuman({ ...base, event: 'relay:discovery', found: 0, candidates: [], ms: 10_000, error: 'no DHT peer' })).toBe('00:00:00.000 relay lookup failed: no DHT peer')
    expect(formatHuman({ ...base, event: 'relay:selected', relay: r2, rttMs: 2, replaces: r1 })).toBe('00:00:00.000 using relay 12D3KooW…LxgV9C (2 ms) instead of 12D3KooW…QzxFX6')
    expect(formatHuman({ ...base, event: 'relay:lost', relay: r1, reason: 'reservation lost (relay connection closed)' })).toBe('00:00:00.000 lost relay 12D3KooW…QzxFX6: reservation lost (relay connection closed)')
    expect(formatHuman({ ...base, event: 'upnp:mapped', internal: '/ip4/192.168.1.10/tcp/4100', external: '/ip4/11.0.1.1/tcp/4100', gateway: '192.168.1.1:5000', ms: 312 })).toBe('00:00:00.000 UPnP: /ip4/192.168.1.10/tcp/4100 is reachable as /ip4/11.0.1.1/tcp/4100 (gateway 192.168.1.1:5000, after 312 ms)')
    expect(formatHuman({ ...base, event: 'upnp:failed', reason: 'no-gateway', message: 'no UPnP IGD gateway answered an SSDP search within 10000 ms', retryInMs: 30_000 })).toBe('00:00:00.000 UPnP: no port mapping (no-gateway): no UPnP IGD gateway answered an SSDP search within 10000 ms; searching again in 30000 ms')
  })

  it('human lines say relayed vs direct', () => {
    const e = { ts: '2026-01-01T00:00:00.000Z', event: 'peer:connect', peerId: 'p', remotePeer: '12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C', remoteAddr: '/x', direction: 'inbound', limited: false } as const
    expect(formatHuman(e)).toContain('(direct)')
    expect(formatHuman({ ...e, limited: true })).toContain('relayed')
  })

  it('the human dial result names the winning path and how each other one ended', () => {
    const e = { ts: '2026-01-01T00:00:00.000Z', event: 'dial:result', peerId: 'p', target: '/t', outcome: 'direct', remoteAddr: '/w', timeToDirectMs: 80, path: 'webrtc', paths: { webrtc: 'won after 80 ms', tcp: 'lost: webrtc was direct first' } } as const
    expect(formatHuman(e)).toMatch(/dial \/t: direct via \/w, direct after 80 ms over webrtc; webrtc: won after 80 ms; tcp: lost: webrtc was direct first$/)
  })

  it('the peer shell\'s lines: chat, a command\'s result as printed, errors, and a progress bar with rate and ETA', () => {
    const base = { ts: '2026-01-01T00:00:00.000Z', peerId: 'p' } as const
    const from = '12D3KooWNcNfgyXDkVWxUzDbD61GBCVnUAQ2AFftAir7nVLxgV9C'
    expect(formatHuman({ ...base, event: 'pubsub:message', topic: 'chat', from, text: 'hi' })).toBe('00:00:00.000 [chat] 12D3KooW…LxgV9C: hi')
    expect(formatHuman({ ...base, event: 'message', from, text: 'psst' })).toBe('00:00:00.000 <12D3KooW…LxgV9C> psst')
    expect(formatHuman({ ...base, event: 'command:result', command: 'topics', lines: ['a: 1 peer(s)', 'b: 0 peer(s)'] })).toBe('a: 1 peer(s)\nb: 0 peer(s)')
    expect(formatHuman({ ...base, event: 'command:error', command: 'say', message: 'join x first' })).toBe('00:00:00.000 ERROR say: join x first')
    const cid = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
    expect(formatHuman({ ...base, event: 'file:progress', cid, bytes: 3 * 1048576, total: 4 * 1048576, bytesPerSecond: 1048576, etaMs: 1000 })).toBe('00:00:00.000 bafkreigh2ak… [###############.....] 75 % 3.0/4.0 MiB 1.0 MiB/s ETA 1 s')
  })
})
