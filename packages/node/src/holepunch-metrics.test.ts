import client from 'prom-client'
import { describe, expect, it } from 'vitest'
import { GO_HOLEPUNCH_METRICS, registerGoHolePunchMetrics } from './holepunch-metrics.js'

async function value (name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = client.register.getSingleMetric(name)
  const data = await metric?.get()
  const want = Object.entries(labels)
  return data?.values.find(v => want.every(([k, x]) => String((v.labels as Record<string, unknown>)[k]) === x) && Object.keys(v.labels).length === want.length)?.value
}

describe('go-libp2p compatible hole punch metrics', () => {
  it('are pre-initialised and count the service\'s outcome and direct-dial events', async () => {
    const hp = new EventTarget()
    const off = registerGoHolePunchMetrics(hp)
    try {
      const success = { side: 'initiator', num_attempts: '1', outcome: 'success' }
      const before = await value(GO_HOLEPUNCH_METRICS.outcomes, success)
      expect(before).toBe(0)
      const addrBefore = await value(GO_HOLEPUNCH_METRICS.addressOutcomes, { ...success, ipv: 'ip4', transport: 'tcp' }) ?? 0
      hp.dispatchEvent(new CustomEvent('holepunch:outcome', {
        detail: { remotePeer: 'p', role: 'initiator', attempt: 1, remoteAddrs: ['/ip4/11.0.1.1/tcp/4100'], ownAddrs: ['/ip4/11.0.2.1/tcp/4100'], directAddr: '/ip4/11.0.1.1/tcp/4100' }
      }))
      hp.dispatchEvent(new CustomEvent('holepunch:outcome', {
        detail: { remotePeer: 'p', role: 'responder', attempt: 2, remoteAddrs: ['/ip4/11.0.1.1/tcp/4100'], ownAddrs: ['/ip4/11.0.2.1/tcp/4100'] }
      }))
      hp.dispatchEvent(new CustomEvent('holepunch:direct-dial', { detail: { remotePeer: 'p', success: false } }))
      expect(await value(GO_HOLEPUNCH_METRICS.outcomes, success)).toBe(1)
      expect(await value(GO_HOLEPUNCH_METRICS.addressOutcomes, { ...success, ipv: 'ip4', transport: 'tcp' })).toBe(addrBefore + 1)
      expect(await value(GO_HOLEPUNCH_METRICS.outcomes, { side: 'receiver', num_attempts: '2', outcome: 'failed' })).toBe(1)
      expect(await value(GO_HOLEPUNCH_METRICS.directDials, { outcome: 'failed' })).toBe(1)
      const text = await client.register.metrics()
      expect(text).toContain('libp2p_holepunch_outcomes_total{side="initiator",num_attempts="1",outcome="success"} 1')
    } finally {
      off()
    }
    // detached: further events are not counted
    hp.dispatchEvent(new CustomEvent('holepunch:direct-dial', { detail: { remotePeer: 'p', success: false } }))
    expect(await value(GO_HOLEPUNCH_METRICS.directDials, { outcome: 'failed' })).toBe(1)
  })
})
