import { tcpConnect, tcpServer } from './probe.js'
import { DEFAULT_INBOUND_MODE } from './topology.js'
import type { Lab } from './netns.js'

/** TCP port the self-check server listens on. */
export const SELF_CHECK_PORT = 7000
/** Port probed on each router's WAN address to check unsolicited inbound is blocked. */
export const SELF_CHECK_UNSOLICITED_PORT = 7001
/** Connect timeout used by the self-check. */
export const SELF_CHECK_TIMEOUT_MS = 1_500

export interface SelfCheckResult {
  check: string
  ok: boolean
  detail: string
}

export class SelfCheckFailedError extends Error {
  override name = 'SelfCheckFailedError'
}

/**
 * Connectivity self-check with plain TCP (no libp2p): every host reaches a
 * server on the first internet host, appearing as its router's WAN address
 * when NATed; unsolicited inbound connections to each router's WAN fail the
 * way the router's inbound mode says: no answer (`drop`) or a TCP reset
 * (`reset`, `reject`).
 */
export async function selfCheck (lab: Lab): Promise<SelfCheckResult[]> {
  const t = lab.topology
  const server = t.hosts.find(h => h.segment === 'internet')
  if (server == null) throw new SelfCheckFailedError('topology has no host on the internet segment')
  const results: SelfCheckResult[] = []
  const srv = await tcpServer(lab, server.name, SELF_CHECK_PORT)
  try {
    for (const h of t.hosts.filter(h => h !== server)) {
      const router = t.routers.find(r => r.name === h.segment)
      const expectIp = router?.wanIp ?? h.ip
      const r = await tcpConnect(lab, h.name, server.ip, SELF_CHECK_PORT, { timeoutMs: SELF_CHECK_TIMEOUT_MS })
      const ok = r.seen?.ip === expectIp
      results.push({ check: `${h.name} -> ${server.name} ${server.ip}:${SELF_CHECK_PORT}`, ok, detail: r.seen != null ? `seen as ${r.seen.ip}:${r.seen.port} (expected ${expectIp})` : `failed: ${r.error ?? 'no reply'}` })
    }
  } finally {
    await srv.stop()
  }
  for (const r of t.routers) {
    const c = await tcpConnect(lab, server.name, r.wanIp, SELF_CHECK_UNSOLICITED_PORT, { timeoutMs: SELF_CHECK_TIMEOUT_MS })
    const mode = r.inbound ?? DEFAULT_INBOUND_MODE
    const expected = mode === 'drop' ? 'TIMEOUT' : 'ECONNREFUSED'
    results.push({
      check: `unsolicited ${server.name} -> ${r.name} ${r.wanIp}:${SELF_CHECK_UNSOLICITED_PORT} (inbound ${mode})`,
      ok: !c.connected && c.error === expected,
      detail: c.connected ? 'connected (NAT lets unsolicited traffic in!)' : `blocked (${c.error ?? 'no connection'}; inbound ${mode} expects ${expected === 'TIMEOUT' ? 'no answer' : 'a TCP reset'})`
    })
  }
  return results
}
