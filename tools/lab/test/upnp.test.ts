import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultTopology, Lab, REPO_ROOT, tcpConnect, tcpServer } from '../src/index.js'
import { upnpSkipReason } from './env.js'
import { missingPrerequisite } from '@natkit/testkit/vitest'
import type { Probe } from '../src/index.js'

const MAPPER = join(REPO_ROOT, 'node_modules/@achingbrain/nat-port-mapper/package.json')
const skipReason = upnpSkipReason ?? (existsSync(MAPPER) ? undefined : '@achingbrain/nat-port-mapper (from @natkit/upnp) is not installed')

/** The UPnP client natkit-peer uses (@natkit/upnp, as js-libp2p's @libp2p/upnp-nat), run on the LAN host. */
const MAP_SCRIPT = `
import { upnpNat } from '@achingbrain/nat-port-mapper'
const out = o => process.stdout.write(JSON.stringify(o) + '\\n')
const client = upnpNat({ autoRefresh: false })
for await (const gw of client.findGateways({ signal: AbortSignal.timeout(8000) })) {
  if (gw.family !== 'IPv4') continue
  const externalIp = await gw.externalIp({ signal: AbortSignal.timeout(5000) })
  const m = await gw.map(5000, '192.168.1.10', { protocol: 'tcp', externalPort: 5000, signal: AbortSignal.timeout(5000) })
  out({ probe: 'mapped', externalIp, externalHost: m.externalHost, externalPort: m.externalPort })
  process.exit(0)
}
process.exit(1)
`

describe.skipIf(missingPrerequisite(skipReason))('upnp profile (miniupnpd, IGDv2)', () => {
  let lab: Lab
  let srv: Probe

  beforeAll(async () => {
    lab = await Lab.create(defaultTopology('upnp', 'none'))
    srv = await tcpServer(lab, 'peer-a', 5000)
  })

  afterAll(async () => {
    await lab?.destroy()
  })

  it('blocks inbound until a client maps a port, then forwards it to the LAN host', async () => {
    expect((await tcpConnect(lab, 'relay', '11.0.1.1', 5000, { timeoutMs: 1_000 })).connected).toBe(false)

    const r = await lab.run('peer-a', process.execPath, ['--input-type=module', '-e', MAP_SCRIPT], { timeoutMs: 20_000, cwd: REPO_ROOT })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1) as string)).toMatchObject({ probe: 'mapped', externalIp: '11.0.1.1', externalPort: 5000 })
    expect(lab.upnpDaemon('router-a')?.log()).toContain('InternetGatewayDevice:2')

    const after = await tcpConnect(lab, 'relay', '11.0.1.1', 5000)
    expect(after.seen?.ip).toBe('11.0.0.10')
    expect(srv.records.filter(p => p.probe === 'accepted').map(p => p.ip)).toEqual(['11.0.0.10'])
  })
})
