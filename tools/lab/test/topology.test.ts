import { describe, expect, it } from 'vitest'
import { DEFAULT_INTERNET_CIDR, defaultTopology, InvalidTopologyError, miniupnpdConfig, routerRuleset, validateTopology } from '../src/index.js'
import type { Topology } from '../src/index.js'

const PRIVATE = [/^10\./, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./, /^172\.(1[6-9]|2\d|3[01])\./, /^192\.168\./, /^198\.1[89]\./, /^192\.0\.2\./, /^198\.51\.100\./, /^203\.0\.113\./]

describe('defaultTopology', () => {
  it('puts relay, bootstrap and autonat on a non-private internet and peers behind their routers', () => {
    const t = defaultTopology('port-restricted', 'symmetric')
    expect(t.internetCidr).toBe(DEFAULT_INTERNET_CIDR)
    const internet = t.hosts.filter(h => h.segment === 'internet')
    expect(internet.map(h => [h.name, h.ip])).toEqual([['relay', '11.0.0.10'], ['bootstrap', '11.0.0.11'], ['autonat', '11.0.0.12']])
    for (const ip of [...internet.map(h => h.ip), ...t.routers.map(r => r.wanIp)]) {
      expect(PRIVATE.some(re => re.test(ip))).toBe(false)
    }
    expect(t.routers).toEqual([
      { name: 'router-a', profile: 'port-restricted', wanIp: '11.0.1.1', lanCidr: '192.168.1.0/24', lanIp: '192.168.1.1' },
      { name: 'router-b', profile: 'symmetric', wanIp: '11.0.2.1', lanCidr: '192.168.2.0/24', lanIp: '192.168.2.1' }
    ])
    expect(t.hosts.find(h => h.name === 'peer-b')).toEqual({ name: 'peer-b', segment: 'router-b', ip: '192.168.2.10', role: 'peer' })
    expect(() => { validateTopology(t) }).not.toThrow()
  })

  it('puts a peer with profile none directly on the internet', () => {
    const t = defaultTopology('none', 'upnp')
    expect(t.routers.map(r => r.name)).toEqual(['router-b'])
    expect(t.hosts.find(h => h.name === 'peer-a')).toMatchObject({ segment: 'internet', ip: '11.0.1.10' })
  })
})

describe('validateTopology', () => {
  const base = (): Topology => defaultTopology('port-restricted', 'port-restricted')

  it('rejects duplicate addresses, bad names, unknown segments and out-of-range addresses', () => {
    const dup = base()
    dup.hosts.push({ name: 'other', segment: 'internet', ip: '11.0.0.10' })
    expect(() => { validateTopology(dup) }).toThrow(InvalidTopologyError)
    const badName = base()
    badName.hosts.push({ name: 'Has Space', segment: 'internet', ip: '11.0.0.40' })
    expect(() => { validateTopology(badName) }).toThrow(/invalid name/)
    const segment = base()
    segment.hosts.push({ name: 'lost', segment: 'router-z', ip: '192.168.9.2' })
    expect(() => { validateTopology(segment) }).toThrow(/unknown segment/)
    const outside = base()
    outside.hosts.push({ name: 'stray', segment: 'router-a', ip: '192.168.2.50' })
    expect(() => { validateTopology(outside) }).toThrow(/outside 192\.168\.1\.0\/24/)
  })
})

describe('router rulesets', () => {
  const router = (profile: 'port-restricted' | 'symmetric' | 'upnp'): Parameters<typeof routerRuleset>[0] => ({ name: 'r', profile, wanIp: '11.0.1.1', lanCidr: '192.168.1.0/24', lanIp: '192.168.1.1' })

  it('port-restricted masquerades on wan without randomisation and drops unsolicited forwards', () => {
    const rules = routerRuleset(router('port-restricted'), 'nk0000')
    expect(rules).toMatch(/oifname "wan" masquerade\n/)
    expect(rules).toContain('policy drop;')
    expect(rules).not.toContain('miniupnpd')
    expect(rules).not.toMatch(/chain fwd\b/)
  })

  it('symmetric uses fully-random port mapping', () => {
    expect(routerRuleset(router('symmetric'), 'nk0000')).toContain('oifname "wan" masquerade fully-random')
  })

  it('upnp jumps into the chains miniupnpd is configured to fill', () => {
    const rules = routerRuleset(router('upnp'), 'nk0000')
    const conf = miniupnpdConfig(router('upnp'), 'nk0000')
    for (const chain of ['miniupnpd', 'prerouting_miniupnpd', 'postrouting_miniupnpd']) {
      expect(rules).toContain(`jump ${chain}`)
      expect(conf).toContain(`=${chain}`)
    }
    expect(conf).toContain('upnp_table_name=nk0000')
    expect(conf).toContain('ext_ifname=wan')
    expect(conf).toContain('force_igd_desc_v1=no')
    expect(conf).toContain('allow 1024-65535 192.168.1.0/24 1024-65535')
  })
})
