/**
 * The relay binary's `--json` events and metrics report outcomes: a refused
 * reservation is a refusal (not a grant), and a circuit is reported once
 * established and again when it closed, with its bytes. Loopback only.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { listeningAddr, RolePool } from '@natkit/testkit/roles'

const pool = new RolePool()
const start = pool.start
afterAll(async () => { await pool.stopAll() })

const PEER = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-upnp', '--no-webrtc', '--no-dht']
const metric = (text: string, name: string): number => Number(text.match(new RegExp(`^${name.replace(/[{}"=]/g, c => `\\${c}`)} (\\S+)$`, 'm'))?.[1] ?? NaN)

describe('natkit-relay --json: reservations and circuits', () => {
  it('--max-reservations 1: one grant and one refusal; a circuit established, then closed with its bytes', async () => {
    const relay = start('relay', ['--listen', '/ip4/127.0.0.1/tcp/0', '--max-reservations', '1', '--no-autonat', '--metrics', '127.0.0.1:0'])
    const { addr } = await listeningAddr(relay)
    const b = start('peer', [...PEER, '--relay', addr])
    const granted = await b.waitFor('reservation')
    // a long retry: C asks exactly once within this test
    const c = start('peer', [...PEER, '--relay', addr, '--reservation-retry', '1m'])
    const failed = await c.waitFor('reservation:failed')
    expect(failed.reason).toContain('RESERVATION_REFUSED')
    const refused = await relay.waitFor('relay:reservation:refused')
    expect(refused).toMatchObject({ peer: failed.peerId, reason: 'RESERVATION_REFUSED' })
    expect(relay.events.filter(e => e.event === 'relay:reservation').map(e => (e as { peer?: string }).peer)).toEqual([granted.peerId])
    expect(relay.events.filter(e => e.event === 'relay:reservation:refused')).toHaveLength(1)

    // A reaches B through the relay, pings, and exits: the circuit closes
    const a = start('peer', ['dial', `${addr}/p2p-circuit/p2p/${granted.peerId}`, ...PEER, '--no-holepunch', '--timeout', '2s'])
    expect(await a.exited).toBe(3)
    const src = a.events[0].peerId
    const established = await relay.waitFor('relay:circuit')
    expect(established).toMatchObject({ src, dst: granted.peerId })
    const closed = await relay.waitFor('relay:circuit:closed')
    expect(closed).toMatchObject({ src, dst: granted.peerId })
    expect(['closed', 'reset']).toContain(closed.reason)
    expect(closed.bytes).toBeGreaterThan(0)
    expect(relay.events.indexOf(closed)).toBeGreaterThan(relay.events.indexOf(established))

    // the metrics are counted at the same points
    const url = (await relay.waitFor('info', (e) => e.message.startsWith('metrics on '))).message.slice('metrics on '.length)
    const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text()
    expect(metric(text, 'natkit_reservations_total{side="relay"}')).toBe(1)
    expect(metric(text, 'natkit_relay_reservation_refusals_total{reason="RESERVATION_REFUSED"}')).toBe(1)
    expect(metric(text, 'natkit_relay_circuits_total')).toBe(1)
    expect(metric(text, 'natkit_relay_circuit_bytes_total')).toBe(closed.bytes)
  }, 60_000)
})
