import { limitsNotReaching, resolveOptions } from '@natkit/config'
import { NatkitEvents } from '@natkit/events'
import { BOOTSTRAP_ROLE } from './options.js'
import { afterEach, describe, expect, it } from 'vitest'
import { composeInit, createBootstrap } from './node.js'
import type { NatkitRunner } from '@natkit/node'

const running: NatkitRunner[] = []
afterEach(async () => { await Promise.all(running.splice(0).map(async r => { await r.stop() })) })

async function start (flags: Record<string, unknown> = {}): Promise<Awaited<ReturnType<typeof createBootstrap>>> {
  const r = await createBootstrap(resolveOptions(BOOTSTRAP_ROLE, { flags: { listen: ['/ip4/127.0.0.1/tcp/0'], seed: 'node-bootstrap', ...flags } }), new NatkitEvents())
  running.push(r)
  await r.start()
  return r
}

describe('bootstrap composition', () => {
  it('a DHT server on the natkit protocol, identify, ping', async () => {
    const { node } = await start()
    expect(node.getProtocols()).toEqual(expect.arrayContaining(['/natkit/kad/1.0.0', '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0']))
    expect(node.services.dht.getMode()).toBe('server')
    expect((node.services as Record<string, unknown>).relay).toBeUndefined()
  })
})

describe('composeInit: every bootstrap limit reaches the component that uses it', () => {
  /** option key → where its value must arrive in `composeInit`'s result */
  const PATHS: Record<string, string[]> = {
    maxConnections: ['connectionManager.maxConnections'],
    dialTimeout: ['connectionManager.dialTimeout'],
    maxPendingInbound: ['connectionManager.maxIncomingPendingConnections'],
    maxPendingInboundPerIp: ['inboundAdmission.maxPendingPerIp'],
    handshakeTimeout: ['connectionManager.inboundUpgradeTimeout', 'inboundAdmission.handshakeTimeout'],
    kBucketSize: ['dht.kBucketSize']
  }

  it('a non-default value of each limit arrives unchanged', () => {
    expect(limitsNotReaching({ role: BOOTSTRAP_ROLE, paths: PATHS, compose: composeInit })).toEqual([])
  })
})
