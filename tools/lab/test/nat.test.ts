import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultTopology, Lab, tcpConnect, tcpServer, udpAgent, udpSend, udpServer } from '../src/index.js'
import { labSkipReason, parseEcho, roundTrip } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { Probe } from '../src/index.js'

const RELAY = '11.0.0.10'
const BOOTSTRAP = '11.0.0.11'
const WAN_A = '11.0.1.1'
const WAN_B = '11.0.2.1'
const UDP_PORT = 4000
const TCP_PORT = 4001
/** The bootstrap host's echo server uses another port, so port 4000 there is free to impersonate the relay's port. */
const BOOTSTRAP_UDP_PORT = 4100

// peer-a is behind a port-restricted NAT, peer-b behind a symmetric NAT.
describe.skipIf(missingPrerequisite(labSkipReason))('NAT profiles (port-restricted vs symmetric)', () => {
  let lab: Lab
  const servers: Probe[] = []

  beforeAll(async () => {
    lab = await Lab.create(defaultTopology('port-restricted', 'symmetric'))
    servers.push(await udpServer(lab, 'relay', UDP_PORT), await udpServer(lab, 'bootstrap', BOOTSTRAP_UDP_PORT), await tcpServer(lab, 'relay', TCP_PORT))
  })

  afterAll(async () => {
    await lab?.destroy()
  })

  describe('port-restricted', () => {
    it('TCP: the server sees the router WAN address and the client\'s own source port', async () => {
      const r = await tcpConnect(lab, 'peer-a', RELAY, TCP_PORT, { localPort: 40001 })
      expect(r.error).toBeUndefined()
      expect(r.seen).toEqual({ ip: WAN_A, port: 40001 })
    })

    it('UDP: one mapping, port preserved, reused for two destinations (endpoint-independent mapping)', async () => {
      const agent = await udpAgent(lab, 'peer-a', 40002)
      try {
        expect(await roundTrip(agent, RELAY, 'one')).toEqual({ ip: WAN_A, port: 40002 })
        expect(await roundTrip(agent, BOOTSTRAP, 'two')).toEqual({ ip: WAN_A, port: 40002 })
      } finally {
        await agent.stop()
      }
    })

    it('unsolicited inbound TCP to the router WAN never reaches the LAN host', async () => {
      const srv = await tcpServer(lab, 'peer-a', 5000)
      try {
        const viaWan = await tcpConnect(lab, 'relay', WAN_A, 5000, { timeoutMs: 1_000 })
        expect(viaWan.connected).toBe(false)
        // the private address is not routable from the internet at all
        const direct = await tcpConnect(lab, 'relay', '192.168.1.10', 5000, { timeoutMs: 1_000 })
        expect(direct.connected).toBe(false)
        expect(srv.records.filter(r => r.probe === 'accepted')).toEqual([])
      } finally {
        await srv.stop()
      }
    })

    it('UDP: replies from the contacted endpoint pass; other addresses and other ports are dropped', async () => {
      const agent = await udpAgent(lab, 'peer-a', 40003)
      try {
        await roundTrip(agent, RELAY, 'open')
        // same mapped port, different remote address
        await udpSend(lab, 'bootstrap', WAN_A, 40003, 'intruder-address', UDP_PORT)
        // same remote address, different remote port
        await udpSend(lab, 'relay', WAN_A, 40003, 'intruder-port', 4006)
        // a later reply on the open flow arrives: the intruders were sent before it
        await roundTrip(agent, RELAY, 'close')
        const received = agent.records.filter(r => r.probe === 'datagram')
        expect(received.map(r => `${String(r.ip)}:${String(r.port)} ${parseEcho(r.msg)?.msg ?? String(r.msg)}`)).toEqual([
          `${RELAY}:${UDP_PORT} open`,
          `${RELAY}:${UDP_PORT} close`
        ])
      } finally {
        await agent.stop()
      }
    })
  })

  describe('symmetric', () => {
    it('the same LAN socket gets a different mapped port per destination', async () => {
      const agent = await udpAgent(lab, 'peer-b', 40010)
      try {
        const toRelay = await roundTrip(agent, RELAY, 'one')
        const toBootstrap = await roundTrip(agent, BOOTSTRAP, 'two')
        expect(toRelay.ip).toBe(WAN_B)
        expect(toBootstrap.ip).toBe(WAN_B)
        expect(toRelay.port).not.toBe(toBootstrap.port)
        // the mapping for one destination is stable while the flow lives
        expect(await roundTrip(agent, RELAY, 'three')).toEqual(toRelay)
      } finally {
        await agent.stop()
      }
    })

    it('filters unsolicited traffic to a mapped port', async () => {
      const agent = await udpAgent(lab, 'peer-b', 40011)
      try {
        const mapped = await roundTrip(agent, RELAY, 'open')
        await udpSend(lab, 'bootstrap', WAN_B, mapped.port, 'intruder', UDP_PORT)
        await roundTrip(agent, RELAY, 'close')
        expect(agent.records.filter(r => r.probe === 'datagram').map(r => parseEcho(r.msg)?.msg ?? r.msg)).toEqual(['open', 'close'])
      } finally {
        await agent.stop()
      }
    })
  })
})
