import { limitsNotReaching, resolveOptions } from '@natkit/config'
import { NatkitEvents } from '@natkit/events'
import { AUTONAT_ROLE } from './options.js'
import { afterEach, describe, expect, it } from 'vitest'
import { composeInit, createAutonat } from './node.js'
import type { NatkitRunner } from '@natkit/node'

const running: NatkitRunner[] = []
afterEach(async () => { await Promise.all(running.splice(0).map(async r => { await r.stop() })) })

async function start (flags: Record<string, unknown> = {}): Promise<Awaited<ReturnType<typeof createAutonat>>> {
  const r = await createAutonat(resolveOptions(AUTONAT_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], seed: 'node-autonat', ...flags } }), new NatkitEvents())
  running.push(r)
  await r.start()
  return r
}

describe('autonat composition', () => {
  it('an AutoNAT v2 server without DHT or relay; check swaps it for the reachability checker', async () => {
    const { node } = await start()
    expect(node.getProtocols()).toContain('/libp2p/autonat/2/dial-request')
    expect((node.services as Record<string, unknown>).dht).toBeUndefined()
    expect(node.services.reachability).toBeUndefined()
    const check = await createAutonat(resolveOptions(AUTONAT_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], seed: 'node-autonat-check' } }), new NatkitEvents(), { check: true })
    running.push(check)
    await check.start()
    expect(check.node.getProtocols()).not.toContain('/libp2p/autonat/2/dial-request')
    expect(check.node.services.reachability).toBeDefined()
  })
})

describe('composeInit: every autonat limit reaches the component that uses it', () => {
  /** option key → where its value must arrive in `composeInit`'s result */
  const PATHS: Record<string, string[]> = {
    maxConnections: ['connectionManager.maxConnections'],
    dialTimeout: ['connectionManager.dialTimeout'],
    maxPendingInbound: ['connectionManager.maxIncomingPendingConnections'],
    maxPendingInboundPerIp: ['inboundAdmission.maxPendingPerIp'],
    handshakeTimeout: ['connectionManager.inboundUpgradeTimeout', 'inboundAdmission.handshakeTimeout']
  }
  /** Limits that are not handed to libp2p: the app uses them directly. */
  // mappingLifetimeMax: test/nat.test.ts proves it reaches the lifetime probe (--mapping-lifetime-max 600ms → lifetime.minMs 600)
  const NOT_LIBP2P = new Set(['timeout', 'mappingLifetimeMax'])

  it('a non-default value of each limit arrives unchanged', () => {
    expect(limitsNotReaching({ role: AUTONAT_ROLE, paths: PATHS, compose: composeInit, exclude: NOT_LIBP2P })).toEqual([])
  })
})
