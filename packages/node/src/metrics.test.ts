import client from 'prom-client'
import { NatkitEvents } from '@natkit/events'
import { describe, expect, it } from 'vitest'
import { registerRoleCounters } from './metrics.js'

async function value (name: string, labels: Record<string, string>): Promise<number> {
  const metric = client.register.getSingleMetric(name)
  const values = (await metric?.get())?.values ?? []
  return values.find(v => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0
}

describe('registerRoleCounters: relay reservation policy (issue 11)', () => {
  it('counts refusals by per-source limit (else by HOP status) and freed reservations by reason', async () => {
    const events = new NatkitEvents()
    const off = registerRoleCounters(events)
    const before = {
      perIp: await value('natkit_relay_reservation_refusals_total', { reason: 'per-ip' }),
      status: await value('natkit_relay_reservation_refusals_total', { reason: 'RESERVATION_REFUSED' }),
      removed: await value('natkit_relay_reservations_removed_total', { reason: 'disconnected' })
    }
    events.emit('relay:reservation:refused', { peer: 'P', reason: 'PERMISSION_DENIED: 8 reservations held from 127.1.0.1 (per-IP limit 8)', limit: 'per-ip' })
    events.emit('relay:reservation:refused', { peer: 'Q', reason: 'RESERVATION_REFUSED' })
    events.emit('relay:reservation:removed', { peer: 'P', reason: 'disconnected' })
    off()
    expect(await value('natkit_relay_reservation_refusals_total', { reason: 'per-ip' })).toBe(before.perIp + 1)
    expect(await value('natkit_relay_reservation_refusals_total', { reason: 'RESERVATION_REFUSED' })).toBe(before.status + 1)
    expect(await value('natkit_relay_reservations_removed_total', { reason: 'disconnected' })).toBe(before.removed + 1)
  })
})
