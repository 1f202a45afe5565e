import { existsSync } from 'node:fs'
import { expect } from 'vitest'
import { commandWorks as works, sandboxUnavailableReason } from '@natkit/testkit'
import { DEFAULT_MINIUPNPD_PATH, listLeftovers } from '../src/index.js'
import type { Probe, TrialResult } from '../src/index.js'

export { works }

/**
 * Why lab tests cannot run here, or undefined when they can. Test files pass
 * it to `missingPrerequisite` (@natkit/testkit/vitest): a skip outside CI, a
 * failing test under CI=true. The lab needs what the no-egress sandbox needs
 * (Linux, root, iproute2, nftables).
 */
const unavailable = sandboxUnavailableReason()
export const labSkipReason: string | undefined = unavailable == null ? undefined : `NAT lab tests ${unavailable}`

export const upnpSkipReason: string | undefined = labSkipReason ?? (existsSync(DEFAULT_MINIUPNPD_PATH) ? undefined : 'UPnP lab test needs miniupnpd (apt-get install -y miniupnpd-nftables)')

/** Parses `echo <msg> <ip> <port>` replies of the UDP echo server probe. */
export function parseEcho (msg: unknown): { msg: string, ip: string, port: number } | undefined {
  const m = typeof msg === 'string' ? /^echo (\S+) (\S+) (\d+)$/.exec(msg) : null
  return m != null ? { msg: m[1] as string, ip: m[2] as string, port: Number(m[3]) } : undefined
}

/** Default topology: the bootstrap host's echo server uses another port than the relay's, so port 4000 there is free to send from. */
export const ECHO_UDP_PORT = 4000
export const BOOTSTRAP_IP = '11.0.0.11'
export const BOOTSTRAP_ECHO_UDP_PORT = 4100

/** Sends `msg` from the agent to the echo server on `ip` and waits for the echo; returns the mapped source the server saw. */
export async function roundTrip (agent: Probe, ip: string, msg: string): Promise<{ ip: string, port: number }> {
  const port = ip === BOOTSTRAP_IP ? BOOTSTRAP_ECHO_UDP_PORT : ECHO_UDP_PORT
  agent.send(`send ${ip} ${port} ${msg}`)
  const rec = await agent.waitFor(r => r.probe === 'datagram' && r.ip === ip && r.port === port && parseEcho(r.msg)?.msg === msg)
  const echo = parseEcho(rec.msg)
  if (echo == null) throw new Error(`bad echo ${String(rec.msg)}`)
  return { ip: echo.ip, port: echo.port }
}

/** This trial's namespaces, veths and nft tables are gone (other labs may run concurrently). */
export async function expectNothingLeft (r: TrialResult): Promise<void> {
  expect(r.prefix).toMatch(/^nk[0-9a-f]{4}-$/)
  const left = await listLeftovers(r.prefix)
  expect(left.namespaces).toEqual([])
  expect(left.links).toEqual([])
  expect(left.tables).toEqual([])
}
