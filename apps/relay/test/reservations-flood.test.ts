/**
 * Issue 11, attack 2: throwaway identities must not lock honest peers out of
 * a relay. Loopback only: attackers dial from 127.1.x.y and 127.2+.x.y
 * (127.0.0.0/8 is all loopback on Linux), the honest peer from 127.0.0.1.
 */
import { resolveOptions } from '@natkit/config'
import { NatkitEvents, type NatkitEvent, type NatkitEventName } from '@natkit/events'
import { afterEach, describe, expect, it } from 'vitest'
import { createRelay } from '../src/node.js'
import { DEFAULT_MAX_RESERVATIONS, DEFAULT_MAX_RESERVATIONS_PER_IP, DEFAULT_MAX_RESERVATIONS_PER_NETWORK, RELAY_ROLE } from '../src/options.js'
import { bounded, reserveOnce } from '@natkit/hostile'
import type { NatkitNode, NatkitRunner } from '@natkit/node'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { await Promise.all(cleanups.splice(0).map(async c => { await c() })) })

interface Relay { runner: NatkitRunner, log: NatkitEvent[], addr: string }

async function startRelay (flags: Record<string, unknown>): Promise<Relay> {
  const events = new NatkitEvents()
  const log: NatkitEvent[] = []
  events.onAny((e) => { log.push(e) })
  const runner = await createRelay(resolveOptions(RELAY_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], autonat: false, ...flags } }), events)
  cleanups.push(async () => { await runner.stop() })
  await runner.start()
  const addr = runner.node.getMultiaddrs().find(ma => ma.toString().includes('/tcp/'))?.toString() ?? ''
  return { runner, log, addr }
}

const named = <E extends NatkitEventName>(r: Relay, name: E): Array<NatkitEvent<E>> => r.log.filter(e => e.event === name) as unknown as Array<NatkitEvent<E>>

/** The relay's answer to `peer`: its grant or refusal event. */
function answerTo (r: Relay, peer: string): NatkitEvent<'relay:reservation'> | NatkitEvent<'relay:reservation:refused'> | undefined {
  return r.log.find(e => (e.event === 'relay:reservation' || e.event === 'relay:reservation:refused') && e.peer === peer) as NatkitEvent<'relay:reservation'> | NatkitEvent<'relay:reservation:refused'> | undefined
}

/** Polls `done` until it holds or `timeout` ms passed (the relay reports an answer once its write completed, maybe after the client read it). */
async function until (done: () => boolean, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!done() && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
}

async function honestReserve (r: Relay): Promise<NatkitEvent<'relay:reservation'> | NatkitEvent<'relay:reservation:refused'> | undefined> {
  const honest = await reserveOnce(r.addr, '127.0.0.1')
  cleanups.push(async () => { await honest.stop() })
  await until(() => answerTo(r, honest.peerId.toString()) != null)
  return answerTo(r, honest.peerId.toString())
}

const ATTEMPTS = 2_000
/** 250 attacker IPs in one /16: 8 attempts each (under libp2p's 5 connections/s per IP rate limit at the pace of this loop) */
const attackerIp = (i: number): string => `127.1.0.${1 + (i % 250)}`

