import { randomUUID } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UPNP_FORWARD_CHAIN, UPNP_POSTROUTING_CHAIN, UPNP_PREROUTING_CHAIN } from './nft.js'
import type { Lab } from './netns.js'
import type { Router } from './topology.js'

/** Debian's nftables build of miniupnpd (`apt-get install -y miniupnpd-nftables`). */
export const DEFAULT_MINIUPNPD_PATH = '/usr/sbin/miniupnpd'
/** How long miniupnpd may take to report its HTTP port. */
export const DEFAULT_UPNP_START_TIMEOUT_MS = 5_000
/** Characters of miniupnpd output kept for diagnostics. */
export const DEFAULT_UPNP_LOG_CHARS = 16 * 1024

export class UpnpUnavailableError extends Error {
  override name = 'UpnpUnavailableError'
}

export interface UpnpDaemon {
  router: string
  /** HTTP (SOAP) port miniupnpd listens on, on the router's LAN address. */
  httpPort: number
  /** Recent miniupnpd output. */
  log: () => string
  kill: () => void
  /** Removes the temporary config directory. */
  cleanup: () => Promise<void>
  /** Synchronous {@link UpnpDaemon.cleanup} for exit handlers. */
  cleanupSync: () => void
}

export interface MiniupnpdOptions {
  log?: (line: string) => void
  /** @default DEFAULT_MINIUPNPD_PATH */
  binary?: string
  /** @default DEFAULT_UPNP_START_TIMEOUT_MS */
  startTimeoutMs?: number
}

/**
 * miniupnpd configuration for one router: UPnP IGDv2 (the default;
 * `force_igd_desc_v1=no`, which @achingbrain/nat-port-mapper — the client of
 * @natkit/upnp and @libp2p/upnp-nat — needs) and NAT-PMP, listening
 * on the LAN bridge, external interface `wan`, mappings allowed only for the
 * LAN range and only to the requesting host (secure mode). Its rules go into
 * the lab's own `inet` table, in the chains {@link routerRuleset} jumps to.
 */
export function miniupnpdConfig (router: Router, table: string): string {
  return [
    'ext_ifname=wan',
    'listening_ip=lan',
    'port=0',
    'enable_upnp=yes',
    'enable_natpmp=yes',
    'force_igd_desc_v1=no',
    'secure_mode=yes',
    'system_uptime=yes',
    'notify_interval=30',
    'clean_ruleset_interval=600',
    `uuid=${randomUUID()}`,
    'friendly_name=natkit lab router',
    `upnp_table_name=${table}`,
    `upnp_nat_table_name=${table}`,
    `upnp_forward_chain=${UPNP_FORWARD_CHAIN}`,
    `upnp_nat_chain=${UPNP_PREROUTING_CHAIN}`,
    `upnp_nat_postrouting_chain=${UPNP_POSTROUTING_CHAIN}`,
    `allow 1024-65535 ${router.lanCidr} 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    ''
  ].join('\n')
}

/** Starts miniupnpd inside the router's namespace and waits until it serves HTTP. */
export async function startMiniupnpd (lab: Lab, router: Router, opts: MiniupnpdOptions = {}): Promise<UpnpDaemon> {
  const binary = opts.binary ?? DEFAULT_MINIUPNPD_PATH
  if (!existsSync(binary)) throw new UpnpUnavailableError(`NAT profile "upnp" needs miniupnpd with the nftables backend: apt-get install -y miniupnpd-nftables (${binary} not found)`)
  const dir = await mkdtemp(join(tmpdir(), `natkit-lab-${lab.prefix}`))
  const conf = join(dir, `${router.name}.conf`)
  await writeFile(conf, miniupnpdConfig(router, lab.tableName))
  let output = ''
  const child = lab.exec(router.name, binary, ['-d', '-f', conf, '-P', join(dir, `${router.name}.pid`)], { stdio: ['ignore', 'pipe', 'pipe'] })
  const append = (d: Buffer): void => {
    output = (output + d.toString()).slice(-DEFAULT_UPNP_LOG_CHARS)
  }
  const cleanup = async (): Promise<void> => { await rm(dir, { recursive: true, force: true }) }
  const timeoutMs = opts.startTimeoutMs ?? DEFAULT_UPNP_START_TIMEOUT_MS
  try {
    const httpPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new UpnpUnavailableError(`miniupnpd on ${router.name} did not start within ${timeoutMs} ms: ${output.trim().slice(-500)}`)) }, timeoutMs)
      const onData = (d: Buffer): void => {
        append(d)
        const m = /HTTP listening on port (\d+)/.exec(output)
        if (m != null) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new UpnpUnavailableError(`miniupnpd on ${router.name} exited with ${code}: ${output.trim().slice(-500)}`))
      })
      child.once('error', (err) => {
        clearTimeout(timer)
        reject(new UpnpUnavailableError(`miniupnpd on ${router.name} could not start: ${err.message}`))
      })
    })
    opts.log?.(`lab ${lab.prefix}: miniupnpd on ${router.name} (IGDv2 + NAT-PMP) http port ${httpPort}`)
    return {
      router: router.name,
      httpPort,
      log: () => output,
      kill: () => { child.kill('SIGKILL') },
      cleanup,
      cleanupSync: () => { rmSync(dir, { recursive: true, force: true }) }
    }
  } catch (err) {
    child.kill('SIGKILL')
    await cleanup()
    throw err
  }
}
