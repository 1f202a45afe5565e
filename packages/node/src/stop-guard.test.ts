import { CIRCUIT_TRANSPORT_TAG } from '@natkit/libp2p-internals'
import { NatkitEvents, type NatkitEvent } from '@natkit/events'
import { describe, expect, it } from 'vitest'
import { RELAY_V2_STOP_PROTOCOL, StopGuard, UnsolicitedStopError } from './stop-guard.js'
import type { ComponentLogger, Connection, Stream, StreamHandler } from '@libp2p/interface'
import type { Registrar, TransportManager } from '@libp2p/interface-internal'

const silent = { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) } as unknown as ComponentLogger

/** A guard over a stand-in registrar (the transport's handler records what reaches it) and a reservation store holding `reserved`. */
async function guarded (reserved: string[], reportInterval: number): Promise<{ handle: StreamHandler, reached: string[], log: NatkitEvent[] }> {
  const reached: string[] = []
  const transportHandler: StreamHandler = (_s, c) => { reached.push(c.remotePeer.toString()) }
  let handle: StreamHandler = transportHandler
  const registrar = {
    getHandler: (p: string) => { expect(p).toBe(RELAY_V2_STOP_PROTOCOL); return { handler: transportHandler, options: { maxInboundStreams: 3 } } },
    handle: async (_p: string, h: StreamHandler, o: { force?: boolean, maxInboundStreams?: number }) => { expect(o).toMatchObject({ force: true, maxInboundStreams: 3 }); handle = h }
  } as unknown as Registrar
  const store = Object.assign(new EventTarget(), { addRelay: () => {}, getReservation: () => undefined, hasReservation: (p: { toString: () => string }) => reserved.includes(p.toString()) })
  const transportManager = { getTransports: () => [{ [Symbol.toStringTag]: CIRCUIT_TRANSPORT_TAG, reservationStore: store }] } as unknown as TransportManager
  const events = new NatkitEvents()
  const log: NatkitEvent[] = []
  events.onAny(e => { log.push(e) })
  const guard = new StopGuard({ registrar, transportManager, logger: silent }, { events, reportInterval })
  await guard.afterStart()
  return { handle: async (s, c) => { await handle(s, c) }, reached, log }
}

const from = (peer: string): Connection => ({ remotePeer: { toString: () => peer } }) as unknown as Connection
function stream (): Stream & { aborted?: Error } {
  const s: { aborted?: Error, abort: (err: Error) => void } = { abort: (err) => { s.aborted = err } }
  return s as unknown as Stream & { aborted?: Error }
}

describe('StopGuard', () => {
  it('passes STOP streams from relays with a reservation to the transport; resets others and reports them, at most once per interval per relay', async () => {
    const { handle, reached, log } = await guarded(['R'], 100)
    const ok = stream()
    await handle(ok, from('R'))
    expect(reached).toEqual(['R'])
    expect(ok.aborted).toBeUndefined()
    const refused = [stream(), stream(), stream()]
    for (const s of refused) await handle(s, from('X'))
    expect(reached).toEqual(['R'])
    expect(refused.every(s => s.aborted instanceof UnsolicitedStopError)).toBe(true)
    expect(log).toEqual([expect.objectContaining({ event: 'relay:stop:refused', relay: 'X', reason: 'no reservation on this relay' })])
    await new Promise(resolve => setTimeout(resolve, 150))
    await handle(stream(), from('X'))
    expect(log).toHaveLength(2)
    expect(log[1]).toMatchObject({ relay: 'X', alsoRefused: 2 })
  })
})