describe('relay reservations under a flood of throwaway identities (issue 11, attack 2)', () => {
  it(`an honest peer gets a reservation after ${ATTEMPTS} throwaway attempts from one /16 (per-IP and per-network caps)`, async () => {
    // a grace longer than the test: only the caps can keep a slot free
    const relay = await startRelay({ reservationGrace: 3_600_000 })
    const failures = await bounded(ATTEMPTS, 8, async (i) => {
      const node = await reserveOnce(relay.addr, attackerIp(i))
      await node.stop()
    })
    await until(() => named(relay, 'relay:reservation').length + named(relay, 'relay:reservation:refused').length + failures.length >= ATTEMPTS)
    const granted = named(relay, 'relay:reservation')
    const refused = named(relay, 'relay:reservation:refused')
    // every attempt got an answer (or was refused at the door), and at most the network's share was granted
    expect(granted.length + refused.length + failures.length).toBe(ATTEMPTS)
    expect(granted.length).toBeLessThanOrEqual(DEFAULT_MAX_RESERVATIONS_PER_NETWORK)
    expect(granted.length).toBeGreaterThan(0)
    expect(refused.length).toBeGreaterThan(ATTEMPTS / 2)
    expect(refused.every(e => e.limit === 'per-ip' || e.limit === 'per-network')).toBe(true)
    expect(refused.find(e => e.limit === 'per-network')?.reason).toMatch(/^PERMISSION_DENIED: 32 reservations held from 127\.1\.0\.0\/16 \(per-network limit 32\)$/)
    const relayService = (relay.runner.node.services as { relay: { reservations: { size: number } } }).relay
    expect(relayService.reservations.size).toBe(granted.length)
    expect(relayService.reservations.size).toBeLessThan(DEFAULT_MAX_RESERVATIONS)
    expect(await honestReserve(relay)).toMatchObject({ event: 'relay:reservation' })
  }, 180_000)

  it('one IP gets at most --max-reservations-per-ip', async () => {
    const relay = await startRelay({ reservationGrace: 3_600_000 })
    const failures = await bounded(3 * DEFAULT_MAX_RESERVATIONS_PER_IP, 1, async () => {
      const node = await reserveOnce(relay.addr, '127.3.0.1')
      await node.stop()
      // under libp2p's inbound rate limit of 5 connections/s per IP
      await new Promise(resolve => setTimeout(resolve, 250))
    })
    expect(failures).toEqual([])
    await until(() => named(relay, 'relay:reservation').length + named(relay, 'relay:reservation:refused').length >= 3 * DEFAULT_MAX_RESERVATIONS_PER_IP)
    expect(named(relay, 'relay:reservation')).toHaveLength(DEFAULT_MAX_RESERVATIONS_PER_IP)
    const refused = named(relay, 'relay:reservation:refused')
    expect(refused).toHaveLength(2 * DEFAULT_MAX_RESERVATIONS_PER_IP)
    expect(refused[0]).toMatchObject({ limit: 'per-ip', reason: 'PERMISSION_DENIED: 8 reservations held from 127.3.0.1 (per-IP limit 8)' })
  }, 60_000)

  it('reservations of throwaway identities are freed once their connections close (after --reservation-grace)', async () => {
    const slots = 16
    const grace = 300
    const relay = await startRelay({ maxReservations: slots, reservationGrace: grace })
    // one attacker per /16, so that only the slot limit applies: they take every slot and stay connected
    const attackers: NatkitNode[] = []
    const failures = await bounded(slots, 4, async (i) => { attackers.push(await reserveOnce(relay.addr, `127.${10 + i}.0.1`)) })
    cleanups.push(async () => { await Promise.all(attackers.map(async a => { await a.stop() })) })
    expect(failures).toEqual([])
    await until(() => named(relay, 'relay:reservation').length >= slots)
    expect(named(relay, 'relay:reservation')).toHaveLength(slots)
    // the slot limit holds while they are connected
    expect(await honestReserve(relay)).toMatchObject({ event: 'relay:reservation:refused', reason: 'RESERVATION_REFUSED' })
    // they leave: after the grace their reservations are freed (not after the 2 h TTL)
    const left = Date.now()
    await Promise.all(attackers.map(async a => { await a.stop() }))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${named(relay, 'relay:reservation:removed').length} of ${slots} reservations freed within 10 s`)) }, 10_000)
      const check = (): void => { if (named(relay, 'relay:reservation:removed').length >= slots) { clearTimeout(timer); off(); resolve() } }
      // onAny: the log is filled by an onAny listener too, which runs after named listeners
      const off = relay.runner.events.onAny(check)
      check()
    })
    expect(Date.now() - left).toBeGreaterThanOrEqual(grace)
    expect(new Set(named(relay, 'relay:reservation:removed').map(e => e.peer))).toEqual(new Set(attackers.map(a => a.peerId.toString())))
    expect(named(relay, 'relay:reservation:removed').every(e => e.reason === 'disconnected')).toBe(true)
    expect(await honestReserve(relay)).toMatchObject({ event: 'relay:reservation' })
  }, 60_000)

  it('a peer that reconnects within the grace keeps its reservation', async () => {
    const relay = await startRelay({ reservationGrace: 2_000 })
    const a = await reserveOnce(relay.addr, '127.4.0.1')
    cleanups.push(async () => { await a.stop() })
    await until(() => answerTo(relay, a.peerId.toString()) != null)
    expect(answerTo(relay, a.peerId.toString())).toMatchObject({ event: 'relay:reservation' })
    await a.hangUp(relay.runner.node.peerId)
    await a.dial(relay.runner.node.getMultiaddrs()[0])
    await new Promise(resolve => setTimeout(resolve, 2_500))
    expect(named(relay, 'relay:reservation:removed')).toEqual([])
    expect((relay.runner.node.services as { relay: { reservations: { has: (p: unknown) => boolean } } }).relay.reservations.has(a.peerId)).toBe(true)
  }, 30_000)
})
